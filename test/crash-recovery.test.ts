import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer, type ReceivedMessage, type SendReceipt } from '@roomq/client';
import { TestCluster, uniqueName, waitFor } from './helpers/cluster.js';
import { committedOffsets } from './helpers/raw-clients.js';

const QUEUES = 4;

/** Reads every queue of `topic` from the start as a fresh group, until `expected` messages arrived or idle. */
async function readAll(router: string, topic: string, expected: number): Promise<ReceivedMessage[]> {
  const got: ReceivedMessage[] = [];
  const consumer = new PushConsumer({ routers: [router], group: uniqueName('audit'), topic, startFrom: 'first', handler: (m) => void got.push(m) });
  await consumer.start();
  let last = got.length;
  let idleSince = Date.now();
  await waitFor(() => {
    if (got.length !== last) {
      last = got.length;
      idleSince = Date.now();
    }
    return got.length >= expected && Date.now() - idleSince > 500;
  }, `${expected} messages of ${topic}`, 60_000);
  await consumer.close();
  return got;
}

function committed(endpoint: string, group: string, topic: string): Promise<number[]> {
  return committedOffsets(endpoint, group, topic, QUEUES);
}

describe('kill -9 of a broker with sync flush', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ autoCreateTopics: false, brokers: [{ flushMode: 'sync', segmentSizeBytes: 1024 * 1024 }] });
  });
  afterAll(async () => cluster?.stop());

  it('keeps every acknowledged message exactly once, in order, and the group resumes from its committed offsets', async () => {
    const router = cluster.routerEndpoint;
    const topic = uniqueName('crash');
    const group = uniqueName('group');
    const admin = new Admin({ router });
    await admin.createTopic(topic, { queuesPerBroker: QUEUES });
    admin.close();

    // Phase 1: a backlog, half of it consumed and committed by `group`.
    const acked = new Map<string, SendReceipt>();
    const producer = new Producer({ routers: [router], maxAttempts: 1, sendTimeoutMs: 3000 });
    await producer.start();
    const first = await producer.sendMany(Array.from({ length: 2000 }, (_, i) => ({ topic, keys: [`a-${i}`], body: `body-a-${i}` })));
    first.forEach((r, i) => acked.set(`a-${i}`, r));

    let consumed = 0;
    const consumer = new PushConsumer({ routers: [router], group, topic, startFrom: 'first', commitIntervalMs: 100, handler: () => void consumed++ });
    await consumer.start();
    await waitFor(() => consumed >= 1000, 'the group to consume 1000 messages');
    await consumer.close();
    const committedBefore = await committed(cluster.broker().ready.endpoint, group, topic);
    expect(committedBefore.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1000);

    // Phase 2: a pump keeps 200 sends in flight; the broker is killed under it.
    let i = 0;
    let failures = 0;
    let stopSending = false;
    const inFlight = new Set<Promise<void>>();
    const pump = async (): Promise<void> => {
      while (!stopSending) {
        if (inFlight.size < 200) {
          const key = `b-${i++}`;
          const p: Promise<void> = producer
            .send({ topic, keys: [key], body: `body-${key}` })
            .then((r) => void acked.set(key, r), () => void failures++)
            .finally(() => inFlight.delete(p));
          inFlight.add(p);
        } else {
          await Promise.race(inFlight);
        }
      }
      await Promise.allSettled([...inFlight]);
    };
    const pumping = pump();
    await waitFor(() => acked.size >= 6000, '4000 more acknowledged sends');
    expect(inFlight.size).toBeGreaterThan(0);
    await cluster.killBroker();
    await waitFor(() => failures > 0, 'the producer to notice the broker is gone');
    stopSending = true;
    await pumping;
    await producer.close();
    await cluster.restartBroker();

    // Every acknowledged message is there exactly once, at the queue offset its receipt named.
    const all = await readAll(router, topic, acked.size);
    const seen = new Map<string, ReceivedMessage>();
    for (const m of all) {
      const key = m.keys[0]!;
      expect(seen.has(key), `key ${key} delivered twice`).toBe(false);
      seen.set(key, m);
    }
    for (const [key, receipt] of acked) {
      const m = seen.get(key);
      expect(m, `acknowledged key ${key} missing after the crash`).toBeDefined();
      expect({ queueId: m!.queueId, queueOffset: m!.queueOffset }).toEqual({ queueId: receipt.queueId, queueOffset: receipt.queueOffset });
      expect(m!.body.toString()).toBe(`body-${key.startsWith('a-') ? `a-${key.slice(2)}` : key}`);
    }
    // Per-queue order: offsets 0..n-1 with no gap or repeat, delivered in order.
    for (let q = 0; q < QUEUES; q++) {
      const offsets = all.filter((m) => m.queueId === q).map((m) => m.queueOffset);
      expect(offsets).toEqual(offsets.map((_, n) => n));
    }

    // The group resumes from its committed offsets, never earlier.
    const committedAfter = await committed(cluster.broker().ready.endpoint, group, topic);
    for (let q = 0; q < QUEUES; q++) expect(committedAfter[q]).toBeGreaterThanOrEqual(committedBefore[q]!);
    const resumed: ReceivedMessage[] = [];
    const again = new PushConsumer({ routers: [router], group, topic, startFrom: 'first', handler: (m) => void resumed.push(m) });
    await again.start();
    await waitFor(() => resumed.length >= 100, 'the group to resume');
    await again.close();
    for (let q = 0; q < QUEUES; q++) {
      const firstOffset = resumed.find((m) => m.queueId === q)?.queueOffset;
      if (firstOffset !== undefined) expect(firstOffset).toBeGreaterThanOrEqual(committedAfter[q]!);
    }
  }, 180_000);
});
