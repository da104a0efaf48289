import { describe, expect, it } from 'vitest';
import { WriteLease } from '../../src/server/write-lease.js';

describe('WriteLease', () => {
  const clock = (): { now: () => number; at: (ms: number) => void } => {
    let t = 1_000_000;
    return { now: () => t, at: (ms) => (t = ms) };
  };

  it('refuses writes until a router answered, and names why', () => {
    const c = clock();
    const lease = new WriteLease(4000, c.now);
    expect(lease.valid()).toBe(false);
    expect(lease.refusal()).toContain('no router has answered yet');
  });

  it('holds for the lease after a router with a healthy control state answered, counted from when the heartbeat left', () => {
    const c = clock();
    const lease = new WriteLease(4000, c.now);
    lease.grant('dc1', 1_000_000, 60_000, true);
    c.at(1_003_999);
    expect(lease.valid()).toBe(true);
    c.at(1_004_000);
    expect(lease.valid()).toBe(false);
    expect(lease.refusal()).toContain('expired');
  });

  it('an isolated room: its own router answers but cannot read the control state, so writes stop', () => {
    const c = clock();
    const lease = new WriteLease(4000, c.now);
    lease.grant('dc1', c.now(), 60_000, false);
    expect(lease.valid()).toBe(false);
    expect(lease.refusal()).toContain('only routers of dc1 answered');
  });

  it('a control-store outage alone does not stop writes: routers of two rooms still answer', () => {
    const c = clock();
    const lease = new WriteLease(4000, c.now);
    lease.grant('dc1', c.now(), 60_000, false);
    lease.grant('dc2', c.now(), 60_000, false);
    expect(lease.valid()).toBe(true);
  });

  it('a late reply from an older heartbeat neither extends nor heals a room', () => {
    const c = clock();
    const lease = new WriteLease(4000, c.now);
    lease.grant('dc1', c.now(), 60_000, false);
    lease.grant('dc1', c.now() - 3000, 60_000, true);
    expect(lease.valid()).toBe(false);
  });
});
