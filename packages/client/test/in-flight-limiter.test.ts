import { RoomqError } from '@roomq/protocol';
import { describe, expect, it } from 'vitest';
import { InFlightLimiter } from '../src/in-flight-limiter.js';

describe('InFlightLimiter', () => {
  it('grants up to capacity, then makes callers wait in arrival order', async () => {
    const limiter = new InFlightLimiter(2);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    const order: number[] = [];
    const a = limiter.acquire().then(() => order.push(1));
    const b = limiter.acquire().then(() => order.push(2));
    expect(limiter.waiting).toBe(2);
    limiter.release();
    await a;
    expect(order).toEqual([1]);
    expect(limiter.tryAcquire()).toBe(false); // b still waits: no overtaking
    limiter.release();
    await b;
    expect(order).toEqual([1, 2]);
    expect(limiter.inFlight).toBe(2);
  });

  it('fails waiters on close and on abort, keeping the count right', async () => {
    const limiter = new InFlightLimiter(1);
    limiter.tryAcquire();
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    const closed = limiter.acquire();
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    limiter.close(new RoomqError('CLOSED', 'closed'));
    await expect(closed).rejects.toMatchObject({ code: 'CLOSED' });
    limiter.release();
    expect(limiter.inFlight).toBe(0);
  });
});
