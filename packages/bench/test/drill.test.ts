import { describe, expect, it } from 'vitest';
import { drillContext, rtoFields } from '../src/drill.js';

describe('rtoFields', () => {
  it('finds recovery-time fields at any depth, with a unit from the key', () => {
    const report = { ok: true, rtoMs: 812, rooms: { dc1: { recoverySeconds: 1.5, lagMs: 3 } }, checks: [{ rto: 'n/a' }] };
    expect(rtoFields(report)).toEqual([
      { path: 'rtoMs', value: 812, unit: 'ms' },
      { path: 'rooms.dc1.recoverySeconds', value: 1.5, unit: 's' },
      { path: 'checks[0].rto', value: 'n/a', unit: '' },
    ]);
  });

  it('finds nothing in JSON without such a field, or in a scalar', () => {
    expect(rtoFields({ sent: 10 })).toEqual([]);
    expect(rtoFields(42)).toEqual([]);
  });
});

describe('drillContext', () => {
  it('quotes what was drilled and whether it passed, skipping absent or nested keys', () => {
    expect(drillContext({ mode: 'clean', room: 'dc1', replication: { mode: 'sync:1' }, ok: false, lostAcknowledged: 0 })).toBe('mode clean, room dc1, ok false, lostAcknowledged 0');
    expect(drillContext(null)).toBe('');
  });
});
