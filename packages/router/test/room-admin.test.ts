/** The room admin RPCs through a real router on a memory store, with fake brokers heartbeating. */
import { afterEach, describe, expect, it } from 'vitest';
import { V2_CODE, fromWireStatus } from '@roomq/protocol';
import { MemoryControlStore } from '../src/index.js';
import { admin, cleanup, FakeBroker, startRouter, unary } from './helpers.js';

afterEach(cleanup);

/** broker-a: master dc1, replicas dc2 (flushed 900 and 1000); broker-b: master dc2, replica dc1; solo: dc1 only. */
async function cluster() {
  const store = new MemoryControlStore();
  const r = await startRouter({ store, heartbeatIntervalMs: 50, brokerTimeoutMs: 400 });
  const brokers = [
    new FakeBroker(r.target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911', flushedOffset: 1000 }),
    new FakeBroker(r.target, { name: 'broker-a/2@dc2', group: 'broker-a', room: 'dc2', role: 'slave', writable: false, endpoint: '127.0.0.1:10912', flushedOffset: 900 }),
    new FakeBroker(r.target, { name: 'broker-a/1@dc2', group: 'broker-a', room: 'dc2', role: 'slave', writable: false, endpoint: '127.0.0.1:10913', flushedOffset: 1000 }),
    new FakeBroker(r.target, { name: 'broker-b/0@dc2', group: 'broker-b', room: 'dc2', endpoint: '127.0.0.1:10921', flushedOffset: 10 }),
    new FakeBroker(r.target, { name: 'broker-b/1@dc1', group: 'broker-b', room: 'dc1', role: 'slave', writable: false, endpoint: '127.0.0.1:10922', flushedOffset: 10 }),
    new FakeBroker(r.target, { name: 'solo/0@dc1', group: 'solo', room: 'dc1', endpoint: '127.0.0.1:10931', flushedOffset: 5 }),
  ];
  for (const b of brokers) await b.run(50);
  await unary(admin(r.target), 'CreateTopic', { name: 'orders', mode: 'home:dc1' });
  await unary(admin(r.target), 'CreateTopic', { name: 'billing', mode: 'home:dc2' });
  const call = async (method: string, request: unknown) => {
    const reply = await unary(admin(r.target), method, request);
    return { reply, error: fromWireStatus(reply.status, {}) };
  };
  return { ...r, store, call };
}

describe('room admin RPCs', () => {
  it('plans a cut on dry run, then cuts: the room and every group move land together, audited', async () => {
    const { call, store } = await cluster();
    const dry = await call('CutRoom', { room: 'dc1', reason: 'power loss', by: 'ops@test', dry_run: true });
    expect(dry.error).toBeUndefined();
    expect(dry.reply.applied ?? false).toBe(false);
    expect(dry.reply.plan).toMatchObject({ room: 'dc1', action: 'cut', from_status: 'active', to_status: 'cut', changes: true });
    expect(dry.reply.plan.groups).toEqual([
      expect.objectContaining({ group: 'broker-a', from_leader: 'broker-a/0@dc1', to_leader: 'broker-a/1@dc2', from_epoch: 1, to_epoch: 2, from_flushed_offset: 1000, to_flushed_offset: 1000, moves: true }),
      expect.objectContaining({ group: 'solo', from_leader: 'solo/0@dc1', moves: false, note: expect.stringContaining('unreadable until restore') }),
    ]);
    expect(dry.reply.plan.topics).toEqual([{ name: 'orders', mode: 'home:dc1' }]);
    expect(await store.listRooms()).toEqual([]);
    expect(await store.listAudit(10)).toEqual([]);

    const cut = await call('CutRoom', { room: 'dc1', reason: 'power loss', by: 'ops@test' });
    expect(cut.error).toBeUndefined();
    expect(cut.reply.applied).toBe(true);
    expect(cut.reply.room).toMatchObject({ room: 'dc1', status: 'cut', version: 1, changed_by: 'ops@test', reason: 'power loss' });
    expect(cut.reply.groups).toEqual([expect.objectContaining({ group: 'broker-a', epoch: 2, leader: 'broker-a/1@dc2', version: 1 })]);
    expect(cut.reply.audit).toMatchObject({ seq: 1, by: 'ops@test', action: 'room-cut', target: 'dc1', version: 1 });
    expect(JSON.parse(cut.reply.audit.details_json).groups).toHaveLength(2);

    // Cutting again changes nothing and says so.
    const again = await call('CutRoom', { room: 'dc1', by: 'ops@test' });
    expect(again.error).toBeUndefined();
    expect(again.reply.applied ?? false).toBe(false);
    expect(again.reply.plan.changes ?? false).toBe(false);
    expect(again.reply.plan.notes[0]).toMatch(/room dc1 is cut already/);
    expect(await store.listAudit(10)).toHaveLength(1);

    const listed = await call('ListRooms', {});
    expect(listed.reply.rooms.map((r: any) => [r.control.room, r.control.status, r.control.version ?? 0])).toEqual([
      ['dc1', 'cut', 1],
      ['dc2', 'active', 0],
    ]);
    expect(listed.reply.groups.map((g: any) => [g.control.group, g.control.leader, g.control.epoch, g.configured_master, g.leader_room])).toEqual([
      ['broker-a', 'broker-a/1@dc2', 2, 'broker-a/0@dc1', 'dc2'],
      ['broker-b', 'broker-b/0@dc2', 1, 'broker-b/0@dc2', 'dc2'],
      ['solo', 'solo/0@dc1', 1, 'solo/0@dc1', 'dc1'],
    ]);
  });

  it('refuses to cut the last active room, unknown rooms and bad input, changing nothing', async () => {
    const { call, store } = await cluster();
    expect((await call('CutRoom', { room: 'dc3', by: 'ops' })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/unknown room dc3.*known rooms: dc1, dc2/) });
    expect((await call('CutRoom', { room: 'DC 1', by: 'ops' })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/room name/) });
    expect((await call('CutRoom', { room: 'dc1' })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/say who asks/) });
    expect((await call('CutRoom', { room: 'dc1', by: 'ops', reason: 'x'.repeat(2000) })).error).toMatchObject({ code: 'BAD_REQUEST' });
    expect((await call('CutRoom', { room: 'dc1', by: 'ops', expected_version: 3 })).error).toMatchObject({ code: 'VERSION_CONFLICT' });
    expect((await call('CutRoom', { room: 'dc2', by: 'ops' })).error).toBeUndefined();
    const last = await call('CutRoom', { room: 'dc1', by: 'ops' });
    expect(last.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/last active room.*roomq room restore/) });
    expect((await store.listRooms()).map((r) => r.room)).toEqual(['dc2']);
    expect((await call('ListAudit', { limit: 10 })).reply.entries).toHaveLength(1);
  });

  it('restores without moving leaders, and points at the failbacks to run', async () => {
    const { call, store } = await cluster();
    await call('CutRoom', { room: 'dc1', by: 'ops' });
    const dry = await call('RestoreRoom', { room: 'dc1', by: 'ops', dry_run: true });
    expect(dry.reply.plan).toMatchObject({ action: 'restore', from_status: 'cut', to_status: 'active', changes: true });
    expect(dry.reply.plan.groups).toEqual([expect.objectContaining({ group: 'broker-a', from_leader: 'broker-a/1@dc2', to_leader: 'broker-a/0@dc1', to_epoch: 3 })]);
    const restored = await call('RestoreRoom', { room: 'dc1', by: 'ops', reason: 'power back', expected_version: 1 });
    expect(restored.error).toBeUndefined();
    expect(restored.reply.room).toMatchObject({ status: 'active', version: 2, reason: 'power back' });
    expect((await store.listGroups()).map((g) => g.leader)).toEqual(['broker-a/1@dc2']);
    const again = await call('RestoreRoom', { room: 'dc1', by: 'ops' });
    expect(again.reply.applied ?? false).toBe(false);
    expect(again.reply.plan.notes[0]).toMatch(/active already/);
    const audit = await call('ListAudit', {});
    expect(audit.reply.entries.map((e: any) => e.action)).toEqual(['room-restore', 'room-cut']);
  });

  it('sets group control by compare-and-set, validating leader, epoch and room, audited', async () => {
    const { call } = await cluster();
    await call('CutRoom', { room: 'dc1', by: 'ops' });
    const set = (request: object) => call('SetGroupControl', { group: 'broker-a', by: 'ops', ...request });
    expect((await set({ epoch: 3, leader: 'broker-x/0@dc2', expected_version: 1 })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/not a member of group broker-a/) });
    expect((await call('SetGroupControl', { group: 'nope', epoch: 3, leader: 'x', by: 'ops', expected_version: 0 })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/unknown broker group nope/) });
    expect((await set({ epoch: 3, leader: 'broker-a/0@dc1', expected_version: 1 })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/room dc1 is cut/) });
    expect((await set({ epoch: 1, leader: 'broker-a/1@dc2', expected_version: 1 })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/epochs never go back/) });
    expect((await set({ epoch: 2, leader: 'broker-a/2@dc2', expected_version: 1 })).error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/needs a new epoch/) });
    expect((await set({ epoch: 2, leader: 'broker-a/1@dc2', frozen: true, expected_version: 7 })).error).toMatchObject({ code: 'VERSION_CONFLICT' });

    const frozen = await set({ epoch: 2, leader: 'broker-a/1@dc2', frozen: true, expected_version: 1, reason: 'failback' });
    expect(frozen.error).toBeUndefined();
    expect(frozen.reply.group).toMatchObject({ epoch: 2, leader: 'broker-a/1@dc2', frozen: true, version: 2 });
    expect(frozen.reply.audit).toMatchObject({ action: 'group-freeze', target: 'broker-a' });
    await call('RestoreRoom', { room: 'dc1', by: 'ops' });
    const back = await set({ epoch: 3, leader: 'broker-a/0@dc1', expected_version: 2 });
    expect(back.reply.status.code).toBe(V2_CODE.OK);
    expect(back.reply.audit).toMatchObject({ action: 'group-failback' });
    const audit = await call('ListAudit', { limit: 2 });
    expect(audit.reply.entries.map((e: any) => e.action)).toEqual(['group-failback', 'room-restore']);
  });
});
