import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { fromWireStatus, V2_CODE } from '@roomq/protocol';
import { MemoryControlStore } from '../src/index.js';
import { admin, asClient, cleanup, FakeBroker, messaging, registry, routes, startRouter, unary, waitFor, watch } from './helpers.js';

afterEach(cleanup);

function capture() {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('control store unreachable', () => {
  it('keeps serving routes, refuses changes with UNAVAILABLE, reports degraded, and recovers without a restart', async () => {
    const store = new MemoryControlStore();
    const { logger, lines } = capture();
    const { target } = await startRouter({ store, logger, autoCreateTopics: true });
    await new FakeBroker(target, { name: 'broker-a/0@dc1', group: 'broker-a', room: 'dc1', endpoint: '127.0.0.1:10911' }).beat();
    await unary(admin(target), 'CreateTopic', { name: 'orders', mode: 'active-active' });

    store.setDegraded('connect ECONNREFUSED 127.0.0.1:6379');

    const route = await unary(routes(target), 'GetRoute', { topic: 'orders' }, asClient('dc1@app@1@1'));
    expect(route.status.code).toBe(V2_CODE.OK);
    expect(route.queues.length).toBeGreaterThan(0);
    expect((await unary(messaging(target), 'QueryRoute', { topic: { name: 'orders' } })).status.code).toBe('OK');

    const refused = await unary(admin(target), 'CreateTopic', { name: 'payments' });
    const err = fromWireStatus(refused.status);
    expect(err?.code).toBe('UNAVAILABLE');
    expect(err?.retriable).toBe(true);
    expect(err?.message).toContain('control store memory is unavailable (connect ECONNREFUSED 127.0.0.1:6379)');
    expect(err?.message).toContain('retry');
    const autoCreate = await unary(routes(target), 'GetRoute', { topic: 'lazy' }, asClient('dc1@app@1@1'));
    expect(fromWireStatus(autoCreate.status)?.code).toBe('UNAVAILABLE');
    const brokerCreate = await unary(registry(target), 'GetTopic', { name: 'lazy', create_if_missing: true });
    expect(fromWireStatus(brokerCreate.status)?.code).toBe('UNAVAILABLE');

    const status = await unary(admin(target), 'ClusterStatus', {});
    expect(status.control_store_health).toBe('degraded: connect ECONNREFUSED 127.0.0.1:6379');
    await waitFor(() => lines.some((l) => l.level === 40 && l.msg.startsWith('control store degraded')), 'a warn line', 2000);

    const w = watch(target, { client_id: 'dc1@app@1@1', topics: ['orders'] });
    await waitFor(() => w.events.length > 0, 'hello');
    store.setDegraded(undefined);
    await waitFor(() => w.events.some((e) => e.kind === 'route'), 'a route hint after the store came back', 1000);

    const created = await unary(admin(target), 'CreateTopic', { name: 'payments' });
    expect(created.status.code).toBe(V2_CODE.OK);
    expect(created.created).toBe(true);
    expect((await unary(admin(target), 'ClusterStatus', {})).control_store_health).toBe('healthy');
    await waitFor(() => lines.some((l) => l.level === 30 && l.msg === 'control store healthy again'), 'an info line', 2000);
  });
});
