import { afterEach, describe, expect, it } from 'vitest';
import { fromWireStatus, V2_CODE } from '@roomq/protocol';
import { MemoryControlStore } from '../src/index.js';
import { admin, asClient, cleanup, FakeBroker, routes, startRouter, unary, waitFor, watch } from './helpers.js';

afterEach(cleanup);

const BEAT_MS = 50;

/** Routers dc1 and dc2 on one store; broker-a (dc1) and broker-b (dc2) heartbeat to both, as brokers do. */
async function twoRouters() {
  const store = new MemoryControlStore();
  const options = { store, heartbeatIntervalMs: BEAT_MS, brokerTimeoutMs: BEAT_MS * 8 };
  const r1 = await startRouter({ ...options, name: 'router-dc1', room: 'dc1' });
  const r2 = await startRouter({ ...options, name: 'router-dc2', room: 'dc2' });
  const brokers: FakeBroker[] = [];
  for (const target of [r1.target, r2.target]) {
    const a = new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911' });
    const b = new FakeBroker(target, { name: 'broker-b/0@dc2', group: 'broker-b', room: 'dc2', endpoint: '127.0.0.1:10921' });
    await a.run(BEAT_MS);
    await b.run(BEAT_MS);
    brokers.push(a, b);
  }
  return { store, r1, r2, brokers };
}

