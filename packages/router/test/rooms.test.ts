import { afterEach, describe, expect, it } from 'vitest';
import { V2_CODE } from '@roomq/protocol';
import { MemoryControlStore } from '../src/index.js';
import { admin, asClient, cleanup, FakeBroker, messaging, routes, startRouter, unary, waitFor } from './helpers.js';

afterEach(cleanup);

/** Router dc1 with broker-a (master in dc1) and broker-b (master in dc2) heartbeating to it. */
async function twoRoomCluster(options: { heartbeatMs?: number } = {}) {
  const heartbeatMs = options.heartbeatMs ?? 50;
  const r = await startRouter({ store: new MemoryControlStore(), heartbeatIntervalMs: heartbeatMs, brokerTimeoutMs: heartbeatMs * 8 });
  const a = new FakeBroker(r.target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911' });
  const b = new FakeBroker(r.target, { name: 'broker-b/0@dc2', group: 'broker-b', room: 'dc2', endpoint: '127.0.0.1:10921' });
  await a.run(heartbeatMs);
  await b.run(heartbeatMs);
  return { ...r, a, b };
}

const getRoute = (target: string, topic: string, clientId: string) => unary(routes(target), 'GetRoute', { topic }, asClient(clientId));
const writable = (reply: any) => [...new Set((reply.queues ?? []).filter((q: any) => q.writable).map((q: any) => q.broker_name))];

describe('room-aware GetRoute', () => {
  it('active-active: producers in dc1 write to dc1 masters, producers in dc2 to dc2 masters', async () => {
    const { target } = await twoRoomCluster();
    const created = await unary(admin(target), 'CreateTopic', { name: 'orders', queues_per_broker: 2, mode: 'active-active' });
    expect(created.topic).toMatchObject({ name: 'orders', mode: 'active-active', version: 1 });

    const dc1 = await getRoute(target, 'orders', 'dc1@app@1@1');
    expect(dc1.status.code).toBe(V2_CODE.OK);
    expect(dc1).toMatchObject({ client_room: 'dc1', mode: 'active-active', preferred_room: 'dc1' });
    expect(dc1.spilled ?? false).toBe(false);
    expect(dc1.version).toBeGreaterThan(0);
    expect(writable(dc1)).toEqual(['broker-a/0@dc1']);
    expect(dc1.queues).toHaveLength(4);
    expect(dc1.queues.every((q: any) => q.readable)).toBe(true);
    expect(dc1.queues[2]).toEqual({
      topic: 'orders',
      queue_id: 0,
      broker_group: 'broker-b',
      broker_name: 'broker-b/0@dc2',
      room: 'dc2',
      endpoint: '127.0.0.1:10921',
      writable: false,
      readable: true,
      epoch: 1,
    });

    const dc2 = await getRoute(target, 'orders', 'dc2@app@1@1');
    expect(dc2).toMatchObject({ client_room: 'dc2', preferred_room: 'dc2' });
    expect(writable(dc2)).toEqual(['broker-b/0@dc2']);
  });

  it('home:dc1: producers in dc2 write to dc1 masters', async () => {
    const { target } = await twoRoomCluster();
    await unary(admin(target), 'CreateTopic', { name: 'ledger', mode: 'home:dc1' });
    const dc2 = await getRoute(target, 'ledger', 'dc2@app@1@1');
    expect(dc2).toMatchObject({ client_room: 'dc2', mode: 'home:dc1', preferred_room: 'dc1' });
    expect(writable(dc2)).toEqual(['broker-a/0@dc1']);
  });

  it('spills to the other room while the preferred room has no writable master, and comes back', async () => {
    const { target, router, b } = await twoRoomCluster();
    await unary(admin(target), 'CreateTopic', { name: 'orders', mode: 'active-active' });
    const before = await getRoute(target, 'orders', 'dc2@app@1@1');

    b.state = { ...b.state, writable: false };
    await b.beat();
    const spilled = await getRoute(target, 'orders', 'dc2@app@1@1');
    expect(spilled).toMatchObject({ client_room: 'dc2', preferred_room: 'dc2', spilled: true });
    expect(writable(spilled)).toEqual(['broker-a/0@dc1']);
    expect(spilled.version).toBeGreaterThan(before.version);
    expect(router.spillStats()).toMatchObject({ spillTransitions: 1, spillingNow: 1 });

    b.state = { ...b.state, writable: true };
    await b.beat();
    const back = await getRoute(target, 'orders', 'dc2@app@1@1');
    expect(back.spilled ?? false).toBe(false);
    expect(writable(back)).toEqual(['broker-b/0@dc2']);
    expect(router.spillStats()).toMatchObject({ spillTransitions: 1, spillingNow: 0 });
  });

  it('spills when the preferred room loses its master altogether', async () => {
    const { target, b } = await twoRoomCluster();
    await unary(admin(target), 'CreateTopic', { name: 'orders', mode: 'active-active' });
    b.stop();
    await waitFor(async () => (await getRoute(target, 'orders', 'dc2@app@1@1')).spilled === true, 'dc2 producers to spill');
    const reply = await getRoute(target, 'orders', 'dc2@app@1@1');
    expect(writable(reply)).toEqual(['broker-a/0@dc1']);
    expect(reply.queues.map((q: any) => q.room)).toEqual(['dc1', 'dc1', 'dc1', 'dc1']);
  });

  it("places clients without a room in their ID by IP range, else in the router's room", async () => {
    const { target } = await startRouter({ store: new MemoryControlStore(), roomByCidr: [{ cidr: '127.0.0.0/8', room: 'dc2' }] });
    await new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911' }).beat();
    await new FakeBroker(target, { name: 'broker-b/0@dc2', group: 'broker-b', room: 'dc2', endpoint: '127.0.0.1:10921' }).beat();
    await unary(admin(target), 'CreateTopic', { name: 'orders', mode: 'active-active' });
    expect((await getRoute(target, 'orders', 'somehost@1@1@abc')).client_room).toBe('dc2');
    expect((await getRoute(target, 'orders', 'dc1@app@1@1')).client_room).toBe('dc1');

    const plain = await startRouter({ store: new MemoryControlStore(), room: 'dc2' });
    await unary(admin(plain.target), 'CreateTopic', { name: 'orders', mode: 'active-active' });
    await new FakeBroker(plain.target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911' }).beat();
    expect((await getRoute(plain.target, 'orders', 'somehost@1@1@abc')).client_room).toBe('dc2');
  });

  it('creates topics in defaultTopicMode, home:<router room> unless configured', async () => {
    const { target } = await twoRoomCluster();
    const created = await unary(admin(target), 'CreateTopic', { name: 'plain' });
    expect(created.topic.mode).toBe('home:dc1');
    const aa = await startRouter({ store: new MemoryControlStore(), autoCreateTopics: true, defaultTopicMode: 'active-active' });
    await new FakeBroker(aa.target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911' }).beat();
    expect((await getRoute(aa.target, 'auto', 'dc1@app@1@1')).mode).toBe('active-active');
    const bad = await unary(admin(target), 'CreateTopic', { name: 'x', mode: 'home:' });
    expect(bad.status.message).toMatch(/topic mode "home:" names an invalid room/);
    const conflict = await unary(admin(target), 'CreateTopic', { name: 'plain', mode: 'active-active' });
    expect(conflict.status.message).toMatch(/already exists in mode home:dc1, not active-active/);
  });
});

describe('room-aware v2 QueryRoute', () => {
  const queryRoute = (target: string, topic: string, clientId: string) => unary(messaging(target), 'QueryRoute', { topic: { name: topic } }, asClient(clientId));
  const permissions = (reply: any) => reply.message_queues.map((q: any) => `${q.broker.name}#${q.id}:${q.permission}`);

  it('gives RocketMQ clients READ_WRITE queues in their room only', async () => {
    const { target } = await twoRoomCluster();
    await unary(admin(target), 'CreateTopic', { name: 'orders', queues_per_broker: 1, mode: 'active-active' });
    expect(permissions(await queryRoute(target, 'orders', 'dc2@host@1@1'))).toEqual(['broker-a#0:READ', 'broker-b#0:READ_WRITE']);
    // The official client's ID starts with its host name: placed in the router's room.
    expect(permissions(await queryRoute(target, 'orders', 'myhost@1@1@lz0'))).toEqual(['broker-a#0:READ_WRITE', 'broker-b#0:READ']);
  });
});
