import { RoomqError, isRoomqError } from './errors.js';

/**
 * The one retrier of roomq: jittered exponential backoff, deciding on `RoomqError.retriable`. The client SDK
 * uses it per message (attempt counting and delays) and to pace reconnects and handler retries; the replicator
 * paces its reconnects to the upstream with the same computation.
 */

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialDelayMs: number;
  /** Upper bound of any delay. */
  maxDelayMs: number;
  multiplier: number;
  /** 0..1: the delay is drawn from [d × (1 − jitter), d]. */
  jitter: number;
}

/** Default backoff: 100 ms, doubling, at most 5 s, up to half of it random. */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialDelayMs: 100, maxDelayMs: 5_000, multiplier: 2, jitter: 0.5 };

/** Delay before retry number `retry` (1 for the first retry). */
export function backoffDelayMs(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, retry - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

export interface RetryOptions {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Cuts the wait between attempts short, with ABORTED. */
  signal?: AbortSignal;
  onRetry?: (err: RoomqError, attempt: number, delayMs: number) => void;
}

export class Retrier {
  constructor(
    readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Delay before retry number `retry` (1 for the first retry). */
  delayMs(retry: number): number {
    return backoffDelayMs(this.policy, retry, this.random);
  }

  /** True when an attempt that failed with `err` should be followed by another; `attempt` counts from 1. */
  shouldRetry(err: unknown, attempt: number, maxAttempts: number): boolean {
    return attempt < maxAttempts && isRoomqError(err) && err.retriable;
  }

  /**
   * Runs `fn` until it succeeds, fails with a non-retriable error or has run `maxAttempts` times. The wait
   * between attempts ends early, with ABORTED, when `signal` aborts.
   */
  async run<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (!this.shouldRetry(err, attempt, options.maxAttempts)) throw err;
        const delay = this.delayMs(attempt);
        options.onRetry?.(err as RoomqError, attempt, delay);
        await sleep(delay, options.signal);
      }
    }
  }
}

/** Waits `ms`; rejects with ABORTED as soon as `signal` aborts. The timer never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortedError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref?.();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error a wait ends with when `signal` aborts: its reason when that is a RoomqError, else ABORTED. */
export function abortedError(signal: AbortSignal): RoomqError {
  return isRoomqError(signal.reason) ? signal.reason : new RoomqError('ABORTED', 'the wait was aborted', { cause: signal.reason });
}
