import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer } from '@roomq/client';
import { runCli } from './helpers/cli.js';
import { uniqueName, waitFor } from './helpers/cluster.js';
import { RawRoute } from './helpers/raw-route.js';
import { TwoRooms } from './helpers/two-rooms.js';

/** Nearest-room routing with a router per room on the embedded (file) control store. */
describe('two rooms: producers', () => {
  let rooms: TwoRooms;
  beforeAll(async () => {
    rooms = await TwoRooms.start();
  });
  afterAll(async () => rooms?.stop());

  async function produce(room: 'dc1' | 'dc2', topic: string, count: number): Promise<Record<string, any>> {
    const result = await runCli(['produce', '--room', room, '--router', rooms.routersFor(room).join(','), '--topic', topic, '--count', String(count), '--size', '256', '--key-prefix', `${room}`, '--json']);
    expect(result.code, result.stderr).toBe(0);
    return result.json!;
  }

  it('active-active: what dc1 produces is stored on dc1 masters, what dc2 produces on dc2 masters', async () => {
    const topic = uniqueName('aa');
    const admin = new Admin({ router: rooms.router('dc1') });
    await admin.createTopic(topic, { queuesPerBroker: 2, mode: 'active-active' });
    admin.close();
    const fromDc1 = await produce('dc1', topic, 2000);
    expect(fromDc1).toMatchObject({ acknowledged: 2000, byRoom: { dc1: 2000 }, byBroker: { 'broker-a/0@dc1': 2000 } });
    const fromDc2 = await produce('dc2', topic, 2000);
    expect(fromDc2).toMatchObject({ acknowledged: 2000, byRoom: { dc2: 2000 }, byBroker: { 'broker-b/0@dc2': 2000 } });
  });

  it('home:dc1: producers in dc2 land on dc1', async () => {
    const topic = uniqueName('home');
    const admin = new Admin({ router: rooms.router('dc2') });
    await admin.createTopic(topic, { queuesPerBroker: 2, mode: 'home:dc1' });
    admin.close();
    const fromDc2 = await produce('dc2', topic, 1000);
    expect(fromDc2).toMatchObject({ acknowledged: 1000, byRoom: { dc1: 1000 }, byBroker: { 'broker-a/0@dc1': 1000 } });
  });

  it('a topic created through router dc1 is served by router dc2 within a second', async () => {
    const topic = uniqueName('shared');
    const viaDc2 = new RawRoute(rooms.router('dc2'), 'dc2@test@1@1');
    const admin = new Admin({ router: rooms.router('dc1') });
    await admin.createTopic(topic, { queuesPerBroker: 1, mode: 'active-active' });
    const created = Date.now();
    const route = await waitFor(async () => {
      const reply = await viaDc2.getRoute(topic);
      return reply.status.code === 20000 ? reply : undefined;
    }, `router dc2 to serve ${topic}`, 5000);
    expect(Date.now() - created).toBeLessThan(1000);
    expect(route.client_room).toBe('dc2');
    expect(route.queues.filter((q: { writable: boolean }) => q.writable).map((q: { room: string }) => q.room)).toEqual(['dc2']);
    admin.close();
    viaDc2.close();
  });

  it('killing one router does not stop producers that were given a second router', async () => {
    const topic = uniqueName('failover');
    const admin = new Admin({ router: rooms.router('dc2') });
    await admin.createTopic(topic, { queuesPerBroker: 1, mode: 'active-active' });
    admin.close();
    // Both routers serve it (changes reach the other router within a second) before one of them dies.
    const viaDc1 = new RawRoute(rooms.router('dc1'), 'dc1@test@1@1');
    await waitFor(async () => (await viaDc1.getRoute(topic)).status.code === 20000, 'router dc1 to serve the topic', 5000);
    viaDc1.close();
    const producer = new Producer({ routers: rooms.routersFor('dc1'), room: 'dc1' });
    await producer.start();
    expect((await producer.send({ topic, body: 'before' })).room).toBe('dc1');
    const dc1Router = rooms.routers.get('dc1')!;
    dc1Router.child.kill('SIGKILL');
    await dc1Router.exited;
    // Sends keep working (the broker is up), and route refreshes go to the dc2 router.
    for (let i = 0; i < 50; i++) expect((await producer.send({ topic, body: `after-${i}` })).room).toBe('dc1');
    await producer.close();
    // A new producer in dc1 starts with its first router down.
    const late = new Producer({ routers: rooms.routersFor('dc1'), room: 'dc1' });
    await late.start();
    expect((await late.send({ topic, body: 'late' })).room).toBe('dc1');
    await late.close();
  });
});
