import { afterEach, describe, expect, it } from 'vitest';
import { V2_CODE } from '@roomq/protocol';
import { admin, cleanup, FakeBroker, messaging, registry, startRouter, unary, waitFor } from './helpers.js';

afterEach(cleanup);

const queryRoute = (target: string, topic: string, namespace = '') =>
  unary(messaging(target), 'QueryRoute', {
    topic: { name: topic, resource_namespace: namespace },
    endpoints: { scheme: 'IPv4', addresses: [{ host: '127.0.0.1', port: 1 }] },
  });

/** [broker name, queue id, permission, host:port] per queue, for compact assertions. */
const summary = (reply: any) =>
  (reply.message_queues ?? []).map((q: any) => [q.broker.name, q.id, q.permission, `${q.broker.endpoints.addresses[0].host}:${q.broker.endpoints.addresses[0].port}`]);

describe('QueryRoute', () => {
  it('answers every queue of every live master with its endpoint', async () => {
    const { target } = await startRouter();
    await unary(admin(target), 'CreateTopic', { name: 'orders', queues_per_broker: 2 });
    await new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', endpoint: '127.0.0.1:10911' }).beat();
    await new FakeBroker(target, { name: 'broker-b/0@dc1', group: 'broker-b', endpoint: 'broker-b.dc1.internal:10921' }).beat();
    await new FakeBroker(target, { name: 'broker-a/1@dc2', group: 'broker-a', room: 'dc2', role: 'slave', endpoint: '127.0.0.1:10912' }).beat();

    const reply = await queryRoute(target, 'orders', 'ns1');
    expect(reply.status.code).toBe('OK');
    expect(summary(reply)).toEqual([
      ['broker-a', 0, 'READ_WRITE', '127.0.0.1:10911'],
      ['broker-a', 1, 'READ_WRITE', '127.0.0.1:10911'],
      ['broker-b', 0, 'READ_WRITE', 'broker-b.dc1.internal:10921'],
      ['broker-b', 1, 'READ_WRITE', 'broker-b.dc1.internal:10921'],
    ]);
    const [first, , third] = reply.message_queues;
    expect(first).toEqual({
      topic: { name: 'orders', resource_namespace: 'ns1' },
      id: 0,
      permission: 'READ_WRITE',
      broker: { name: 'broker-a', id: 0, endpoints: { scheme: 'IPv4', addresses: [{ host: '127.0.0.1', port: 10911 }] } },
      accept_message_types: ['NORMAL', 'FIFO'],
    });
    expect(third.broker.endpoints.scheme).toBe('DOMAIN_NAME');
  });

  it('drops a broker from routes once it stops heartbeating, and takes it back when it returns', async () => {
    const { target, router } = await startRouter({ heartbeatIntervalMs: 50, brokerTimeoutMs: 500 });
    await unary(admin(target), 'CreateTopic', { name: 'orders', queues_per_broker: 1 });
    const a = new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', endpoint: '127.0.0.1:10911' });
    const b = new FakeBroker(target, { name: 'broker-b/0@dc1', group: 'broker-b', endpoint: '127.0.0.1:10921' });
    await a.run(50);
    await b.run(50);
    expect(summary(await queryRoute(target, 'orders')).map((q: any) => q[0])).toEqual(['broker-a', 'broker-b']);

    b.stop();
    await waitFor(async () => !summary(await queryRoute(target, 'orders')).some((q: any) => q[0] === 'broker-b'), 'broker-b to leave the route');
    expect(summary(await queryRoute(target, 'orders')).map((q: any) => q[0])).toEqual(['broker-a']);
    const views = router.brokers();
    expect(views.find((v) => v.state.name === 'broker-b/0@dc1')?.alive).toBe(false);

    const status = await unary(admin(target), 'ClusterStatus', {});
    expect(status.brokers.map((v: any) => [v.state.identity.name, v.alive ?? false])).toEqual([
      ['broker-a/0@dc1', true],
      ['broker-b/0@dc1', false],
    ]);

    await b.run(50);
    expect(summary(await queryRoute(target, 'orders')).map((q: any) => q[0])).toEqual(['broker-a', 'broker-b']);
  });

  it('offers failed and write-disabled brokers as READ queues only', async () => {
    const { target } = await startRouter();
    await unary(admin(target), 'CreateTopic', { name: 'orders', queues_per_broker: 1 });
    await new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', endpoint: '127.0.0.1:10911' }).beat();
    await new FakeBroker(target, { name: 'broker-b/0@dc1', group: 'broker-b', endpoint: '127.0.0.1:10921', status: 'failed', statusReason: 'disk full', writable: false }).beat();
    await new FakeBroker(target, { name: 'broker-c/0@dc1', group: 'broker-c', endpoint: '127.0.0.1:10931', writable: false }).beat();
    await new FakeBroker(target, { name: 'broker-d/0@dc1', group: 'broker-d', endpoint: '127.0.0.1:10941', status: 'starting', writable: false }).beat();
    expect(summary(await queryRoute(target, 'orders'))).toEqual([
      ['broker-a', 0, 'READ_WRITE', '127.0.0.1:10911'],
      ['broker-b', 0, 'READ', '127.0.0.1:10921'],
      ['broker-c', 0, 'READ', '127.0.0.1:10931'],
    ]);
  });

  it('turns a broker read-only as soon as its heartbeat reports a failure', async () => {
    const { target } = await startRouter();
    await unary(admin(target), 'CreateTopic', { name: 'orders', queues_per_broker: 1 });
    const a = new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', endpoint: '127.0.0.1:10911' });
    await a.beat();
    expect(summary(await queryRoute(target, 'orders'))[0][2]).toBe('READ_WRITE');
    a.state = { ...a.state, status: 'failed', statusReason: 'fsync failed: EIO', writable: false };
    await a.beat();
    expect(summary(await queryRoute(target, 'orders'))[0][2]).toBe('READ');
  });

  it('answers a clear error, never an empty route, when no broker is alive', async () => {
    const { target } = await startRouter();
    await unary(admin(target), 'CreateTopic', { name: 'orders' });
    const reply = await queryRoute(target, 'orders');
    expect(reply.status.code).toBe('HA_NOT_AVAILABLE');
    expect(reply.status.message).toContain('no live broker serves topic "orders"');
    expect(reply.status.message).toContain('roomq cluster status');
    expect(reply.message_queues ?? []).toEqual([]);
  });

  it('answers TOPIC_NOT_FOUND for an unknown topic when auto-creation is off', async () => {
    const { target } = await startRouter();
    await new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', endpoint: '127.0.0.1:10911' }).beat();
    const reply = await queryRoute(target, 'ghost');
    expect(reply.status.code).toBe('TOPIC_NOT_FOUND');
    expect(reply.status.message).toContain('roomq topic create ghost');
    expect(reply.message_queues ?? []).toEqual([]);
    expect((await unary(admin(target), 'ListTopics', {})).topics ?? []).toEqual([]);
  });

  it('creates an unknown topic with the default queue count when auto-creation is on', async () => {
    const { target } = await startRouter({ autoCreateTopics: true, defaultQueuesPerBroker: 3 });
    await new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', endpoint: '127.0.0.1:10911' }).beat();
    const reply = await queryRoute(target, 'fresh');
    expect(reply.status.code).toBe('OK');
    expect(summary(reply).map((q: any) => q[1])).toEqual([0, 1, 2]);
    const list = await unary(admin(target), 'ListTopics', {});
    expect(list.topics).toEqual([expect.objectContaining({ name: 'fresh', queues_per_broker: 3 })]);
  });

  it('refuses malformed requests and bad names', async () => {
    const { target } = await startRouter({ autoCreateTopics: true });
    const m = messaging(target);
    for (const request of [{}, { topic: {} }, { topic: { name: '' } }]) {
      const reply = await unary(m, 'QueryRoute', request);
      expect(reply.status.code, JSON.stringify(request)).toBe('BAD_REQUEST');
      expect(reply.status.message).toContain('topic.name');
    }
    const bad = await unary(m, 'QueryRoute', { topic: { name: 'no spaces allowed' } });
    expect(bad.status.code).toBe('ILLEGAL_TOPIC');
    expect((await unary(admin(target), 'ListTopics', {})).topics ?? []).toEqual([]);
  });
});

