/** Buffers kept per stream beyond the ones in use. */
const MAX_FREE = 2;

/**
 * The buffers one stream (a subscriber's, a replica's) reads its batches into before writing them out, reused
 * once the transport has let go of them: a backlog or a busy chain writes a batch of up to `size` bytes every
 * millisecond or so, and a fresh buffer each time is memory to fault in (on this kind of VM, most of the cost
 * of the read) and garbage to collect. Without `flushed` (a gRPC call, which cannot tell) nothing is reused
 * and the reader allocates as before.
 *
 * A broker may serve thousands of streams, most of them caught up and reading a few records at a time: those
 * must not each hold full-size buffers. The owner takes one only for a backlog, and calls idle() when the
 * stream has caught up, which lets go of every buffer not in the transport.
 */
export class FlushedBuffers {
  private readonly free: Buffer[] = [];
  /** Handed to the transport and maybe still queued there, oldest first. */
  private readonly sent: Buffer[] = [];

  constructor(
    private readonly size: number,
    private readonly flushed: (() => boolean) | undefined,
  ) {}

  /** A buffer to read the next batch into, or undefined to let the reader allocate one of its own. */
  take(): Buffer | undefined {
    if (!this.flushed) return undefined;
    if (this.sent.length > 0 && this.flushed()) {
      for (const buffer of this.sent.splice(0)) if (this.free.length < MAX_FREE) this.free.push(buffer);
    }
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** `buffer`, from take(), was written to the transport (or not used at all): it is reused once flushed. */
  handed(buffer: Buffer | undefined): void {
    if (buffer) this.sent.push(buffer);
  }

  /** The stream caught up: keeps nothing for later (what the transport still holds is dropped once sent). */
  idle(): void {
    this.free.length = 0;
    this.sent.length = 0;
  }
}
