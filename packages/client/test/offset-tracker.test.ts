import { describe, expect, it } from 'vitest';
import { OffsetTracker } from '../src/offset-tracker.js';

describe('OffsetTracker', () => {
  it('commits the consumed position once, then only when it moved', () => {
    const t = new OffsetTracker();
    expect(t.takeCommit()).toBeUndefined();
    t.markConsumed(5);
    expect(t.takeCommit()).toBe(5);
    expect(t.takeCommit()).toBeUndefined(); // one commit in flight at a time
    t.commitSucceeded(5);
    expect(t.takeCommit()).toBeUndefined();
    t.markConsumed(7);
    expect(t.takeCommit()).toBe(7);
  });

  it('never hands out a lower offset, whatever order events arrive in', () => {
    const t = new OffsetTracker();
    t.markConsumed(10);
    const first = t.takeCommit()!;
    t.markConsumed(4); // a late, lower report
    t.observeCommitted(2); // a stale broker
    t.commitFailed();
    expect(t.takeCommit()).toBe(10);
    t.commitSucceeded(10);
    t.observeCommitted(20); // another consumer moved the group on
    t.markConsumed(15);
    expect(t.takeCommit()).toBeUndefined();
    expect(t.consumedNext).toBe(20);
    t.markConsumed(21);
    expect(t.takeCommit()).toBe(21);
    expect(first).toBe(10);
  });

  it('keeps the highest committed offset when results arrive out of order', () => {
    const t = new OffsetTracker();
    t.markConsumed(3);
    t.takeCommit();
    t.commitSucceeded(3);
    t.markConsumed(9);
    t.takeCommit();
    t.commitSucceeded(9);
    t.commitSucceeded(3);
    expect(t.committedOffset).toBe(9);
  });

  it('randomised: committed offsets only ever increase', () => {
    const t = new OffsetTracker();
    const handedOut: number[] = [];
    let rng = 42;
    const next = (): number => (rng = (rng * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 10_000; i++) {
      const r = next();
      if (r < 0.4) t.markConsumed(Math.floor(i / 5 + (next() - 0.5) * 50)); // mostly forwards, sometimes late reports
      else if (r < 0.5) t.observeCommitted(Math.floor(i / 5 + (next() - 0.7) * 100));
      else {
        const offset = t.takeCommit();
        if (offset === undefined) continue;
        handedOut.push(offset);
        if (next() < 0.8) t.commitSucceeded(offset);
        else t.commitFailed();
      }
    }
    for (let i = 1; i < handedOut.length; i++) expect(handedOut[i]!).toBeGreaterThanOrEqual(handedOut[i - 1]!);
    expect(handedOut.length).toBeGreaterThan(10);
  });
});
