/**
 * Topic migration: the pure rules (routes by producer group, switch rooms, read caps), and the store contract of
 * migration records (compare-and-set, atomic mode change, audit, seen by a second router) on memory, file and Redis.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlStore, MigrationChange, TopicConfig, TopicMigration } from '../src/control-store.js';
import { FileControlStore } from '../src/file-control-store.js';
import { MemoryControlStore } from '../src/memory-control-store.js';
import { RedisControlStore } from '../src/redis-control-store.js';
import { consumerCaps, phaseOf, producerMode, switchRooms } from '../src/topic-migration.js';
import { cleanup, onCleanup, redisNamespace, tempDir, TEST_REDIS_URL, waitFor } from './control-store-fixtures.js';

afterEach(cleanup);

const topic: TopicConfig = { name: 'orders', queuesPerBroker: 2, mode: { kind: 'home', room: 'dc1' }, createdAtMs: 1, version: 1 };
const base: TopicMigration = {
  topic: 'orders',
  from: 'home:dc1',
  to: 'active-active',
  phase: 'draining',
  paused: false,
  rollingBack: false,
  groups: ['app-a'],
  movedGroups: ['app-a'],
  switchSeq: 1,
  gates: [
    {
      seq: 1,
      cappedRooms: ['dc2'],
      caps: [{ broker: 'broker-b', queueId: 0, offset: 7, room: 'dc2' }],
      barrierRooms: ['dc1'],
      barrier: [{ broker: 'broker-a', queueId: 0, offset: 100, room: 'dc1' }],
      released: [],
      openedAtMs: 1,
    },
  ],
  version: 3,
  startedAtMs: 1,
  changedAtMs: 1,
  changedBy: 'ops',
  reason: '',
};

describe('migration rules', () => {
  it('routes admitted producer groups by the new mode, others (and producers without a group) by the old one', () => {
    expect(producerMode(topic, base, 'app-a')).toEqual({ mode: { kind: 'active-active' }, migrationVersion: 1 });
    expect(producerMode(topic, base, 'app-b')).toEqual({ mode: { kind: 'home', room: 'dc1' }, migrationVersion: 1 });
    expect(producerMode(topic, base, undefined).mode).toEqual({ kind: 'home', room: 'dc1' });
    expect(producerMode(topic, { ...base, movedGroups: ['*'] }, undefined).mode).toEqual({ kind: 'active-active' });
    expect(producerMode(topic, { ...base, phase: 'done' }, 'app-a')).toEqual({ mode: topic.mode, migrationVersion: 0 });
  });

  it('a switch caps the rooms producers move into and drains the rooms they leave', () => {
    expect(switchRooms({ kind: 'home', room: 'dc1' }, { kind: 'active-active' }, ['dc1', 'dc2'])).toEqual({ cappedRooms: ['dc2'], barrierRooms: ['dc1'] });
    expect(switchRooms({ kind: 'active-active' }, { kind: 'home', room: 'dc1' }, ['dc1', 'dc2'])).toEqual({ cappedRooms: ['dc1'], barrierRooms: ['dc2'] });
    expect(switchRooms({ kind: 'home', room: 'dc1' }, { kind: 'home', room: 'dc2' }, ['dc1', 'dc2'])).toEqual({ cappedRooms: ['dc2'], barrierRooms: ['dc1'] });
  });

  it('a consumer group reads capped queues only below the smallest cap of the gates that hold it', () => {
    const second = { ...base.gates[0]!, seq: 2, caps: [{ broker: 'broker-b', queueId: 0, offset: 50, room: 'dc2' }], released: [] };
    const m = { ...base, gates: [base.gates[0]!, second] };
    expect(consumerCaps(m, 'cg')).toEqual(new Map([['broker-b#0', 7]]));
    expect(consumerCaps({ ...m, gates: [{ ...base.gates[0]!, released: ['cg'] }, second] }, 'cg')).toEqual(new Map([['broker-b#0', 50]]));
    expect(consumerCaps({ ...m, phase: 'done' }, 'cg').size).toBe(0);
  });

  it('derives the phase from the gates', () => {
    expect(phaseOf({ ...base, switchSeq: 0, gates: [] })).toBe('preparing');
    expect(phaseOf({ ...base, gates: [{ ...base.gates[0]!, barrier: undefined }] })).toBe('moving-producers');
    expect(phaseOf(base)).toBe('draining');
  });
});

type Backend = () => Promise<() => ControlStore>;
const backends: Array<[string, Backend]> = [
  ['memory', async () => {
    const shared = new MemoryControlStore();
    return () => shared;
  }],
  ['file', async () => {
    const path = join(await tempDir(), 'control.json');
    return () => new FileControlStore({ path });
  }],
  ['redis', async () => {
    const keyPrefix = await redisNamespace();
    return () => new RedisControlStore({ url: TEST_REDIS_URL, keyPrefix });
  }],
];

describe.each(backends)('migration records on the %s store', (_name, backend) => {
  async function opened(make: () => ControlStore): Promise<ControlStore> {
    const store = make();
    await store.open();
    onCleanup(() => store.close());
    return store;
  }

  const change = (expectedVersion: number, next: Partial<TopicMigration> = {}): MigrationChange => {
    const { version: _v, changedAtMs: _c, changedBy: _b, reason: _r, ...rest } = base;
    return { topic: 'orders', expectedVersion, next: { ...rest, ...next }, audit: { by: 'ops', action: 'migration-test', reason: 'why' } };
  };

  it('compare-and-sets the record, flips the mode atomically with it, audits each step, and another router sees it', async () => {
    const make = await backend();
    const a = await opened(make);
    const b = await opened(make);
    await a.createTopicIfAbsent({ name: 'orders', queuesPerBroker: 2, mode: { kind: 'home', room: 'dc1' }, createdAtMs: 1 });
    const first = await a.applyMigration(change(0, { phase: 'preparing', switchSeq: 0, gates: [] }));
    expect(first.migration).toMatchObject({ version: 1, phase: 'preparing', changedBy: 'ops' });
    expect(first.audit).toMatchObject({ action: 'migration-test', target: 'orders', version: 1 });
    await expect(b.applyMigration(change(0))).rejects.toMatchObject({ code: 'VERSION_CONFLICT', details: { record: 'migration', currentVersion: 1 } });
    const second = await a.applyMigration(change(1));
    expect(second.migration.gates[0]!.barrier).toEqual(base.gates[0]!.barrier);
    await waitFor('the other router to see the migration', async () => (await b.getMigration('orders'))?.version === 2);
    expect(await b.getMigration('orders')).toEqual(second.migration);

    const done = await b.applyMigration({ ...change(2, { phase: 'done', gates: [] }), topicMode: { mode: { kind: 'active-active' }, expectedVersion: 1 } });
    expect(done.topic).toMatchObject({ mode: { kind: 'active-active' }, version: 2 });
    await expect(a.applyMigration({ ...change(3), topicMode: { mode: { kind: 'active-active' }, expectedVersion: 1 } })).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    await waitFor('the mode to reach the other router', async () => (await a.getTopic('orders'))?.mode.kind === 'active-active');
    expect((await a.getMigration('orders'))?.version).toBe(3);
    expect((await a.listAudit(10)).filter((e) => e.target === 'orders').map((e) => e.version)).toEqual([3, 2, 1]);
    expect(await a.listMigrations()).toHaveLength(1);
  });
});
