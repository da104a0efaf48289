import { describe, expect, it } from 'vitest';
import type { ControlSnapshot } from '../src/control-cache.js';
import type { GroupControl, RoomControl } from '../src/control-store.js';
import { buildRoute } from '../src/route-builder.js';
import { routableBrokers } from '../src/routable-brokers.js';
import { brokerView } from './fixtures.js';

function control(rooms: Array<Pick<RoomControl, 'room' | 'status'>>, groups: Array<Pick<GroupControl, 'group' | 'epoch' | 'leader'>> = []): ControlSnapshot {
  const meta = { version: 1, changedAtMs: 0, changedBy: 'test', reason: '' };
  return {
    rooms: new Map(rooms.map((r) => [r.room, { ...meta, ...r }])),
    groups: new Map(groups.map((g) => [g.group, { ...meta, frozen: false, ...g }])),
  };
}

/** broker-a: master dc1, replicas in dc2; broker-b: master dc2, replicas in dc1. */
const cluster = () => [
  brokerView('broker-a/0@dc1', { flushedOffset: 100 }),
  brokerView('broker-a/1@dc2', { flushedOffset: 100 }),
  brokerView('broker-a/2@dc2', { flushedOffset: 100 }),
  brokerView('broker-b/0@dc2', { flushedOffset: 50 }),
  brokerView('broker-b/1@dc1', { flushedOffset: 50 }),
];

const served = (views: ReturnType<typeof cluster>) =>
  Object.fromEntries(buildRoute({ topic: 't', queuesPerBroker: 1, brokers: views }).map((q) => [q.brokerName, `${q.brokerInstance} ${q.permission}`]));

describe('routableBrokers', () => {
  it('changes nothing while no room is cut and no group moved', () => {
    expect(routableBrokers(cluster(), control([]))).toEqual(cluster());
  });

  it('drops every member of a cut room, so its groups are read from the other room until an acting master takes writes', () => {
    const views = routableBrokers(cluster(), control([{ room: 'dc1', status: 'cut' }]));
    expect(views.map((v) => v.state.name)).toEqual(['broker-a/1@dc2', 'broker-a/2@dc2', 'broker-b/0@dc2']);
    expect(served(views)).toEqual({ 'broker-a': 'broker-a/1@dc2 READ', 'broker-b': 'broker-b/0@dc2 READ_WRITE' });
  });

  it('routes writes to the acting master once it reports itself master, and never to the old master that still claims it', () => {
    const afterCut = cluster().map((v) => (v.state.name === 'broker-a/1@dc2' ? brokerView('broker-a/1@dc2', { role: 'master', writable: true, epoch: 2, flushedOffset: 120 }) : v));
    const c = control([{ room: 'dc1', status: 'cut' }], [{ group: 'broker-a', epoch: 2, leader: 'broker-a/1@dc2' }]);
    expect(served(routableBrokers(afterCut, c))).toEqual({ 'broker-a': 'broker-a/1@dc2 READ_WRITE', 'broker-b': 'broker-b/0@dc2 READ_WRITE' });
    // Restored, before failback: the old master is back in an active room but is not the leader.
    const restored = control([{ room: 'dc1', status: 'active' }], [{ group: 'broker-a', epoch: 2, leader: 'broker-a/1@dc2' }]);
    const views = routableBrokers(afterCut, restored);
    expect(views.some((v) => v.state.name === 'broker-a/0@dc1')).toBe(false);
    expect(served(views)['broker-a']).toBe('broker-a/1@dc2 READ_WRITE');
  });

  it('keeps a group whose members are all in cut rooms readable, never writable: its data is nowhere else', () => {
    const solo = [brokerView('solo/0@dc1', { writable: true }), brokerView('broker-b/0@dc2')];
    const views = routableBrokers(solo, control([{ room: 'dc1', status: 'cut' }]));
    expect(served(views)).toEqual({ solo: 'solo/0@dc1 READ', 'broker-b': 'broker-b/0@dc2 READ_WRITE' });
  });
});
