/** Reads this far apart from the log tail go through blocks of this size, aligned to log positions. */
export const READ_BLOCK_BYTES = 1024 * 1024;

/** Reads the log file: `length` bytes at `position`, fewer only at the end of the file's data. */
export type BlockLoader = (position: number, length: number) => Promise<Buffer>;

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
 */
export class ReadBlockCache {
  private readonly blocks = new Map<number, Buffer>();
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
    const start = segmentBase + Math.floor((position - segmentBase) / this.blockBytes) * this.blockBytes;
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
      pending = this.load(start, length).then((block) => {
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

  /** Forgets every block (the log was cut back, or recovery rewrote it). */
  clear(): void {
    this.generation++;
    this.blocks.clear();
    this.loading.clear();
  }

  private keep(start: number, block: Buffer): void {
    this.blocks.delete(start);
    this.blocks.set(start, block);
    while (this.blocks.size > this.maxBlocks) this.blocks.delete(this.blocks.keys().next().value!);
  }
}
