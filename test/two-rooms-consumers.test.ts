import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer, type ReceivedMessage } from '@roomq/client';
import { uniqueName, waitFor } from './helpers/cluster.js';
import { TwoRooms } from './helpers/two-rooms.js';

/** Consumer groups across rooms: each room's consumers take their room's queues; a room without any hands them over. */
describe('two rooms: consumers', () => {
  let rooms: TwoRooms;
  beforeAll(async () => {
    rooms = await TwoRooms.start();
  });
  afterAll(async () => rooms?.stop());

  async function produce(room: 'dc1' | 'dc2', topic: string, prefix: string, count: number): Promise<string[]> {
    const producer = new Producer({ routers: rooms.routersFor(room), room });
    await producer.start();
    const keys = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    const receipts = await producer.sendMany(keys.map((key) => ({ topic, keys: [key], body: key })));
    expect(new Set(receipts.map((r) => r.room))).toEqual(new Set([room]));
    await producer.close();
    return keys;
  }

  it('each room consumes its own queues; when dc2 has no consumer left, dc1 takes its queues within 10 s and loses nothing', async () => {
    const topic = uniqueName('groups');
    const group = uniqueName('g');
    const admin = new Admin({ router: rooms.router('dc1') });
    await admin.createTopic(topic, { queuesPerBroker: 2, mode: 'active-active' });
    admin.close();

    const got = { dc1: [] as ReceivedMessage[], dc2: [] as ReceivedMessage[] };
    const consumer = (room: 'dc1' | 'dc2'): PushConsumer =>
      new PushConsumer({ routers: rooms.routersFor(room), room, group, topic, startFrom: 'first', commitIntervalMs: 200, handler: (m) => void got[room].push(m) });
    const c1 = consumer('dc1');
    const c2 = consumer('dc2');
    await c1.start();
    await c2.start();
    // Until dc2's consumer is known to every router, dc2's queues are shared by all: wait for the settled split.
    const owns = (c: PushConsumer, broker: string): boolean => {
      const assignment = c.stats().assignment;
      return assignment.length === 2 && assignment.every((q) => q.broker === broker && q.state === 'active');
    };
    await waitFor(() => owns(c1, 'broker-a') && owns(c2, 'broker-b'), 'each room to own its own queues', 10_000);

    const sent = [...(await produce('dc1', topic, 'one', 500)), ...(await produce('dc2', topic, 'two', 500))];
    await waitFor(() => got.dc1.length + got.dc2.length >= 1000, 'both rooms to consume what was produced', 20_000);
    expect(new Set(got.dc1.map((m) => m.broker))).toEqual(new Set(['broker-a']));
    expect(new Set(got.dc2.map((m) => m.broker))).toEqual(new Set(['broker-b']));

    // Every dc2 consumer stops; messages keep arriving in dc2.
    await c2.close();
    const stoppedAt = Date.now();
    sent.push(...(await produce('dc2', topic, 'three', 300)));
    await waitFor(() => got.dc1.some((m) => m.broker === 'broker-b'), 'dc1 to take over dc2 queues', 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    const received = (): Set<string> => new Set([...got.dc1, ...got.dc2].map((m) => m.keys[0]!));
    await waitFor(() => sent.every((k) => received().has(k)), 'every produced key to be consumed', 20_000);
    await c1.close();

    // Committed offsets never went backwards: dc1 started dc2's queues at (or after) what dc2 had committed.
    const firstTakenOver = new Map<number, number>();
    for (const m of got.dc1) if (m.broker === 'broker-b' && !firstTakenOver.has(m.queueId)) firstTakenOver.set(m.queueId, m.queueOffset);
    for (const [queueId, offset] of firstTakenOver) {
      const lastByDc2 = Math.max(-1, ...got.dc2.filter((m) => m.queueId === queueId).map((m) => m.queueOffset));
      // Duplicates only within dc2's uncommitted in-flight window, never a rewind to an old offset.
      expect(offset).toBeGreaterThan(lastByDc2 - 50);
    }
  }, 90_000);
});
