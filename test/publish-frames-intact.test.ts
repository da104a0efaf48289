import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Producer, PushConsumer, type ReceivedMessage } from '@roomq/client';
import { TestCluster, uniqueName, waitFor } from './helpers/cluster.js';

const QUEUES = 4;

function digest(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * The broker gathers big publish frames into one reused arena and hands the memory back once a frame's messages
 * are copied into the log (receive-arena.ts). Released too early, a later frame would overwrite messages not yet
 * copied. Several producers keep many large frames in flight, so frames are gathered while others wait, the
 * arena wraps and fills, and some frames take the fallback: every body must come back as it was sent.
 */
describe('publish frames gathered into reused memory', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start({ autoCreateTopics: false, brokers: [{ flushMode: 'sync' }] });
  });
  afterAll(async () => cluster?.stop());

  it('store every body of concurrent large batches intact', async () => {
    const router = cluster.routerEndpoint;
    const topic = uniqueName('frames');
    const admin = new Admin({ router });
    await admin.createTopic(topic, { queuesPerBroker: QUEUES });
    admin.close();

    const sent = new Map<string, string>();
    const producers = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const producer = new Producer({ routers: [router], maxInFlightMessages: 4000 });
        await producer.start();
        return producer;
      }),
    );
    await Promise.all(
      producers.map(async (producer, p) => {
        const batches: Array<Promise<unknown>> = [];
        for (let b = 0; b < 12; b++) {
          const messages = Array.from({ length: 150 }, (_, i) => {
            const key = `p${p}-b${b}-m${i}`;
            const body = randomBytes(1024 + ((p * 7 + b * 13 + i) % 3072));
            sent.set(key, digest(body));
            return { topic, keys: [key], body };
          });
          batches.push(producer.sendMany(messages));
        }
        await Promise.all(batches);
      }),
    );
    await Promise.all(producers.map((p) => p.close()));

    const got: ReceivedMessage[] = [];
    const consumer = new PushConsumer({ routers: [router], group: uniqueName('audit'), topic, startFrom: 'first', handler: (m) => void got.push(m) });
    await consumer.start();
    await waitFor(() => got.length >= sent.size, `${sent.size} messages of ${topic}`, 60_000);
    await consumer.close();

    expect(got.length).toBe(sent.size);
    const wrong = got.filter((m) => sent.get(m.keys[0]!) !== digest(m.body)).map((m) => m.keys[0]);
    expect(wrong).toEqual([]);
  });
});
