/**
 * One direction of a proxied connection: chunks read from a source are written to a sink after a delay.
 *
 * Invariants:
 * - chunks reach the sink in the order they were pushed, and the end (FIN) only after the last chunk;
 * - a chunk is never released before `pushedAt + delay`, where delay is the value read when it was pushed, so a
 *   delay change affects only data pushed after it (a shorter delay never lets a chunk overtake an older one:
 *   it waits behind the queue's head instead);
 * - one timer per pipe (for the queue's head), never one per chunk;
 * - the source is paused while more than `highWaterBytes` wait in the queue (or the pipe is held) and resumed once
 *   the queue is back under half of that, so a slow sink or a long delay bounds memory instead of growing it.
 */

/** Where a pipe reads from; a net.Socket is one. */
export interface PipeSource {
  pause(): unknown;
  resume(): unknown;
}

/** Where a pipe writes to; a net.Socket is one. `write` returning false means wait for 'drain'. */
export interface PipeSink {
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

export interface DelayedPipeOptions {
  /** Read once per pushed chunk: the one-way delay that chunk gets. */
  delayMs: () => number;
  highWaterBytes: number;
  /** Called with the size of every chunk handed to the sink. */
  onForwarded?: (sizeBytes: number) => void;
  /** Monotonic clock in milliseconds; injectable for tests. */
  now?: () => number;
}

interface Entry {
  /** undefined marks the end of the stream. */
  chunk: Uint8Array | undefined;
  releaseAtMs: number;
}

export class DelayedPipe {
  private readonly queue: Entry[] = [];
  private head = 0;
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private held = false;
  private destroyed = false;
  private ended = false;
  /** undefined until the first flow decision, so that decision is always applied to the source. */
  private sourcePaused: boolean | undefined;
  private readonly now: () => number;
  private readonly lowWaterBytes: number;

  constructor(
    private readonly source: PipeSource,
    private readonly sink: PipeSink,
    private readonly options: DelayedPipeOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.lowWaterBytes = Math.floor(options.highWaterBytes / 2);
  }

  /** Bytes read from the source and not yet handed to the sink. */
  get bytesQueued(): number {
    return this.queuedBytes;
  }

  /** Starts the flow: resumes the source unless the pipe is held. */
  start(): void {
    this.updateFlow();
  }

  push(chunk: Uint8Array): void {
    if (this.destroyed || this.ended) return;
    this.enqueue(chunk, chunk.byteLength);
  }

  /** The source ended (sent FIN): end the sink once everything before it has been released. */
  end(): void {
    if (this.destroyed || this.ended) return;
    this.ended = true;
    this.enqueue(undefined, 0);
  }

  /** Stops releasing (a partition): queued data stays queued, the source is paused. */
  hold(): void {
    if (this.destroyed || this.held) return;
    this.held = true;
    this.clearTimer();
    this.updateFlow();
  }

  /** Undoes hold(): data whose time has come is released at once, the source resumes. */
  release(): void {
    if (this.destroyed || !this.held) return;
    this.held = false;
    this.flush();
  }

  /** Drops everything queued; the pipe does nothing afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.clearTimer();
    this.queue.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
  }

  private enqueue(chunk: Uint8Array | undefined, sizeBytes: number): void {
    const delayMs = Math.max(0, this.options.delayMs());
    this.queue.push({ chunk, releaseAtMs: this.now() + delayMs });
    this.queuedBytes += sizeBytes;
    // With no delay and nothing ahead, release now instead of waiting for a timer tick.
    if (this.timer === undefined) this.flush();
    else this.updateFlow();
  }

  private flush(): void {
    this.clearTimer();
    if (this.destroyed) return;
    while (!this.held && !this.waitingForDrain && this.head < this.queue.length) {
      const entry = this.queue[this.head]!;
      const waitMs = entry.releaseAtMs - this.now();
      if (waitMs > 0) {
        this.timer = setTimeout(() => this.flush(), Math.ceil(waitMs));
        break;
      }
      this.queue[this.head] = undefined as unknown as Entry;
      this.head += 1;
      if (entry.chunk === undefined) {
        this.sink.end();
        continue;
      }
      this.queuedBytes -= entry.chunk.byteLength;
      const accepted = this.sink.write(entry.chunk);
      this.options.onForwarded?.(entry.chunk.byteLength);
      if (!accepted) {
        this.waitingForDrain = true;
        this.sink.once('drain', () => {
          this.waitingForDrain = false;
          this.flush();
        });
      }
    }
    this.compact();
    this.updateFlow();
  }

  private compact(): void {
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private updateFlow(): void {
    if (this.destroyed) return;
    const limit = this.sourcePaused === true ? this.lowWaterBytes : this.options.highWaterBytes;
    const pause = this.held || this.queuedBytes > limit;
    if (pause === this.sourcePaused) return;
    this.sourcePaused = pause;
    if (pause) this.source.pause();
    else this.source.resume();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
