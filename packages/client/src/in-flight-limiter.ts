import { RoomqError } from '@roomq/protocol';
import { FifoQueue } from './fifo-queue.js';

interface Waiter {
  resolve: () => void;
  reject: (err: RoomqError) => void;
}

/**
 * Bounds messages in flight: a permit per message, taken before it is queued and given back when its send
 * settles. When none is free, callers wait in arrival order; nothing is buffered beyond the bound.
 */
export class InFlightLimiter {
  private used = 0;
  private readonly waiters = new FifoQueue<Waiter>();
  private closedWith: RoomqError | undefined;

  constructor(readonly capacity: number) {}

  get inFlight(): number {
    return this.used;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes a permit if one is free right now, without waiting or allocating. */
  tryAcquire(): boolean {
    if (this.closedWith || this.used >= this.capacity || this.waiters.length > 0) return false;
    this.used++;
    return true;
  }

  /** Waits for a permit; rejects when the limiter is closed or `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (!signal) {
        this.waiters.push({ resolve, reject });
        return;
      }
      let granted = false;
      const onAbort = (): void => {
        if (granted) return;
        waiter.resolve = () => this.release();
        reject(new RoomqError('ABORTED', 'gave up waiting for in-flight capacity', { cause: signal.reason }));
      };
      const waiter: Waiter = {
        resolve: () => {
          granted = true;
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(count = 1): void {
    this.used -= count;
    while (this.used < this.capacity && this.waiters.length > 0) {
      this.used++;
      this.waiters.shift()!.resolve();
    }
  }

  /** Fails every waiter and every later acquire with `err`; permits already held stay valid. */
  close(err: RoomqError): void {
    this.closedWith = err;
    for (const waiter of this.waiters.drain()) waiter.reject(err);
  }
}
