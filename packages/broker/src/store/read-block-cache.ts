/** Reads this far apart from the log tail go through blocks of this size, aligned to log positions. */
export const READ_BLOCK_BYTES = 1024 * 1024;

/**
 * Reads the log file: `length` bytes at `position` into the start of `into`, fewer only at the end of the
 * file's data; resolves to the part of `into` filled.
 */
export type BlockLoader = (position: number, length: number, into: Buffer) => Promise<Buffer>;

/** Evicted block buffers kept for the next loads. */
const MAX_SPARE_BLOCKS = 4;

/**
 * Recently read blocks of the commit log, shared by every reader of the store.
 *
 * Why: the producer spreads a topic's messages over its queues message by message, so one queue's records lie
 * a few KiB apart in the log, and a consumer of each queue reads through the same stretch of log. Read span by
 * span, four queues read every byte four times, each time into a fresh multi-MiB buffer for the garbage
 * collector. Through these blocks each stretch is read from the file once, and each record is copied once,
 * straight into the reply.
 *
 * A block holds only bytes that were final when its read started (below `stableEnd`), so bytes written into a
 * preallocated (zero-filled) region later are never shadowed by the zeros read before; a block cut short that
 * way is read again when a record needs more of it. Entries are kept in least-recently-used order. Callers copy
 * out synchronously after the await, so dropping a block never pulls bytes from under a reader.
 *
 * An evicted block's buffer is loaded into again, but only from the next turn of the event loop: a reader
 * handed the block before it was evicted resumes in a microtask of this turn and copies out then. Fresh
 * buffers cost more than the copy (a new MiB of memory is faulted in page by page, and each dropped one is
 * garbage), and a backlog read goes through a MiB a millisecond.
 */
export class ReadBlockCache {
  private readonly blocks = new Map<number, Buffer>();
  private readonly spare: Buffer[] = [];
  private readonly loading = new Map<number, Promise<Buffer>>();
  private readonly maxBlocks: number;
  /** Bumped by clear(): a load started before the log was cut back must not land in the cache. */
  private generation = 0;

  /** @param capacityBytes memory for blocks; less than one block turns the cache off. */
  constructor(
    capacityBytes: number,
    private readonly load: BlockLoader,
    private readonly blockBytes = READ_BLOCK_BYTES,
  ) {
    this.maxBlocks = Math.floor(capacityBytes / blockBytes);
  }

  get enabled(): boolean {
    return this.maxBlocks > 0;
  }

  /**
   * The block holding log position `position`, loaded if needed, and where `position` lies in it: the caller
   * may copy `[at, min(at + want, block.length))`. `segmentBase`/`segmentEnd` bound the segment the position is
   * in (a block never spans two files); `stableEnd` is where the log's final bytes end now.
   */
  async blockAt(position: number, want: number, segmentBase: number, segmentEnd: number, stableEnd: number): Promise<{ block: Buffer; at: number }> {
    const start = this.blockStart(position, segmentBase);
    const at = position - start;
    const cached = this.blocks.get(start);
    if (cached && cached.length >= Math.min(at + want, this.blockBytes)) {
      this.blocks.delete(start);
      this.blocks.set(start, cached);
      return { block: cached, at };
    }
    let pending = this.loading.get(start);
    if (!pending) {
      const length = Math.max(0, Math.min(this.blockBytes, segmentEnd - start, stableEnd - start));
      const generation = this.generation;
      pending = this.load(start, length, this.spare.pop() ?? Buffer.allocUnsafeSlow(this.blockBytes)).then((block) => {
        if (generation === this.generation) this.keep(start, block);
        return block;
      });
      const forget = (): void => {
        if (this.loading.get(start) === pending) this.loading.delete(start);
      };
      pending.then(forget, forget);
      this.loading.set(start, pending);
    }
    const block = await pending;
    return { block, at };
  }

  /**
   * Copies [position, position + length) into `target` at `at` when one block in memory holds all of it, and
   * returns true; false otherwise (nothing copied; blockAt loads). Readers copy record by record, and nearly
   * every record lies in a block already held: this spares each one a promise and a turn of the microtask queue.
   */
  copyOut(position: number, length: number, segmentBase: number, target: Buffer, at: number): boolean {
    const start = this.blockStart(position, segmentBase);
    const block = this.blocks.get(start);
    const from = position - start;
    if (!block || block.length < from + length) return false;
    this.blocks.delete(start);
    this.blocks.set(start, block);
    block.copy(target, at, from, from + length);
    return true;
  }

  /** Forgets every block (the log was cut back, or recovery rewrote it). */
  clear(): void {
    this.generation++;
    this.blocks.clear();
    this.loading.clear();
  }

  /** Where the block holding `position` starts: blocks are aligned to their segment's base. */
  private blockStart(position: number, segmentBase: number): number {
    return segmentBase + Math.floor((position - segmentBase) / this.blockBytes) * this.blockBytes;
  }

  private keep(start: number, block: Buffer): void {
    const replaced = this.blocks.get(start);
    this.blocks.delete(start);
    this.blocks.set(start, block);
    if (replaced) this.recycle(replaced);
    while (this.blocks.size > this.maxBlocks) {
      const oldest = this.blocks.keys().next().value!;
      this.recycle(this.blocks.get(oldest)!);
      this.blocks.delete(oldest);
    }
  }

  /** Hands the whole buffer under `block` to later loads, once this turn's readers have copied out of it. */
  private recycle(block: Buffer): void {
    // Only a buffer this cache allocated (a loader may answer with one of its own).
    if (block.byteOffset !== 0 || block.buffer.byteLength !== this.blockBytes) return;
    const generation = this.generation;
    setImmediate(() => {
      // After clear() nothing is kept from before it.
      if (generation !== this.generation || this.spare.length >= MAX_SPARE_BLOCKS) return;
      this.spare.push(Buffer.from(block.buffer, 0, this.blockBytes));
    });
  }
}
