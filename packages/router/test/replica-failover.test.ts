import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { fromWireStatus, V2_CODE } from '@roomq/protocol';
import { MemoryControlStore } from '../src/index.js';
import { admin, asClient, cleanup, FakeBroker, messaging, routes, startRouter, unary, waitFor, watch } from './helpers.js';

afterEach(cleanup);

const BEAT_MS = 50;
/**
 * A broker is dead after this long without a beat. Generous against BEAT_MS: the tests below assert that a live
 * replica keeps serving, and with the whole suite loading both cores a test process can stall for 400 ms.
 */
const BROKER_TIMEOUT_MS = BEAT_MS * 20;

/**
 * Router dc1; broker-a is a chain master dc1 → slave dc1 (far behind) → slave dc2 (caught up); broker-b is a lone
 * master in dc2. Topic `orders` is active-active with 2 queues per group.
 */
async function chainCluster() {
  const r = await startRouter({ store: new MemoryControlStore(), heartbeatIntervalMs: BEAT_MS, brokerTimeoutMs: BROKER_TIMEOUT_MS });
  const a0 = new FakeBroker(r.target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911', flushedOffset: 1000 });
  const a1 = new FakeBroker(r.target, { name: 'broker-a/1@dc1', group: 'broker-a', room: 'dc1', role: 'slave', writable: false, endpoint: '127.0.0.1:10912', flushedOffset: 400 });
  const a2 = new FakeBroker(r.target, { name: 'broker-a/2@dc2', group: 'broker-a', room: 'dc2', role: 'slave', writable: false, endpoint: '127.0.0.1:10913', flushedOffset: 1000 });
  const b0 = new FakeBroker(r.target, { name: 'broker-b/0@dc2', group: 'broker-b', room: 'dc2', endpoint: '127.0.0.1:10921', flushedOffset: 5000 });
  for (const broker of [a0, a1, a2, b0]) await broker.run(BEAT_MS);
  await unary(admin(r.target), 'CreateTopic', { name: 'orders', queues_per_broker: 2, mode: 'active-active' });
  return { ...r, a0, a1, a2, b0 };
}

const getRoute = async (target: string, clientId = 'dc1@app@1@1') => {
  const reply = await unary(routes(target), 'GetRoute', { topic: 'orders' }, asClient(clientId));
  expect(reply.status.code, reply.status.message).toBe(V2_CODE.OK);
  return reply;
};
/** broker group → `instance rw|r` as GetRoute lists it. */
const servers = (reply: any) =>
  Object.fromEntries((reply.queues ?? []).map((q: any) => [q.broker_group, `${q.broker_name} ${q.writable ? 'rw' : 'r'}`]));
const servedBy = async (target: string, group: string, clientId?: string) => servers(await getRoute(target, clientId))[group];

describe('replica reads', () => {
  it("routes a dead master's queues to its most caught-up replica for reading only, and back when the master returns", async () => {
    const { target, a0 } = await chainCluster();
    expect(servers(await getRoute(target))).toEqual({ 'broker-a': 'broker-a/0@dc1 rw', 'broker-b': 'broker-b/0@dc2 r' });
    const w = watch(target, { client_id: 'dc1@app@1@1', topics: ['orders'] });
    await waitFor(() => w.events.length > 0, 'hello');
    const hello = w.events[0];

    a0.stop();
    await waitFor(async () => (await servedBy(target, 'broker-a')) === 'broker-a/2@dc2 r', 'broker-a to be read from its caught-up replica');
    const failedOver = await getRoute(target);
    // The replica in dc2 wins over the one in the client's room: it holds 1000 bytes, the other 400.
    expect(failedOver.queues.filter((q: any) => q.broker_group === 'broker-a')).toEqual([
      { topic: 'orders', queue_id: 0, broker_group: 'broker-a', broker_name: 'broker-a/2@dc2', room: 'dc2', endpoint: '127.0.0.1:10913', writable: false, readable: true, epoch: 1 },
      { topic: 'orders', queue_id: 1, broker_group: 'broker-a', broker_name: 'broker-a/2@dc2', room: 'dc2', endpoint: '127.0.0.1:10913', writable: false, readable: true, epoch: 1 },
    ]);
    // Producers of dc1 spill to broker-b: nothing routes writes to a replica.
    expect(failedOver).toMatchObject({ spilled: true, preferred_room: 'dc1' });
    expect(servers(failedOver)['broker-b']).toBe('broker-b/0@dc2 rw');
    await waitFor(() => w.events.some((e) => e.kind === 'route' && e.version > hello.version), 'a route event for the failover', 1000);

    // RocketMQ clients: the group keeps its name and broker id 0, READ only, at the replica's address.
    const v2 = await unary(messaging(target), 'QueryRoute', { topic: { name: 'orders' } }, asClient('dc1@app@1@1'));
    expect(v2.message_queues.map((q: any) => `${q.broker.name}/${q.broker.id}#${q.id}:${q.permission}@${q.broker.endpoints.addresses[0].port}`)).toEqual([
      'broker-a/0#0:READ@10913',
      'broker-a/0#1:READ@10913',
      'broker-b/0#0:READ_WRITE@10921',
      'broker-b/0#1:READ_WRITE@10921',
    ]);

    const beforeReturn = w.events.length;
    // Back, and already heard from the replica that served (the hold is tested below).
    a0.state = { ...a0.state, replication: ['broker-a/1@dc1', 'broker-a/2@dc2'] };
    await a0.run(BEAT_MS);
    expect(servers(await getRoute(target))).toEqual({ 'broker-a': 'broker-a/0@dc1 rw', 'broker-b': 'broker-b/0@dc2 r' });
    await waitFor(() => w.events.slice(beforeReturn).some((e) => e.kind === 'route'), 'a route event for the return', 1000);
  });

  it('moves reads to a replica that overtakes the serving one, with a route event, and prefers the client room on a tie', async () => {
    const { target, a0, a1 } = await chainCluster();
    a0.stop();
    await waitFor(async () => (await servedBy(target, 'broker-a')) === 'broker-a/2@dc2 r', 'broker-a to be read from broker-a/2@dc2');
    const w = watch(target, { client_id: 'dc1@app@1@1', topics: ['orders'] });
    await waitFor(() => w.events.length > 0, 'hello');
    const hello = w.events[0];

    // A plain heartbeat (no status or identity change) with more progress.
    a1.state = { ...a1.state, flushedOffset: 1500 };
    await a1.beat();
    expect(await servedBy(target, 'broker-a')).toBe('broker-a/1@dc1 r');
    await waitFor(() => w.events.some((e) => e.kind === 'route' && e.version > hello.version), 'a route event for the new replica', 1000);

    // Equally caught up: each client reads from the replica in its own room.
    a1.state = { ...a1.state, flushedOffset: 1000 };
    await a1.beat();
    expect(await servedBy(target, 'broker-a', 'dc1@app@1@1')).toBe('broker-a/1@dc1 r');
    expect(await servedBy(target, 'broker-a', 'dc2@app@1@1')).toBe('broker-a/2@dc2 r');
  });

  it('drops the queues of a group with no live member, and answers UNAVAILABLE with no live broker at all', async () => {
    const { target, a0, a1, a2, b0 } = await chainCluster();
    a0.stop();
    a2.stop();
    await waitFor(async () => (await servedBy(target, 'broker-a')) === 'broker-a/1@dc1 r', 'broker-a to be read from the only replica left');
    a1.stop();
    await waitFor(async () => (await servedBy(target, 'broker-a')) === undefined, 'broker-a to leave the route');
    expect((await getRoute(target)).queues.map((q: any) => `${q.broker_group}#${q.queue_id}`)).toEqual(['broker-b#0', 'broker-b#1']);

    b0.stop();
    await waitFor(async () => (await unary(routes(target), 'GetRoute', { topic: 'orders' }, asClient('dc1@app@1@1'))).status.code !== V2_CODE.OK, 'no route');
    const none = await unary(routes(target), 'GetRoute', { topic: 'orders' }, asClient('dc1@app@1@1'));
    expect(fromWireStatus(none.status)?.code).toBe('UNAVAILABLE');
    expect(none.status.message).toContain('no live broker serves topic "orders"');
  });
});

describe('assignments with replica reads', () => {
  /** A consumer sending ClientHeartbeat every 200 ms until the test ends. */
  async function consumer(target: string, clientId: string): Promise<void> {
    const client = routes(target);
    const beat = () => unary(client, 'ClientHeartbeat', { client_id: clientId, consumers: [{ group: 'billing', topics: ['orders'] }] });
    await beat();
    const timer = setInterval(() => void beat().catch(() => undefined), 200);
    onTestFinished(() => clearInterval(timer));
  }

  const assigned = async (target: string, clientId: string) => {
    const reply = await unary(routes(target), 'GetAssignment', { topic: 'orders', group: 'billing' }, asClient(clientId));
    expect(reply.status.code, reply.status.message).toBe(V2_CODE.OK);
    return (reply.queues ?? []).map((q: any) => `${q.broker_group}#${q.queue_id}@${q.endpoint}`);
  };

  it("gives a dead master's queues, under the same identity, to the consumers of the room its serving replica is in", async () => {
    const { target, a0 } = await chainCluster();
    await consumer(target, 'dc1@c1@1@1');
    await consumer(target, 'dc2@c2@1@1');
    expect(await assigned(target, 'dc1@c1@1@1')).toEqual(['broker-a#0@127.0.0.1:10911', 'broker-a#1@127.0.0.1:10911']);
    expect(await assigned(target, 'dc2@c2@1@1')).toEqual(['broker-b#0@127.0.0.1:10921', 'broker-b#1@127.0.0.1:10921']);
    const w = watch(target, { client_id: 'dc1@c1@1@1', groups: ['billing'] });
    await waitFor(() => w.events.length > 0, 'hello');

    a0.stop();
    await waitFor(async () => (await assigned(target, 'dc1@c1@1@1')).length === 0, 'dc1 consumer to lose broker-a');
    expect(await assigned(target, 'dc2@c2@1@1')).toEqual([
      'broker-a#0@127.0.0.1:10913',
      'broker-a#1@127.0.0.1:10913',
      'broker-b#0@127.0.0.1:10921',
      'broker-b#1@127.0.0.1:10921',
    ]);
    await waitFor(() => w.events.some((e) => e.kind === 'assignment'), 'an assignment event for the failover', 1000);

    a0.state = { ...a0.state, replication: ['broker-a/1@dc1', 'broker-a/2@dc2'] };
    await a0.run(BEAT_MS);
    expect(await assigned(target, 'dc1@c1@1@1')).toEqual(['broker-a#0@127.0.0.1:10911', 'broker-a#1@127.0.0.1:10911']);
    expect(await assigned(target, 'dc2@c2@1@1')).toEqual(['broker-b#0@127.0.0.1:10921', 'broker-b#1@127.0.0.1:10921']);
  });
});

describe('reads after the master returns', () => {
  /** Master a0 down, a2 serving broker-a's reads; a Watch stream open from after the failover. */
  async function failedOver() {
    const cluster = await chainCluster();
    cluster.a0.stop();
    await waitFor(async () => (await servedBy(cluster.target, 'broker-a')) === 'broker-a/2@dc2 r', 'broker-a to be read from broker-a/2@dc2');
    const w = watch(cluster.target, { client_id: 'dc1@c1@1@1', topics: ['orders'], groups: ['billing'] });
    await waitFor(() => w.events.length > 0, 'hello');
    return { ...cluster, w };
  }

  const eventsAfter = (w: { events: any[] }, version: number) => w.events.filter((e) => e.kind !== 'hello' && e.version > version);

  it('keeps reads on the replica that served them until the master has heard from it, then moves them with route and assignment events', async () => {
    const { target, router, a0, w } = await failedOver();
    // The master lists its chain, but the replica that served has not reconnected yet.
    a0.state = { ...a0.state, replication: ['broker-a/1@dc1', 'broker-a/2@dc2:not connected'] };
    await a0.run(BEAT_MS);
    await a0.beat();
    await a0.beat();
    expect(router.brokers().find((b) => b.state.name === 'broker-a/0@dc1')?.alive).toBe(true);
    // Every client reads from the replica, the one in dc1's room too; dc1's producers keep spilling meanwhile.
    expect(servers(await getRoute(target))).toEqual({ 'broker-a': 'broker-a/2@dc2 r', 'broker-b': 'broker-b/0@dc2 rw' });
    expect(await servedBy(target, 'broker-a', 'dc2@app@1@1')).toBe('broker-a/2@dc2 r');

    const beforeReport = router.routeVersion;
    a0.state = { ...a0.state, replication: ['broker-a/1@dc1', 'broker-a/2@dc2'] };
    await a0.beat();
    expect(servers(await getRoute(target))).toEqual({ 'broker-a': 'broker-a/0@dc1 rw', 'broker-b': 'broker-b/0@dc2 r' });
    expect(router.routeVersion).toBeGreaterThan(beforeReport);
    await waitFor(() => eventsAfter(w, beforeReport).some((e) => e.kind === 'route'), 'a route event for the return', 1000);
    await waitFor(() => eventsAfter(w, beforeReport).some((e) => e.kind === 'assignment'), 'an assignment event for the return', 1000);
  });

  it('gives reads back to the master at once when the held replica dies, not to another replica', async () => {
    const { target, router, a0, a2 } = await failedOver();
    await a0.run(BEAT_MS);
    expect(await servedBy(target, 'broker-a')).toBe('broker-a/2@dc2 r');

    const beforeDeath = router.routeVersion;
    a2.stop();
    const seen = new Set<string>();
    await waitFor(async () => {
      const server = await servedBy(target, 'broker-a');
      seen.add(server);
      return server === 'broker-a/0@dc1 rw';
    }, 'broker-a to be read from its master once the replica died');
    // broker-a/1@dc1 is ready too, but it never served: the master takes the reads.
    expect([...seen].sort()).toEqual(['broker-a/0@dc1 rw', 'broker-a/2@dc2 r']);
    // The registry stops counting a silent broker before its sweep publishes the transition.
    await waitFor(() => router.routeVersion > beforeDeath, 'the route version to grow', 1000);
  });
});
