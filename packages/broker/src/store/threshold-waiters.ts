import { abortedError } from '@roomq/protocol';

interface Waiter {
  after: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Promises waiting for a growing value (a queue end, the durable offset) to pass a threshold. Callers check the
 * current value before waiting; `advance` settles every waiter the new value passes.
 */
export class ThresholdWaiters {
  private waiters: Waiter[] = [];

  /** Resolves when advance() is called with a value above `after`; rejects ABORTED when `signal` aborts. */
  wait(after: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortedError(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(abortedError(signal));
      };
      const waiter: Waiter = {
        after,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  advance(value: number): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (value > waiter.after) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  rejectAll(err: unknown): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(err);
  }
}
