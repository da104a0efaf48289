/**
 * The ControlStore contract, run against every implementation. "Two instances on one backend" are two routers
 * sharing state: the same MemoryControlStore, two FileControlStores on one file, two RedisControlStores with one
 * key prefix.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomqError } from '@roomq/protocol';
import type { ControlChange, ControlStore, GroupMember, NewTopic } from '../src/control-store.js';
import { FileControlStore } from '../src/file-control-store.js';
import { MemoryControlStore } from '../src/memory-control-store.js';
import { RedisControlStore } from '../src/redis-control-store.js';
import { cleanup, onCleanup, redisNamespace, tempDir, TEST_REDIS_URL, waitFor } from './control-store-fixtures.js';

afterEach(cleanup);

/** Makes stores on one fresh backend; every call is another router's view of the same state. */
type Backend = () => Promise<() => ControlStore>;

const memory: Backend = async () => {
  const shared = new MemoryControlStore();
  return () => shared;
};
const file: Backend = async () => {
  const path = join(await tempDir(), 'control.json');
  return () => new FileControlStore({ path, legacyHomeRoom: 'dc1' });
};
const redis: Backend = async () => {
  const keyPrefix = await redisNamespace();
  return () => new RedisControlStore({ url: TEST_REDIS_URL, keyPrefix });
};

const topic = (name: string, queuesPerBroker = 4, room = 'dc1'): NewTopic => ({ name, queuesPerBroker, mode: { kind: 'home', room }, createdAtMs: 1_700_000_000_000 });
const stored = (name: string, queuesPerBroker = 4, room = 'dc1') => ({ ...topic(name, queuesPerBroker, room), version: 1 });
const member = (clientId: string, router: string, lastSeenMs = Date.now()): GroupMember => ({ clientId, room: clientId.split('@')[0]!, router, lastSeenMs });

async function opened(make: () => ControlStore): Promise<ControlStore> {
  const store = make();
  await store.open();
  onCleanup(() => store.close());
  return store;
}

function recorder(store: ControlStore): ControlChange[] {
  const seen: ControlChange[] = [];
  onCleanup(store.onChange((change) => seen.push(change)));
  return seen;
}