describe('BrokerHeartbeat', () => {
  it('replies with the interval and every topic config', async () => {
    const { target } = await startRouter({ heartbeatIntervalMs: 750 });
    await unary(admin(target), 'CreateTopic', { name: 'a', queues_per_broker: 2 });
    await unary(admin(target), 'CreateTopic', { name: 'b' });
    const reply = await new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', endpoint: '127.0.0.1:10911' }).beat();
    expect(reply.status.code).toBe(V2_CODE.OK);
    expect(reply.heartbeat_interval_ms).toBe(750);
    expect(reply.topics.map((t: any) => [t.name, t.queues_per_broker])).toEqual([
      ['a', 2],
      ['b', 4],
    ]);
    expect(reply.topics[0].created_at_ms).toBeGreaterThan(0);
  });

  it('refuses a malformed broker state with BAD_REQUEST naming the field, and registers nothing', async () => {
    const { target, router } = await startRouter();
    const r = registry(target);
    const cases: Array<[unknown, string]> = [
      [{}, 'state'],
      [{ state: { status: 'ready' } }, 'state.identity'],
      [{ state: { identity: { group: 'g', room: 'dc1', role: 'master', endpoint: 'h:1' }, status: 'ready' } }, 'state.identity.name'],
      [{ state: { identity: { name: 'n', group: 'g', room: 'DC 1', role: 'master', endpoint: 'h:1' }, status: 'ready' } }, 'state.identity.room'],
      [{ state: { identity: { name: 'n', group: 'g', room: 'dc1', role: 'boss', endpoint: 'h:1' }, status: 'ready' } }, 'state.identity.role'],
      [{ state: { identity: { name: 'n', group: 'g', room: 'dc1', role: 'master', endpoint: 'nohost' }, status: 'ready' } }, 'state.identity.endpoint'],
      [{ state: { identity: { name: 'n', group: 'g', room: 'dc1', role: 'master', endpoint: 'h:1' } } }, 'state.status'],
    ];
    for (const [request, field] of cases) {
      const reply = await unary(r, 'BrokerHeartbeat', request);
      expect(reply.status.code, field).toBe(V2_CODE.BAD_REQUEST);
      expect(reply.status.message).toContain(`broker heartbeat: ${field} `);
    }
    expect(router.brokers()).toEqual([]);
  });
});
