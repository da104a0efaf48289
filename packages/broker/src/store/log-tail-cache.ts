/**
 * The newest log bytes, kept in memory as they are written, so readers at the tail (consumers keeping up,
 * replicas following their upstream) are served without a file read: no thread-pool round trip, no syscall,
 * no second checksum pass over bytes that never left this process.
 *
 * Invariants: a block holds contiguous log bytes [start, end) made of whole records, appended in log order.
 * Blocks are reused in turn (a fixed amount of memory, no allocation churn for the garbage collector), so
 * reads return copies: nothing outside this class ever sees a block.
 */
interface Block {
  /** Log position of buf[0]. */
  start: number;
  /** Log position one past the last byte held. */
  end: number;
  buf: Buffer;
}

export class LogTailCache {
  private readonly blocks: Block[] = [];
  private heldBytes = 0;

  /**
   * @param capacityBytes most bytes held; the oldest block goes first. 0 turns the cache off.
   * @param blockBytes size of each block; a run of bytes bigger than this gets a block of its own.
   */
  constructor(
    private readonly capacityBytes: number,
    private readonly blockBytes: number,
  ) {}

  get enabled(): boolean {
    return this.capacityBytes > 0;
  }

  /**
   * Keeps `bytes`, whole records that lie at log position `position`, copying them. Bytes that do not continue
   * the newest block (a new segment, a restart of the log) start a new block.
   */
  add(position: number, bytes: Buffer): void {
    if (this.capacityBytes === 0 || bytes.length === 0) return;
    let block = this.blocks[this.blocks.length - 1];
    if (!block || block.end !== position || block.end - block.start + bytes.length > block.buf.length) {
      block = { start: position, end: position, buf: this.takeBuffer(bytes.length) };
      this.blocks.push(block);
    }
    bytes.copy(block.buf, block.end - block.start);
    block.end += bytes.length;
  }

  /**
   * A copy of the log from `position`: at most `maxLength` bytes, fewer where the block holding `position`
   * ends. Undefined when no block holds `position` (read the file instead).
   */
  read(position: number, maxLength: number): Buffer | undefined {
    const block = this.blockAt(position);
    if (!block) return undefined;
    const from = position - block.start;
    return copyOf(block.buf, from, Math.min(block.end - block.start, from + maxLength));
  }

  /** A copy of exactly [position, position + length) when one block holds all of it. */
  slice(position: number, length: number): Buffer | undefined {
    const block = this.blockAt(position);
    if (!block || position + length > block.end) return undefined;
    const from = position - block.start;
    return copyOf(block.buf, from, from + length);
  }

  /** Forgets everything (the log was cut back, or the store closes). */
  clear(): void {
    this.blocks.length = 0;
    this.heldBytes = 0;
  }


  /** Bytes of log held now (for stats). */
  get cachedBytes(): number {
    let bytes = 0;
    for (const block of this.blocks) bytes += block.end - block.start;
    return bytes;
  }

  private blockAt(position: number): Block | undefined {
    // Readers are almost always at the newest block: search from the end.
    for (let i = this.blocks.length - 1; i >= 0; i--) {
      const block = this.blocks[i]!;
      if (position >= block.end) return undefined;
      if (position >= block.start) return block;
    }
    return undefined;
  }

  /** A buffer for a new block: the oldest block's once the capacity is reached, else a new one. */
  private takeBuffer(minBytes: number): Buffer {
    const size = Math.max(this.blockBytes, minBytes);
    while (this.blocks.length > 0 && this.heldBytes + size > this.capacityBytes) {
      const oldest = this.blocks.shift()!;
      this.heldBytes -= oldest.buf.length;
      if (oldest.buf.length === size) {
        this.heldBytes += size;
        return oldest.buf;
      }
    }
    this.heldBytes += size;
    return Buffer.allocUnsafeSlow(size);
  }
}

function copyOf(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}
