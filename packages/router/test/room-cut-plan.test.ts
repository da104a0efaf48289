import { describe, expect, it } from 'vitest';
import type { GroupControl, RoomControl } from '../src/control-store.js';
import { chooseActingLeader, planFailbacks, planRoomCut, type PlanMember } from '../src/room-cut-plan.js';

/** A member from its instance name, e.g. `broker-a/1@dc2` (member 0 is the configured master). */
function m(name: string, flushedOffset: number, overrides: Partial<PlanMember> = {}): PlanMember {
  const [group, rest] = name.split('/') as [string, string];
  const [id, room] = rest.split('@') as [string, string];
  return { name, group, memberId: Number(id), room, configuredRole: id === '0' ? 'master' : 'slave', alive: true, status: 'ready', flushedOffset, ...overrides };
}

const room = (name: string, status: 'active' | 'cut', version = 1): RoomControl => ({ room: name, status, version, changedAtMs: 1, changedBy: 'ops', reason: '' });
const group = (name: string, leader: string, epoch: number, version = 1): GroupControl => ({ group: name, epoch, leader, frozen: false, version, changedAtMs: 1, changedBy: 'ops', reason: '' });

describe('chooseActingLeader', () => {
  it('picks the most caught-up alive, ready member outside the excluded rooms; ties go to the lower member id', () => {
    const members = [m('g/0@dc1', 900), m('g/1@dc2', 500), m('g/2@dc2', 700), m('g/3@dc3', 700)];
    expect(chooseActingLeader(members, new Set(['dc1']))?.name).toBe('g/2@dc2');
    expect(chooseActingLeader([m('g/3@dc3', 700), m('g/2@dc2', 700)], new Set(['dc1']))?.name).toBe('g/2@dc2');
    expect(chooseActingLeader([m('g/1@dc2', 900, { alive: false }), m('g/2@dc2', 10)], new Set(['dc1']))?.name).toBe('g/2@dc2');
    expect(chooseActingLeader([m('g/1@dc2', 900, { status: 'starting' }), m('g/2@dc2', 10, { status: 'failed' })], new Set(['dc1']))).toBeUndefined();
    expect(chooseActingLeader([m('g/1@dc2', 900)], new Set(['dc1', 'dc2']))).toBeUndefined();
  });
  it('takes the first eligible member in chain order while the configured chain runs, whatever a stale report says', () => {
    // g/1 copies from the master and g/2 from g/1: g/1 holds all g/2 holds, even if g/2's report is fresher.
    expect(chooseActingLeader([m('g/1@dc2', 900), m('g/2@dc2', 1000)], new Set(['dc1']), true)?.name).toBe('g/1@dc2');
    expect(chooseActingLeader([m('g/1@dc2', 900, { alive: false }), m('g/2@dc2', 10)], new Set(['dc1']), true)?.name).toBe('g/2@dc2');
  });
});

describe('planRoomCut', () => {
  it('moves every group led from the cut room to its best member elsewhere under epoch + 1', () => {
    const members = [m('a/0@dc1', 1000), m('a/1@dc2', 990), m('b/0@dc2', 50), m('b/1@dc1', 50)];
    const plans = planRoomCut({ room: 'dc1', rooms: [], groups: [], members });
    expect(plans).toEqual([
      {
        group: 'a',
        fromLeader: 'a/0@dc1',
        fromRoom: 'dc1',
        toLeader: 'a/1@dc2',
        toRoom: 'dc2',
        fromEpoch: 1,
        toEpoch: 2,
        fromFlushedOffset: 1000,
        toFlushedOffset: 990,
        expectedVersion: 0,
        moves: true,
        note: 'a/1@dc2 is 10 bytes behind as last reported; those bytes stay in dc1 until restore',
      },
    ]);
  });

  it('follows the recorded leader, not the configured master, and never picks a member of an already cut room', () => {
    const members = [m('a/0@dc1', 100), m('a/1@dc2', 100), m('a/2@dc3', 90)];
    // a is led from dc2 already (dc1 was cut before); cutting dc2 must go to dc3, not back to dc1.
    const plans = planRoomCut({ room: 'dc2', rooms: [room('dc1', 'cut')], groups: [group('a', 'a/1@dc2', 2, 4)], members });
    expect(plans).toMatchObject([{ group: 'a', fromLeader: 'a/1@dc2', toLeader: 'a/2@dc3', fromEpoch: 2, toEpoch: 3, expectedVersion: 4, moves: true }]);
    expect(planRoomCut({ room: 'dc1', rooms: [], groups: [group('a', 'a/1@dc2', 2)], members })).toEqual([]);
  });

  it('keeps the leader of a group with no member outside the room and says its data is unreadable', () => {
    const plans = planRoomCut({ room: 'dc1', rooms: [], groups: [], members: [m('solo/0@dc1', 10), m('solo/1@dc2', 10, { alive: false })] });
    expect(plans).toMatchObject([{ group: 'solo', fromLeader: 'solo/0@dc1', toLeader: undefined, toEpoch: 1, moves: false, note: expect.stringContaining('its data is unreadable until restore') }]);
  });
});

describe('planFailbacks', () => {
  it('lists groups whose configured master is in the room and does not lead', () => {
    const members = [m('a/0@dc1', 10), m('a/1@dc2', 10), m('b/0@dc1', 10), m('b/1@dc2', 10), m('c/0@dc2', 10)];
    const plans = planFailbacks({ room: 'dc1', groups: [group('a', 'a/1@dc2', 2, 3), group('b', 'b/0@dc1', 3), group('c', 'c/0@dc2', 1)], members });
    expect(plans).toMatchObject([{ group: 'a', fromLeader: 'a/1@dc2', toLeader: 'a/0@dc1', fromEpoch: 2, toEpoch: 3, expectedVersion: 3, note: expect.stringContaining('roomq group failback a') }]);
  });
});
