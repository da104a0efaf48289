/** What only the Redis store does: losing Redis and getting it back, connecting to none, its options. */
import { afterEach, describe, expect, it } from 'vitest';
import { RoomqError } from '@roomq/protocol';
import type { ControlChange, NewTopic } from '../src/control-store.js';
import { RedisControlStore, type RedisControlStoreOptions } from '../src/redis-control-store.js';
import { cleanup, failure, onCleanup, openedStore, redisNamespace, startProxyToRedis, TEST_REDIS_URL, waitFor } from './control-store-fixtures.js';

afterEach(cleanup);

const topic = (name: string): NewTopic => ({ name, queuesPerBroker: 4, mode: { kind: 'home', room: 'dc1' }, createdAtMs: 1_700_000_000_000 });

const opened = (options: RedisControlStoreOptions): Promise<RedisControlStore> => openedStore(new RedisControlStore(options));

describe('redis control store', () => {
  it('serves the last state while Redis is unreachable, refuses changes at once, and comes back by itself', async () => {
    const keyPrefix = await redisNamespace();
    const proxy = await startProxyToRedis();
    const cut = await opened({ url: proxy.url, keyPrefix });
    const other = await opened({ url: TEST_REDIS_URL, keyPrefix });
    const changes: ControlChange[] = [];
    cut.onChange((c) => changes.push(c));
    await cut.createTopicIfAbsent(topic('before'));
    await cut.publishMembers('r1', 'g', [{ clientId: 'dc1@h@1@1', room: 'dc1', router: 'r1', lastSeenMs: Date.now() }]);
    await cut.applyControl({ rooms: [{ room: 'dc1', status: 'cut', expectedVersion: 0 }], audit: { by: 'ops', action: 'room-cut', target: 'dc1', reason: 'before' } });

    await proxy.stop();
    await waitFor('the store to report itself degraded', () => cut.health().state === 'degraded', 2000);
    const health = cut.health();
    expect(health).toMatchObject({ state: 'degraded', reason: expect.stringMatching(new RegExp(`^redis 127\\.0\\.0\\.1:${proxy.port} unreachable: `)) });
    await waitFor('the reason to name the refused reconnect', () => /ECONNREFUSED/.test((cut.health() as { reason: string }).reason), 2000);

    const startedMs = Date.now();
    const refused = await failure(cut.createTopicIfAbsent(topic('during')));
    expect(refused.code).toBe('UNAVAILABLE');
    expect(refused.retriable).toBe(true);
    expect(refused.message).toMatch(/the control store \(redis 127\.0\.0\.1:\d+\) is unreachable: connect ECONNREFUSED .*; routers keep serving the last known state; retry when Redis is back/);
    expect((await failure(cut.setTopicMode('before', { kind: 'active-active' }, 1))).code).toBe('UNAVAILABLE');
    expect((await failure(cut.applyControl({ rooms: [{ room: 'dc1', status: 'cut', expectedVersion: 1 }], audit: { by: 'x', action: 'room-cut', target: 'dc1', reason: '' } }))).code).toBe('UNAVAILABLE');
    expect(Date.now() - startedMs).toBeLessThan(500);
    // Reads keep working from the cache; heartbeats and reports are skipped, not failed.
    expect(await cut.getTopic('before')).toMatchObject({ name: 'before', version: 1 });
    expect(await cut.listRooms()).toMatchObject([{ room: 'dc1', status: 'cut', version: 1 }]);
    expect(await cut.listAudit(5)).toMatchObject([{ action: 'room-cut', reason: 'before' }]);
    expect((await cut.listMembers('g', 5000)).map((m) => m.clientId)).toEqual(['dc1@h@1@1']);
    await cut.heartbeatRouter({ name: 'r1', room: 'dc1', endpoint: 'h:1', lastSeenMs: Date.now() });
    await cut.publishMembers('r1', 'g', []);

    // Other routers keep changing the state meanwhile.
    await other.createTopicIfAbsent(topic('while-down'));
    await other.setTopicMode('before', { kind: 'active-active' }, 1);
    await other.applyControl({ rooms: [{ room: 'dc1', status: 'active', expectedVersion: 1 }], audit: { by: 'ops', action: 'room-restore', target: 'dc1', reason: 'while down' } });

    await proxy.start();
    await waitFor('the store to be healthy again', () => cut.health().state === 'healthy', 5000);
    expect(changes).toContainEqual({ kind: 'reload' });
    expect(await cut.listRooms()).toMatchObject([{ room: 'dc1', status: 'active', version: 2 }]);
    expect((await cut.listAudit(5)).map((e) => e.reason)).toEqual(['while down', 'before']);
    expect(await cut.getTopic('while-down')).toMatchObject({ name: 'while-down', version: 1 });
    expect(await cut.getTopic('before')).toMatchObject({ mode: { kind: 'active-active' }, version: 2 });
    expect((await cut.createTopicIfAbsent(topic('after'))).created).toBe(true);
    await waitFor('the other router to hear of it', async () => (await other.getTopic('after')) !== undefined, 1000);
  });

  it('fails open against an unreachable Redis, naming the URL', async () => {
    const proxy = await startProxyToRedis();
    const url = proxy.url;
    await proxy.stop();
    const store = new RedisControlStore({ url, keyPrefix: 'roomq-test-none:', connectTimeoutMs: 500 });
    const err = await failure(store.open());
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(new RegExp(`cannot reach the control store at 127\\.0\\.0\\.1:${proxy.port}: .*ECONNREFUSED.*start Redis or fix the store's url`));
    await expect(store.listTopics()).rejects.toMatchObject({ code: 'CLOSED' });
    await store.close();
  });

  it('keeps routers of other key prefixes apart', async () => {
    const [p1, p2] = [await redisNamespace(), await redisNamespace()];
    const a = await opened({ url: TEST_REDIS_URL, keyPrefix: p1 });
    const b = await opened({ url: TEST_REDIS_URL, keyPrefix: p2 });
    await a.createTopicIfAbsent(topic('mine'));
    expect((await b.createTopicIfAbsent(topic('mine'))).created).toBe(true);
  });

  it('deletes routers and members not seen for pruneAfterMs', async () => {
    const store = await opened({ url: TEST_REDIS_URL, keyPrefix: await redisNamespace(), pruneAfterMs: 1000 });
    const now = Date.now();
    await store.heartbeatRouter({ name: 'gone', room: 'dc1', endpoint: 'h:1', lastSeenMs: now - 5000 });
    await store.heartbeatRouter({ name: 'live', room: 'dc1', endpoint: 'h:2', lastSeenMs: now });
    expect((await store.listRouters(60_000)).map((r) => r.name)).toEqual(['live']);
    await store.publishMembers('gone', 'g', [{ clientId: 'dc1@h@1@1', room: 'dc1', router: 'gone', lastSeenMs: now - 5000 }]);
    await store.publishMembers('live', 'g', [{ clientId: 'dc1@h@2@1', room: 'dc1', router: 'live', lastSeenMs: now }]);
    expect((await store.listMembers('g', 60_000)).map((m) => m.clientId)).toEqual(['dc1@h@2@1']);
  });

  it('rejects bad options naming the field', () => {
    expect(() => new RedisControlStore({ url: '127.0.0.1:6379' })).toThrow(/redis control store options: url: expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => new RedisControlStore({ url: TEST_REDIS_URL, keyPrefix: '' })).toThrow(/keyPrefix/);
  });

  it('hides credentials in its description', () => {
    expect(new RedisControlStore({ url: 'redis://:secret@10.0.0.5:6380/2' }).description).toBe('redis 10.0.0.5:6380');
  });
});
