import { describe, expect, it } from 'vitest';
import { LocalGroupMembers } from '../src/group-members.js';

describe('LocalGroupMembers', () => {
  it('reports joins, leaves by heartbeat and leaves by silence, and nothing for plain heartbeats', () => {
    let now = 1000;
    const members = new LocalGroupMembers({ timeoutMs: 3000, now: () => now });
    expect(members.heartbeat('dc1@a@1@1', 'dc1', ['billing', 'audit'])).toEqual(['billing', 'audit']);
    expect(members.heartbeat('dc2@b@1@1', 'dc2', ['billing'])).toEqual(['billing']);
    now += 1000;
    expect(members.heartbeat('dc1@a@1@1', 'dc1', ['billing', 'audit'])).toEqual([]);
    expect(members.heartbeat('dc1@a@1@1', 'dc1', ['billing'])).toEqual(['audit']);
    expect(members.activeGroups()).toEqual(['billing']);
    expect(members.members('billing', 'r1')).toEqual([
      { clientId: 'dc1@a@1@1', room: 'dc1', router: 'r1', lastSeenMs: 2000 },
      { clientId: 'dc2@b@1@1', room: 'dc2', router: 'r1', lastSeenMs: 1000 },
    ]);
    now = 4500;
    expect(members.sweep()).toEqual(['billing']);
    expect(members.members('billing', 'r1').map((m) => m.clientId)).toEqual(['dc1@a@1@1']);
    now = 6000;
    expect(members.sweep()).toEqual(['billing']);
    expect(members.activeGroups()).toEqual([]);
    expect(members.heartbeat('dc1@a@1@1', 'dc1', [])).toEqual([]);
  });
});