describe.each([
  ['memory', memory],
  ['file', file],
  ['redis', redis],
] as const)('%s control store', (kind, backend) => {
  it('creates a topic once and returns the stored one afterwards', async () => {
    const store = await opened(await backend());
    expect(await store.createTopicIfAbsent(topic('a', 4))).toEqual({ created: true, topic: stored('a', 4) });
    expect(await store.createTopicIfAbsent({ ...topic('a', 9, 'dc2'), createdAtMs: 5 })).toEqual({ created: false, topic: stored('a', 4) });
    await store.createTopicIfAbsent({ ...topic('0-first'), mode: { kind: 'active-active' } });
    expect((await store.listTopics()).map((t) => t.name)).toEqual(['0-first', 'a']);
    expect((await store.getTopic('0-first'))?.mode).toEqual({ kind: 'active-active' });
    expect(await store.getTopic('a')).toEqual(stored('a', 4));
    expect(await store.getTopic('nope')).toBeUndefined();
  });

  it('lets exactly one of many concurrent creators on two instances win', async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).createTopicIfAbsent(topic('race', i + 1))));
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    const winner = outcomes.find((o) => o.created)!.topic;
    expect(outcomes.every((o) => o.topic.queuesPerBroker === winner.queuesPerBroker && o.topic.version === 1)).toBe(true);
    await waitFor('both instances to hold the winner', async () => (await a.getTopic('race'))?.queuesPerBroker === winner.queuesPerBroker && (await b.getTopic('race'))?.queuesPerBroker === winner.queuesPerBroker);
  });

  it('finds a topic another instance created a moment ago with lookupTopic, before any notification', async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    await b.listTopics(); // b's cache is loaded and does not hold the topic yet
    await a.createTopicIfAbsent(topic('fresh'));
    expect(await b.lookupTopic('fresh')).toEqual(stored('fresh'));
    expect(await b.lookupTopic('never-created')).toBeUndefined();
  });

  it('loses no change when two instances write different topics at once', async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).createTopicIfAbsent(topic(`t${String(i).padStart(2, '0')}`))));
    const reopened = await opened(make);
    expect((await reopened.listTopics()).map((t) => t.name)).toEqual(Array.from({ length: 30 }, (_, i) => `t${String(i).padStart(2, '0')}`));
  });

  it('changes a mode by compare-and-set on the version', async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    await a.createTopicIfAbsent(topic('orders'));
    const moved = await a.setTopicMode('orders', { kind: 'active-active' }, 1);
    expect(moved).toEqual({ ...stored('orders'), mode: { kind: 'active-active' }, version: 2 });
    // b may not have heard of version 2 yet: its stale write must still be refused.
    const stale = await b.setTopicMode('orders', { kind: 'home', room: 'dc2' }, 1).catch((err: unknown) => err);
    expect(stale).toBeInstanceOf(RoomqError);
    expect(stale).toMatchObject({ code: 'VERSION_CONFLICT', details: { topic: 'orders', currentVersion: 2 } });
    expect(await b.setTopicMode('orders', { kind: 'home', room: 'dc2' }, 2)).toMatchObject({ mode: { kind: 'home', room: 'dc2' }, version: 3 });
    await expect(a.setTopicMode('missing', { kind: 'active-active' }, 1)).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND' });
  });

  it("tells another instance about a change within a second, and serves it from there", async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    const heardByA = recorder(a);
    const heardByB = recorder(b);
    await a.createTopicIfAbsent(topic('news'));
    expect(heardByA).toContainEqual({ kind: 'topic', topic: 'news' });
    await waitFor('b to hear of the new topic', () => heardByB.some((c) => c.kind === 'topic' && c.topic === 'news'), 1000);
    expect(await b.getTopic('news')).toEqual(stored('news'));

    await a.setTopicMode('news', { kind: 'active-active' }, 1);
    await waitFor('b to see the new mode', async () => (await b.getTopic('news'))?.version === 2, 1000);
    expect((await b.getTopic('news'))?.mode).toEqual({ kind: 'active-active' });
  });

  it('lists routers seen within maxAgeMs', async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    const heardByB = recorder(b);
    const now = Date.now();
    await a.heartbeatRouter({ name: 'router-dc1', room: 'dc1', endpoint: '127.0.0.1:9876', lastSeenMs: now });
    await a.heartbeatRouter({ name: 'router-old', room: 'dc1', endpoint: '127.0.0.1:9877', lastSeenMs: now - 60_000 });
    await b.heartbeatRouter({ name: 'router-dc2', room: 'dc2', endpoint: '127.0.0.1:9878', lastSeenMs: now });
    await waitFor('b to hear of a new router', () => heardByB.some((c) => c.kind === 'routers'), 1000);
    await waitFor('both to list both live routers', async () => {
      const [fromA, fromB] = [await a.listRouters(5000), await b.listRouters(5000)];
      return [fromA, fromB].every((list) => list.map((r) => r.name).join() === 'router-dc1,router-dc2');
    });
    expect((await b.listRouters(120_000)).map((r) => r.name)).toEqual(['router-dc1', 'router-dc2', 'router-old']);
    expect((await a.listRouters(5000))[1]).toEqual({ name: 'router-dc2', room: 'dc2', endpoint: '127.0.0.1:9878', lastSeenMs: now });
  });

  it("combines every router's members and replaces only the reporting router's", async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    const heardByA = recorder(a);
    const heardByB = recorder(b);
    await a.publishMembers('r1', 'billing', [member('dc1@h@1@1', 'r1'), member('dc1@h@2@1', 'r1')]);
    expect(heardByA).toContainEqual({ kind: 'members', group: 'billing' });
    await b.publishMembers('r2', 'billing', [member('dc2@h@3@1', 'r2')]);
    await b.publishMembers('r2', 'other', [member('dc2@h@9@1', 'r2')]);
    const ids = async (store: ControlStore, group = 'billing') => (await store.listMembers(group, 5000)).map((m) => m.clientId).join();
    await waitFor('both to list the members of both routers', async () => (await ids(a)) === 'dc1@h@1@1,dc1@h@2@1,dc2@h@3@1' && (await ids(b)) === 'dc1@h@1@1,dc1@h@2@1,dc2@h@3@1');
    await waitFor('a to list the members of another group', async () => (await ids(a, 'other')) === 'dc2@h@9@1');

    heardByB.length = 0;
    await a.publishMembers('r1', 'billing', [member('dc1@h@2@1', 'r1')]);
    await waitFor("b to hear that r1's members changed", () => heardByB.some((c) => c.kind === 'members' && c.group === 'billing'), 1000);
    expect(await ids(b)).toBe('dc1@h@2@1,dc2@h@3@1');

    heardByA.length = 0;
    await a.publishMembers('r1', 'billing', [member('dc1@h@2@1', 'r1', Date.now() + 1)]);
    expect(heardByA.filter((c) => c.kind === 'members')).toEqual([]);

    await a.publishMembers('r1', 'billing', []);
    await waitFor('b to drop the members of r1', async () => (await ids(b)) === 'dc2@h@3@1');
    const stale = member('dc1@h@7@1', 'r1', Date.now() - 60_000);
    await a.publishMembers('r1', 'billing', [stale]);
    expect(await ids(a)).toBe('dc2@h@3@1');
    await waitFor('the stale member to show with a longer maxAgeMs', async () => (await a.listMembers('billing', 120_000)).some((m) => m.clientId === stale.clientId));
  });

  it('keeps the state across close and open', async () => {
    const make = await backend();
    const first = make();
    await first.open();
    await first.createTopicIfAbsent(topic('durable', 6));
    await first.setTopicMode('durable', { kind: 'home', room: 'dc2' }, 1);
    await first.close();
    await first.close();
    const again = await opened(make);
    expect(await again.getTopic('durable')).toEqual({ ...stored('durable', 6), mode: { kind: 'home', room: 'dc2' }, version: 2 });
    if (kind !== 'memory') {
      await first.open();
      expect((await first.getTopic('durable'))?.version).toBe(2);
      await first.close();
    }
  });

  it('applies room and group changes atomically by compare-and-set, with one audit entry', async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    const heardByA = recorder(a);
    const heardByB = recorder(b);
    expect(await a.listRooms()).toEqual([]);
    expect(await a.listGroups()).toEqual([]);
    expect(await a.listAudit(10)).toEqual([]);

    const cut = await a.applyControl({
      rooms: [{ room: 'dc1', status: 'cut', expectedVersion: 0 }],
      groups: [{ group: 'broker-a', epoch: 2, leader: 'broker-a/1@dc2', frozen: false, expectedVersion: 0 }],
      audit: { by: 'ops@host', action: 'room-cut', target: 'dc1', reason: 'power loss', details: { moved: ['broker-a'], nested: { empty: {}, list: [] } } },
    });
    expect(cut.rooms).toEqual([{ room: 'dc1', status: 'cut', version: 1, changedAtMs: expect.any(Number), changedBy: 'ops@host', reason: 'power loss' }]);
    expect(cut.groups).toEqual([
      { group: 'broker-a', epoch: 2, leader: 'broker-a/1@dc2', frozen: false, version: 1, changedAtMs: cut.rooms[0]!.changedAtMs, changedBy: 'ops@host', reason: 'power loss' },
    ]);
    expect(cut.audit).toEqual({
      seq: 1,
      atMs: cut.rooms[0]!.changedAtMs,
      by: 'ops@host',
      action: 'room-cut',
      target: 'dc1',
      reason: 'power loss',
      version: 1,
      details: { moved: ['broker-a'], nested: { empty: {}, list: [] } },
    });
    expect(heardByA).toContainEqual({ kind: 'rooms' });
    expect(heardByA).toContainEqual({ kind: 'groups', group: 'broker-a' });
    await waitFor('b to hear of the cut', () => heardByB.some((c) => c.kind === 'rooms') && heardByB.some((c) => c.kind === 'groups' && c.group === 'broker-a'), 1000);
    expect(await b.listRooms()).toEqual(cut.rooms);
    expect(await b.listGroups()).toEqual(cut.groups);
    await waitFor('b to list the audit entry', async () => (await b.listAudit(5)).length === 1);
    expect(await b.listAudit(5)).toEqual([cut.audit]);

    // b's stale expectation on the group fails the whole change: the room stays cut, no audit entry is added.
    const stale = await b
      .applyControl({
        rooms: [{ room: 'dc1', status: 'active', expectedVersion: 1 }],
        groups: [{ group: 'broker-a', epoch: 3, leader: 'broker-a/0@dc1', frozen: false, expectedVersion: 0 }],
        audit: { by: 'ops@host', action: 'room-restore', target: 'dc1', reason: '' },
      })
      .catch((err: unknown) => err);
    expect(stale).toBeInstanceOf(RoomqError);
    expect(stale).toMatchObject({ code: 'VERSION_CONFLICT', details: { record: 'group', name: 'broker-a', currentVersion: 1 } });
    expect((await a.listRooms())[0]).toMatchObject({ status: 'cut', version: 1 });
    expect((await b.listRooms())[0]).toMatchObject({ status: 'cut', version: 1 });
    expect(await a.listAudit(10)).toHaveLength(1);

    const restored = await b.applyControl({ rooms: [{ room: 'dc1', status: 'active', expectedVersion: 1 }], audit: { by: 'ops2', action: 'room-restore', target: 'dc1', reason: 'back' } });
    expect(restored.audit).toMatchObject({ seq: 2, version: 2, details: {} });
    await waitFor('a to see the restore', async () => (await a.listRooms())[0]?.status === 'active');
    expect((await a.listAudit(10)).map((e) => e.action)).toEqual(['room-restore', 'room-cut']);
    expect((await a.listAudit(1)).map((e) => e.seq)).toEqual([2]);
    expect(await a.listAudit(0)).toEqual([]);
    // A record that exists cannot be created again.
    await expect(a.applyControl({ rooms: [{ room: 'dc1', status: 'cut', expectedVersion: 0 }], audit: { by: 'x', action: 'room-cut', target: 'dc1', reason: '' } })).rejects.toMatchObject({
      code: 'VERSION_CONFLICT',
      details: { record: 'room', name: 'dc1', currentVersion: 2 },
    });
  });

  it('lets exactly one of many concurrent transitions on the same version win', async () => {
    const make = await backend();
    const [a, b] = [await opened(make), await opened(make)];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).applyControl({
          groups: [{ group: 'g', epoch: 2, leader: `m${i}`, frozen: false, expectedVersion: 0 }],
          audit: { by: `r${i}`, action: 'group-failback', target: 'g', reason: '' },
        }),
      ),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'VERSION_CONFLICT' });
    const winner = (won[0] as PromiseFulfilledResult<{ groups: Array<{ leader: string }> }>).value.groups[0]!.leader;
    const reopened = await opened(make);
    expect((await reopened.listGroups()).map((g) => g.leader)).toEqual([winner]);
    expect(await reopened.listAudit(100)).toHaveLength(1);
  });

  it('refuses a malformed transition and changes nothing', async () => {
    const store = await opened(await backend());
    await expect(
      store.applyControl({
        rooms: [
          { room: 'dc1', status: 'cut', expectedVersion: 0 },
          { room: 'dc1', status: 'active', expectedVersion: 0 },
        ],
        audit: { by: 'x', action: 'room-cut', target: 'dc1', reason: '' },
      }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(store.applyControl({ groups: [{ group: 'g', epoch: 0, leader: 'm', frozen: false, expectedVersion: 0 }], audit: { by: 'x', action: 'a', target: 'g', reason: '' } })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await store.listRooms()).toEqual([]);
    expect(await store.listAudit(10)).toEqual([]);
  });

  it('keeps rooms, groups and the audit log across close and open', async () => {
    const make = await backend();
    const first = make();
    await first.open();
    await first.applyControl({
      rooms: [{ room: 'dc2', status: 'cut', expectedVersion: 0 }],
      groups: [{ group: 'broker-b', epoch: 2, leader: 'broker-b/1@dc1', frozen: true, expectedVersion: 0 }],
      audit: { by: 'ops', action: 'room-cut', target: 'dc2', reason: 'drill' },
    });
    await first.close();
    const again = await opened(make);
    expect(await again.listRooms()).toMatchObject([{ room: 'dc2', status: 'cut', version: 1, changedBy: 'ops', reason: 'drill' }]);
    expect(await again.listGroups()).toMatchObject([{ group: 'broker-b', epoch: 2, leader: 'broker-b/1@dc1', frozen: true, version: 1 }]);
    expect(await again.listAudit(10)).toMatchObject([{ seq: 1, action: 'room-cut', target: 'dc2' }]);
  });

  it('refuses use before open', async () => {
    const store = (await backend())();
    await expect(store.listTopics()).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(store.createTopicIfAbsent(topic('x'))).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(store.listRooms()).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(store.applyControl({ audit: { by: 'x', action: 'a', target: 't', reason: '' } })).rejects.toMatchObject({ code: 'CLOSED' });
    expect(store.health()).toEqual({ state: 'healthy' });
  });
});