/** A consumer sending ClientHeartbeat every 200 ms until stopped. */
function consumer(target: string, clientId: string, group: string, topics: string[]) {
  const client = routes(target);
  const beat = () => unary(client, 'ClientHeartbeat', { client_id: clientId, consumers: [{ group, topics }] });
  let timer: NodeJS.Timeout | undefined;
  return {
    async start() {
      const reply = await beat();
      expect(reply.status.code).toBe(V2_CODE.OK);
      timer = setInterval(() => void beat().catch(() => undefined), 200);
      return reply;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

const assignment = async (target: string, clientId: string, topic = 'orders', group = 'billing') => {
  const reply = await unary(routes(target), 'GetAssignment', { topic, group }, asClient(clientId));
  expect(reply.status.code, reply.status.message).toBe(V2_CODE.OK);
  return { queues: (reply.queues ?? []).map((q: any) => `${q.broker_group}#${q.queue_id}`), members: reply.members, version: reply.version };
};

describe('routers sharing one control store', () => {
  it('serves a topic created through router dc1 at router dc2 within a second, and tells its watchers', async () => {
    const { r1, r2 } = await twoRouters();
    const w = watch(r2.target, { client_id: 'dc2@app@1@1', topics: ['fresh'] });
    await waitFor(() => w.events.length > 0, 'hello');
    expect(w.events[0]).toMatchObject({ kind: 'hello' });

    const created = Date.now();
    await unary(admin(r1.target), 'CreateTopic', { name: 'fresh', mode: 'active-active' });
    await waitFor(async () => (await unary(routes(r2.target), 'GetRoute', { topic: 'fresh' }, asClient('dc2@app@1@1'))).status.code === V2_CODE.OK, 'router dc2 to serve the topic', 1000);
    const reply = await unary(routes(r2.target), 'GetRoute', { topic: 'fresh' }, asClient('dc2@app@1@1'));
    expect(reply).toMatchObject({ client_room: 'dc2', mode: 'active-active', preferred_room: 'dc2' });
    await waitFor(() => w.events.some((e) => e.kind === 'route' && e.topic === 'fresh'), 'a route event for the topic', 1000);
    expect(Date.now() - created).toBeLessThan(1000);
  });

  it('lists every router and the store in ClusterStatus', async () => {
    const { r1 } = await twoRouters();
    const status = await unary(admin(r1.target), 'ClusterStatus', {});
    expect(status.routers.map((r: any) => [r.name, r.room, r.alive])).toEqual([
      ['router-dc1', 'dc1', true],
      ['router-dc2', 'dc2', true],
    ]);
    expect(status.routers[0].endpoint).toBe(r1.target);
    expect(status).toMatchObject({ control_store: 'memory', control_store_health: 'healthy' });
  });

  it("assigns each room's queues to its own consumers, the same on both routers, and hands dc2's over when they leave", async () => {
    const { r1, r2 } = await twoRouters();
    await unary(admin(r1.target), 'CreateTopic', { name: 'orders', queues_per_broker: 4, mode: 'active-active' });
    const c1 = consumer(r1.target, 'dc1@app@1@1', 'billing', ['orders']);
    const c2 = consumer(r1.target, 'dc1@app@2@1', 'billing', ['orders']);
    const c3 = consumer(r2.target, 'dc2@app@3@1', 'billing', ['orders']);
    const c4 = consumer(r2.target, 'dc2@app@4@1', 'billing', ['orders']);
    expect((await c1.start()).client_room).toBe('dc1');
    await c2.start();
    expect(await c3.start()).toMatchObject({ client_room: 'dc2', heartbeat_interval_ms: 1000 });
    await c4.start();
    await waitFor(async () => (await assignment(r1.target, 'dc1@app@1@1')).members === 4, 'both routers to see four members');

    // On a loaded machine a heartbeat can arrive late and briefly change the membership: wait for the settled split.
    const expected: Array<[string, string, string[]]> = [
      [r1.target, 'dc1@app@1@1', ['broker-a#0', 'broker-a#2']],
      [r1.target, 'dc1@app@2@1', ['broker-a#1', 'broker-a#3']],
      [r2.target, 'dc2@app@3@1', ['broker-b#0', 'broker-b#2']],
      [r2.target, 'dc2@app@4@1', ['broker-b#1', 'broker-b#3']],
    ];
    const settled = async (): Promise<boolean> => {
      for (const [target, id, queues] of expected) if (JSON.stringify((await assignment(target, id)).queues) !== JSON.stringify(queues)) return false;
      return true;
    };
    await waitFor(settled, 'each room to own its own queues');
    // Deterministic across routers: dc1's router gives dc2's consumer the same answer.
    for (const id of ['dc1@app@1@1', 'dc2@app@3@1', 'dc2@app@4@1']) {
      expect((await assignment(r1.target, id)).queues).toEqual((await assignment(r2.target, id)).queues);
    }

    const w = watch(r1.target, { client_id: 'dc1@app@1@1', topics: ['orders'], groups: ['billing'] });
    await waitFor(() => w.events.length > 0, 'hello');
    const stopped = Date.now();
    c3.stop();
    c4.stop();
    // The two consumers' last heartbeats may lie up to an interval apart, so they can leave in two steps, each
    // with its own event: wait for the event that leaves dc1's two alone.
    await waitFor(
      async () => w.events.some((e) => e.kind === 'assignment' && e.group === 'billing') && (await assignment(r1.target, 'dc1@app@1@1')).members === 2,
      'an assignment event at router dc1 and dc2\'s consumers gone',
      6000,
    );
    // Consumers leave after 3 s without a heartbeat; the event must not lag far behind.
    expect(Date.now() - stopped).toBeLessThan(5000);
    const after = await assignment(r1.target, 'dc1@app@1@1');
    expect(after.members).toBe(2);
    expect(after.queues).toEqual(['broker-a#0', 'broker-a#2', 'broker-b#0', 'broker-b#2']);
    expect((await assignment(r1.target, 'dc1@app@2@1')).queues).toEqual(['broker-a#1', 'broker-a#3', 'broker-b#1', 'broker-b#3']);
    c1.stop();
    c2.stop();
  });

  it('GetAssignment names what is missing', async () => {
    const { r1 } = await twoRouters();
    await unary(admin(r1.target), 'CreateTopic', { name: 'orders' });
    const noId = await unary(routes(r1.target), 'GetAssignment', { topic: 'orders', group: 'billing' });
    expect(fromWireStatus(noId.status)?.code).toBe('CLIENT_ID_REQUIRED');
    const unknown = await unary(routes(r1.target), 'GetAssignment', { topic: 'ghost', group: 'billing' }, asClient('dc1@a@1@1'));
    expect(fromWireStatus(unknown.status)?.code).toBe('TOPIC_NOT_FOUND');
    const notMember = await assignment(r1.target, 'dc1@a@1@1');
    expect(notMember).toMatchObject({ queues: [], members: 0 });
  });
});

describe('Watch', () => {
  it('says hello at once and sends a route and an assignment hint within a second of a broker going away', async () => {
    const { r1, brokers } = await twoRouters();
    await unary(admin(r1.target), 'CreateTopic', { name: 'orders', mode: 'active-active' });
    const w = watch(r1.target, { client_id: 'dc1@app@1@1', topics: ['orders'], groups: ['billing'] });
    await waitFor(() => w.events.length > 0, 'hello', 500);
    expect(w.events).toEqual([{ kind: 'hello', topic: '', group: '', version: expect.any(Number) }]);
    const hello = w.events[0];

    brokers[1]!.stop(); // broker-b stops heartbeating to router dc1
    const stopped = Date.now();
    await waitFor(() => w.events.some((e) => e.kind === 'route'), 'a route event', 2000);
    await waitFor(() => w.events.some((e) => e.kind === 'assignment' && e.group === 'billing'), 'an assignment event', 1000);
    // broker timeout (400 ms) plus at most one sweep
    expect(Date.now() - stopped).toBeLessThan(1000);
    const route = w.events.find((e) => e.kind === 'route');
    expect(route.version).toBeGreaterThan(hello.version);
    expect(route.topic ?? '').toBe('');
  });

  it('coalesces bursts into few events', async () => {
    const { r1 } = await twoRouters();
    const w = watch(r1.target, { client_id: 'dc1@app@1@1' });
    await waitFor(() => w.events.length > 0, 'hello');
    await Promise.all(Array.from({ length: 30 }, (_, i) => unary(admin(r1.target), 'CreateTopic', { name: `burst-${i}` })));
    await waitFor(() => w.events.some((e) => e.kind === 'route'), 'route events');
    await new Promise((r) => setTimeout(r, 300));
    const routeEvents = w.events.filter((e) => e.kind === 'route');
    expect(routeEvents.length).toBeLessThanOrEqual(20);
  });

  it('ends open streams when the router closes', async () => {
    const { r1 } = await twoRouters();
    const w = watch(r1.target, { client_id: 'dc1@app@1@1' });
    await waitFor(() => w.events.length > 0, 'hello');
    const closing = Date.now();
    await r1.router.close();
    await w.ended;
    expect(Date.now() - closing).toBeLessThan(1500);
  });
});
