import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer } from '@roomq/client';
import { uniqueName, waitFor } from './helpers/cluster.js';
import { RawRoute } from './helpers/raw-route.js';
import { LinkProxy } from '@roomq/room-link';
import { TwoRooms } from './helpers/two-rooms.js';

/**
 * Routers of both rooms on one real Redis (through a proxy the test can cut). Redis down: routers keep serving
 * the last known state, say they are degraded and refuse control changes; when it returns they resume.
 */
describe('two rooms on Redis', () => {
  let rooms: TwoRooms;
  // The routers reach Redis through a room link the test can cut, as if Redis were in the other room.
  const proxy = new LinkProxy({ name: 'redis-link', listen: '127.0.0.1:0', target: '127.0.0.1:6379' });
  const keyPrefix = `${uniqueName('roomqtest')}:`;

  beforeAll(async () => {
    const { port } = await proxy.start();
    rooms = await TwoRooms.start({ controlStore: () => ({ kind: 'redis', url: `redis://127.0.0.1:${port}`, keyPrefix }) });
  });
  afterAll(async () => {
    await rooms?.stop();
    await proxy.close();
  });

  it('a topic created through router dc1 is served by router dc2 within a second', async () => {
    const topic = uniqueName('redis');
    const viaDc2 = new RawRoute(rooms.router('dc2'), 'dc2@test@1@1');
    const admin = new Admin({ router: rooms.router('dc1') });
    await admin.createTopic(topic, { queuesPerBroker: 1, mode: 'active-active' });
    const created = Date.now();
    await waitFor(async () => (await viaDc2.getRoute(topic)).status.code === 20000, `router dc2 to serve ${topic}`, 5000);
    expect(Date.now() - created).toBeLessThan(1000);
    admin.close();
    viaDc2.close();
  });

  it('Redis down: last known state is served, the routers say degraded and refuse changes; back: they resume without a restart', async () => {
    const topic = uniqueName('kept');
    const admin1 = new Admin({ router: rooms.router('dc1') });
    const admin2 = new Admin({ router: rooms.router('dc2') });
    await admin1.createTopic(topic, { queuesPerBroker: 1, mode: 'active-active' });
    const producer = new Producer({ routers: rooms.routersFor('dc2'), room: 'dc2' });
    await producer.start();
    await producer.send({ topic, body: 'before' });

    await proxy.cut({ mode: 'reset' });
    for (const admin of [admin1, admin2]) {
      const status = await waitFor(async () => {
        const s = await admin.clusterStatus();
        return s.controlStoreHealth.startsWith('degraded') ? s : undefined;
      }, 'the router to report a degraded control store', 10_000);
      expect(status.controlStoreHealth).toMatch(/redis|unreachable|ECONNREFUSED|closed/i);
    }
    // The last known state keeps serving producers, including new ones.
    expect((await producer.send({ topic, body: 'during' })).room).toBe('dc2');
    const fresh = new Producer({ routers: rooms.routersFor('dc1'), room: 'dc1' });
    await fresh.start();
    expect((await fresh.send({ topic, body: 'fresh' })).room).toBe('dc1');
    await fresh.close();
    // Changes are refused with a clear error.
    await expect(admin1.createTopic(uniqueName('refused'), { mode: 'active-active' })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/control store|redis/i) });

    await proxy.restore();
    for (const admin of [admin1, admin2]) {
      await waitFor(async () => (await admin.clusterStatus()).controlStoreHealth === 'healthy', 'the control store to be healthy again', 15_000);
    }
    const after = uniqueName('after');
    await admin2.createTopic(after, { queuesPerBroker: 1, mode: 'active-active' });
    await waitFor(async () => (await admin1.listTopics()).some((t) => t.name === after), 'router dc1 to see a topic created after recovery', 5000);
    await producer.close();
    admin1.close();
    admin2.close();
  }, 90_000);
});
