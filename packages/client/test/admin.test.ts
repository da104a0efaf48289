import { afterEach, describe, expect, it } from 'vitest';
import { Admin } from '../src/index.js';
import { startCluster, uniqueName } from './fake-cluster.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('Admin', () => {
  it('creates and lists topics and reads cluster status from the router', async () => {
    const cluster = await startCluster(['broker-a', 'broker-b'], {});
    cleanups.push(cluster.close);
    const admin = new Admin({ router: cluster.router.endpoint });
    cleanups.push(() => admin.close());
    const name = uniqueName('payments');
    expect(await admin.createTopic(name, { queuesPerBroker: 3 })).toEqual({ topic: { name, queuesPerBroker: 3, createdAtMs: undefined, mode: '', version: 0 }, created: true });
    expect((await admin.createTopic(name, { queuesPerBroker: 3 })).created).toBe(false);
    expect((await admin.listTopics()).map((t) => t.name)).toContain(name);
    const status = await admin.clusterStatus();
    expect(status).toMatchObject({ routerName: 'fake-router', room: 'dc1', topicCount: 1 });
    expect(status.brokers.map((b) => b.name)).toEqual(['broker-a/0@dc1', 'broker-b/0@dc1']);
    expect(status.brokers.map((b) => [b.group, b.room])).toEqual([['broker-a', 'dc1'], ['broker-b', 'dc1']]);
    expect(status.brokers[0]).toMatchObject({ alive: true, writable: true, role: 'MASTER' });
    await expect(admin.createTopic('bad name')).rejects.toMatchObject({ code: 'INVALID_TOPIC' });
  });

  it('reports an unreachable router as UNAVAILABLE', async () => {
    const admin = new Admin({ router: '127.0.0.1:1', requestTimeoutMs: 2000 });
    cleanups.push(() => admin.close());
    await expect(admin.listTopics()).rejects.toMatchObject({ code: 'UNAVAILABLE', retriable: true });
  });
});
