import { describe, expect, it } from 'vitest';
import { Retrier, backoffDelayMs, sleep } from '../src/backoff.js';
import { RoomqError } from '../src/errors.js';

const policy = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0.5 };

describe('backoffDelayMs', () => {
  it('is the computation the Retrier uses', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n, () => 0))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelayMs(policy, 1, () => 1)).toBe(new Retrier(policy, () => 1).delayMs(1));
  });
});

describe('Retrier', () => {
  it('grows delays exponentially up to the cap', () => {
    const r = new Retrier(policy, () => 0);
    expect([1, 2, 3, 4, 5, 10].map((n) => r.delayMs(n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('jitters downwards within the configured share', () => {
    expect(new Retrier(policy, () => 1).delayMs(1)).toBe(50);
    expect(new Retrier(policy, () => 0.5).delayMs(2)).toBe(150);
  });

  it('retries retriable errors only, and only up to maxAttempts', () => {
    const r = new Retrier(policy);
    expect(r.shouldRetry(new RoomqError('UNAVAILABLE', 'x'), 1, 3)).toBe(true);
    expect(r.shouldRetry(new RoomqError('STORAGE_FAILED', 'x'), 2, 3)).toBe(true);
    expect(r.shouldRetry(new RoomqError('UNAVAILABLE', 'x'), 3, 3)).toBe(false);
    expect(r.shouldRetry(new RoomqError('BODY_TOO_LARGE', 'x'), 1, 3)).toBe(false);
    expect(r.shouldRetry(new Error('plain'), 1, 3)).toBe(false);
  });

  it('run() retries until success and stops at once on a non-retriable error', async () => {
    const r = new Retrier({ ...policy, initialDelayMs: 1, maxDelayMs: 1 });
    let calls = 0;
    await expect(
      r.run(
        async () => {
          if (++calls < 3) throw new RoomqError('TIMEOUT', 'slow');
          return 'ok';
        },
        { maxAttempts: 5 },
      ),
    ).resolves.toBe('ok');
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      r.run(async () => {
        calls++;
        throw new RoomqError('INVALID_TOPIC', 'bad');
      }, { maxAttempts: 5 }),
    ).rejects.toMatchObject({ code: 'INVALID_TOPIC' });
    expect(calls).toBe(1);
  });

  it('sleep() ends early when aborted', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
