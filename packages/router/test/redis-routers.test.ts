import { afterEach, describe, expect, it } from 'vitest';
import { fromWireStatus, V2_CODE } from '@roomq/protocol';
import { cleanup as cleanupStores, redisNamespace, startProxyToRedis } from './control-store-fixtures.js';
import { admin, asClient, cleanup, FakeBroker, routes, startRouter, unary, waitFor, watch } from './helpers.js';

afterEach(async () => {
  await cleanup();
  await cleanupStores();
});

/** Routers dc1 and dc2 sharing one real Redis namespace (through a proxy that can cut it). */
async function routersOnRedis() {
  const keyPrefix = await redisNamespace();
  const proxy = await startProxyToRedis();
  const controlStore = { kind: 'redis' as const, url: proxy.url, keyPrefix };
  const r1 = await startRouter({ controlStore, name: 'router-dc1', room: 'dc1' });
  const r2 = await startRouter({ controlStore, name: 'router-dc2', room: 'dc2' });
  for (const target of [r1.target, r2.target]) {
    await new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911' }).run(200);
    await new FakeBroker(target, { name: 'broker-b/0@dc2', group: 'broker-b', room: 'dc2', endpoint: '127.0.0.1:10921' }).run(200);
  }
  return { proxy, r1, r2 };
}

const getRoute = (target: string, topic: string, clientId: string) => unary(routes(target), 'GetRoute', { topic }, asClient(clientId));

describe('routers on one Redis', () => {
  it('serve a topic created through router dc1 at router dc2 within a second', async () => {
    const { r1, r2 } = await routersOnRedis();
    const w = watch(r2.target, { client_id: 'dc2@app@1@1', topics: ['orders'] });
    await waitFor(() => w.events.length > 0, 'hello');
    const started = Date.now();
    expect((await unary(admin(r1.target), 'CreateTopic', { name: 'orders', mode: 'active-active' })).created).toBe(true);
    await waitFor(async () => (await getRoute(r2.target, 'orders', 'dc2@app@1@1')).status.code === V2_CODE.OK, 'router dc2 to serve orders', 1000);
    await waitFor(() => w.events.some((e) => e.kind === 'route' && e.topic === 'orders'), 'a route hint at router dc2', 1000);
    expect(Date.now() - started).toBeLessThan(1000);
    const reply = await getRoute(r2.target, 'orders', 'dc2@app@1@1');
    expect(reply.queues.filter((q: any) => q.writable).map((q: any) => q.broker_name)).toEqual(['broker-b/0@dc2', 'broker-b/0@dc2', 'broker-b/0@dc2', 'broker-b/0@dc2']);
    const status = await unary(admin(r2.target), 'ClusterStatus', {});
    expect(status.control_store).toMatch(/^redis /);
    expect(status.routers.map((r: any) => r.name)).toEqual(['router-dc1', 'router-dc2']);
  });

  it('keep serving while Redis is unreachable, refuse changes, and resume when it is back', async () => {
    const { proxy, r1 } = await routersOnRedis();
    await unary(admin(r1.target), 'CreateTopic', { name: 'orders', mode: 'active-active' });

    await proxy.stop();
    await waitFor(async () => (await unary(admin(r1.target), 'ClusterStatus', {})).control_store_health.startsWith('degraded: '), 'router dc1 to report degraded', 10_000);
    expect((await getRoute(r1.target, 'orders', 'dc1@app@1@1')).status.code).toBe(V2_CODE.OK);
    const refused = fromWireStatus((await unary(admin(r1.target), 'CreateTopic', { name: 'payments' })).status);
    expect(refused?.code).toBe('UNAVAILABLE');
    expect(refused?.message).toMatch(/^control store redis \S+ is unavailable/);

    await proxy.start();
    await waitFor(async () => (await unary(admin(r1.target), 'ClusterStatus', {})).control_store_health === 'healthy', 'router dc1 to be healthy again', 15_000);
    const created = await unary(admin(r1.target), 'CreateTopic', { name: 'payments' });
    expect(created.status.code).toBe(V2_CODE.OK);
  });
});
