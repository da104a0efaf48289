import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer, type ReceivedMessage } from '@roomq/client';
import { ReplicatedGroup } from '@roomq/cli';
import { uniqueName, waitFor } from './helpers/cluster.js';
import { committedOffsets } from './helpers/raw-clients.js';

const QUEUES = 2;

function committed(endpoint: string, group: string, topic: string): Promise<number[]> {
  return committedOffsets(endpoint, group, topic, QUEUES);
}

/**
 * sync:1 group with its master in dc1 and a replica in dc2. kill -9 the master: consumers in dc2 continue from
 * the replica, from the committed offsets (never earlier), miss no acknowledged key, and the progress they
 * record there reaches the master when it returns.
 */
describe('consumers continue from a replica when the master dies', () => {
  let group: ReplicatedGroup;
  beforeAll(async () => {
    group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: 'sync:1' });
  });
  afterAll(async () => group?.stop());

  it('no acknowledged key missing, no committed offset going backwards, across kill -9 and the master coming back', async () => {
    const router = group.routerEndpoint;
    const topic = uniqueName('failover');
    const consumerGroup = uniqueName('g');
    const admin = new Admin({ router });
    await admin.createTopic(topic, { queuesPerBroker: QUEUES });
    admin.close();

    const producer = new Producer({ routers: [router], maxAttempts: 1 });
    await producer.start();
    const first = await producer.sendMany(Array.from({ length: 1000 }, (_, i) => ({ topic, keys: [`a-${i}`], body: `a-${i}` })));
    expect(first).toHaveLength(1000);

    // A dc2 consumer works through the first batch and commits.
    const seen: ReceivedMessage[] = [];
    const before = new PushConsumer({ routers: [router], room: 'dc2', group: consumerGroup, topic, startFrom: 'first', commitIntervalMs: 100, handler: (m) => void seen.push(m) });
    await before.start();
    await waitFor(() => seen.length >= 1000, 'the first batch to be consumed', 20_000);
    await before.close();
    const committedBefore = await committed(group.endpoint(0), consumerGroup, topic);
    expect(committedBefore.reduce((a, b) => a + b, 0)).toBe(1000);

    // More acknowledged (sync:1: on the replica too), then the master dies hard.
    const second = await producer.sendMany(Array.from({ length: 500 }, (_, i) => ({ topic, keys: [`b-${i}`], body: `b-${i}` })));
    await producer.close();
    await group.kill(0);

    // A new dc2 consumer of the group is routed to the replica and continues from the committed offsets.
    const after: ReceivedMessage[] = [];
    const consumer = new PushConsumer({ routers: [router], room: 'dc2', group: consumerGroup, topic, startFrom: 'first', commitIntervalMs: 100, handler: (m) => void after.push(m) });
    await consumer.start();
    await waitFor(() => second.every((r) => after.some((m) => m.messageId === r.messageId)), 'every acknowledged key of the second batch from the replica', 30_000);
    expect(new Set(after.map((m) => m.brokerName))).toEqual(new Set(['broker-a/1@dc2']));
    for (let q = 0; q < QUEUES; q++) {
      const firstOffset = Math.min(...after.filter((m) => m.queueId === q).map((m) => m.queueOffset));
      expect(firstOffset, `queue ${q} restarted before its committed offset`).toBeGreaterThanOrEqual(committedBefore[q]!);
    }
    await consumer.close();
    // Progress recorded at the replica is durable there.
    const atReplica = await committed(group.endpoint(1), consumerGroup, topic);
    expect(atReplica.reduce((a, b) => a + b, 0)).toBe(1500);

    // The master comes back: the replica's progress reaches it, nothing rolls back.
    await group.restart(0);
    await waitFor(async () => (await committed(group.endpoint(0), consumerGroup, topic)).every((o, q) => o >= atReplica[q]!), 'the master to hold the offsets committed at the replica', 20_000);
  }, 120_000);
});
