/**
 * The newest log bytes, kept in memory as they are written, so readers at the tail (consumers keeping up,
 * replicas following their upstream) are served without a file read: no thread-pool round trip, no syscall,
 * no second checksum pass over bytes that never left this process.
 *
 * One ring buffer, allocated once: log position p lives at ring[p % capacity]. It holds the contiguous log
 * range [start, end); bytes that do not continue it (the next segment's base, a log cut back and rewritten)
 * start it over. Reads return copies, so the ring can be overwritten at any time after they return, and
 * nothing outside this class ever holds a view of it. A fixed buffer keeps the garbage collector and the
 * page-fault handler out of the write path (a first version allocated blocks and lost more than it saved).
 */
export class LogTailCache {
  private ring: Buffer | undefined;
  private start = 0;
  private end = 0;

  /** @param capacityBytes most bytes held; 0 turns the cache off. */
  constructor(private readonly capacityBytes: number) {}

  /** Keeps a copy of `bytes`, which lie at log position `position`. */
  add(position: number, bytes: Buffer): void {
    const capacity = this.capacityBytes;
    if (capacity === 0 || bytes.length === 0) return;
    this.ring ??= Buffer.allocUnsafeSlow(capacity);
    if (position !== this.end) this.start = this.end = position;
    let from = 0;
    if (bytes.length > capacity) from = bytes.length - capacity;
    let at = position + from;
    while (from < bytes.length) {
      const offset = at % capacity;
      const n = Math.min(bytes.length - from, capacity - offset);
      bytes.copy(this.ring, offset, from, from + n);
      from += n;
      at += n;
    }
    this.end = position + bytes.length;
    if (this.end - this.start > capacity) this.start = this.end - capacity;
  }

  /** A copy of [position, position + length), or undefined unless all of it is held. */
  slice(position: number, length: number): Buffer | undefined {
    if (!this.has(position, length)) return undefined;
    const out = Buffer.allocUnsafe(length);
    this.copyTo(position, length, out, 0);
    return out;
  }

  /** Copies [position, position + length) into `target` at `at` and returns true, or returns false unless all of it is held. */
  copyTo(position: number, length: number, target: Buffer, at: number): boolean {
    if (!this.has(position, length)) return false;
    const capacity = this.capacityBytes;
    let done = 0;
    while (done < length) {
      const offset = (position + done) % capacity;
      const n = Math.min(length - done, capacity - offset);
      this.ring!.copy(target, at + done, offset, offset + n);
      done += n;
    }
    return true;
  }

  /** True when all of [position, position + length) is held. */
  has(position: number, length: number): boolean {
    return this.ring !== undefined && position >= this.start && position + length <= this.end;
  }

  /** Forgets everything (the log was cut back). */
  clear(): void {
    this.start = this.end = 0;
  }
}
