import { afterEach, describe, expect, it } from 'vitest';
import { Producer, isRoomqError, type ProducerOptions, type SendReceipt } from '../src/index.js';
import { startCluster, uniqueName, waitFor } from './fake-cluster.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(brokers: string[], options: Partial<ProducerOptions> = {}): Promise<{ cluster: Cluster; producer: Producer; topic: string }> {
  const topic = uniqueName('orders');
  const cluster = await startCluster(brokers, { [topic]: 4 });
  const producer = new Producer({ routers: [cluster.router.endpoint], room: 'dc1', retryBackoff: { initialDelayMs: 5, maxDelayMs: 50 }, ...options });
  cleanups.push(cluster.close);
  cleanups.push(() => producer.close());
  await producer.start();
  return { cluster, producer, topic };
}

describe('Producer', () => {
  it('sends a message and returns where the broker stored it', async () => {
    const { cluster, producer, topic } = await setup(['broker-a']);
    const receipt = await producer.send({ topic, body: 'hello', keys: ['order-1'], tag: 'paid', properties: { region: 'dc1' } });
    const broker = cluster.brokers[0]!;
    expect(receipt).toMatchObject({ topic, broker: 'broker-a', endpoint: broker.endpoint, queueOffset: 0 });
    const stored = broker.topics.get(topic)![receipt.queueId]![receipt.queueOffset]!;
    expect(stored.messageId).toBe(receipt.messageId);
    // The client names itself to the router; the data path to the broker carries no per-call metadata.
    expect(cluster.router.lastMetadata?.get('x-mq-client-id')[0]).toMatch(/^dc1@.+@\d+@\d+$/);
    expect(cluster.router.lastMetadata?.get('x-mq-language')).toEqual(['NODE_JS']);
    expect(cluster.router.lastMetadata?.get('x-mq-protocol')).toEqual(['v2']);
  });

  it('rejects invalid messages before anything reaches the wire', async () => {
    const { cluster, producer, topic } = await setup(['broker-a'], { maxBodyBytes: 1024 });
    await expect(producer.send({ topic: 'bad topic!', body: 'x' })).rejects.toMatchObject({ code: 'INVALID_TOPIC' });
    await expect(producer.send({ topic, body: Buffer.alloc(1025) })).rejects.toMatchObject({ code: 'BODY_TOO_LARGE', message: expect.stringMatching(/maxBodyBytes/) });
    await expect(producer.send({ topic, body: 'x', tag: 'a|b' })).rejects.toMatchObject({ code: 'INVALID_TAG' });
    await expect(producer.sendMany([{ topic, body: 'ok' }, { topic, body: Buffer.alloc(2000) }])).rejects.toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(cluster.brokers[0]!.framesReceived).toBe(0);
    expect(cluster.router.getRouteCalls).toBe(0);
  });

  it('fails with a clear error for an unknown topic', async () => {
    const { producer } = await setup(['broker-a']);
    const err = await producer.send({ topic: 'no-such-topic', body: 'x' }).catch((e: unknown) => e);
    expect(isRoomqError(err, 'TOPIC_NOT_FOUND')).toBe(true);
  });

  it('packs many messages into few frames and spreads them over queues and brokers', async () => {
    const { cluster, producer, topic } = await setup(['broker-a', 'broker-b']);
    const receipts = await Promise.all(Array.from({ length: 2000 }, (_, i) => producer.send({ topic, body: `m${i}` })));
    const frames = cluster.brokers.reduce((n, b) => n + b.framesReceived, 0);
    expect(frames).toBeLessThanOrEqual(40);
    const perQueue = new Map<string, number>();
    for (const r of receipts) perQueue.set(`${r.broker}/${r.queueId}`, (perQueue.get(`${r.broker}/${r.queueId}`) ?? 0) + 1);
    expect(perQueue.size).toBe(8);
    for (const count of perQueue.values()) expect(count).toBe(250);
    expect(new Set(receipts.map((r) => r.messageId)).size).toBe(2000);

    const many = await producer.sendMany(Array.from({ length: 500 }, (_, i) => ({ topic, body: `n${i}` })));
    expect(many).toHaveLength(500);
    expect(many.every((r) => r.topic === topic)).toBe(true);
  });

  it('keeps messages with the same sharding key on one queue, in order', async () => {
    const { producer, topic } = await setup(['broker-a', 'broker-b']);
    const receipts = await producer.sendMany(Array.from({ length: 50 }, (_, i) => ({ topic, body: `${i}`, shardingKey: 'customer-42' })));
    expect(new Set(receipts.map((r) => `${r.broker}/${r.queueId}`)).size).toBe(1);
    const offsets = receipts.map((r) => r.queueOffset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  });

  it('bounds messages in flight: send() waits until acknowledgements free room', async () => {
    const { cluster, producer, topic } = await setup(['broker-a'], { maxInFlightMessages: 10 });
    const broker = cluster.brokers[0]!;
    broker.holdAcks();
    let settled = 0;
    const sends = Array.from({ length: 30 }, (_, i) =>
      producer.send({ topic, body: `m${i}` }).then((r) => {
        settled++;
        return r;
      }),
    );
    await waitFor(() => broker.received.length === 10, 'the first 10 messages at the broker');
    // Give the producer every chance to exceed the bound before checking it did not.
    await new Promise((resolve) => setImmediate(resolve));
    expect(broker.received.length).toBe(10);
    expect(producer.stats().inFlight).toBe(10);
    expect(settled).toBe(0);
    broker.releaseAcks();
    await waitFor(() => broker.received.length >= 20, 'the next messages once acks returned');
    broker.releaseAcks();
    await waitFor(() => broker.received.length === 30, 'all messages');
    broker.releaseAcks();
    const receipts = await Promise.all(sends);
    expect(receipts.map((r) => r.queueOffset).sort((a, b) => a - b)).toHaveLength(30);
    expect(broker.received).toHaveLength(30);
  });

  it('moves a message to another broker after a retriable error, keeping its message ID', async () => {
    const { cluster, producer, topic } = await setup(['broker-a', 'broker-b']);
    const [a, b] = cluster.brokers as [typeof cluster.brokers[0], typeof cluster.brokers[0]];
    a.failPublish = 'STORAGE_FAILED';
    const receipts = await producer.sendMany(Array.from({ length: 20 }, (_, i) => ({ topic, body: `m${i}` })));
    expect(receipts.every((r) => r.broker === 'broker-b')).toBe(true);
    expect(a.received.length).toBeGreaterThan(0);
    const storedOnB = new Set(b.messages(topic).map((m) => m.messageId));
    for (const id of a.received) expect(storedOnB.has(id)).toBe(true);
    expect(a.messages(topic)).toHaveLength(0);
    expect(producer.stats().retried).toBeGreaterThan(0);
  });

  it('moves messages off a broker that cannot be reached', async () => {
    const { cluster, producer, topic } = await setup(['broker-a', 'broker-b']);
    await cluster.brokers[0]!.close();
    const receipts = await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic, body: `m${i}` })));
    expect(receipts.every((r) => r.broker === 'broker-b')).toBe(true);
  });

  it('times out a hanging broker, naming it, and retries elsewhere', async () => {
    const { cluster, producer, topic } = await setup(['broker-a', 'broker-b'], { sendTimeoutMs: 200, maxAttempts: 2 });
    const [a, b] = cluster.brokers as [typeof cluster.brokers[0], typeof cluster.brokers[0]];
    a.hang = true;
    const receipts = await Promise.all(Array.from({ length: 4 }, (_, i) => producer.send({ topic, body: `m${i}` })));
    expect(receipts.every((r) => r.broker === 'broker-b')).toBe(true);

    b.hang = true;
    const err = await producer.send({ topic, body: 'lost' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/broker-[ab]/) });
  });

  it('rejects at once on a non-retriable error', async () => {
    const { cluster, producer, topic } = await setup(['broker-a', 'broker-b']);
    for (const broker of cluster.brokers) broker.failPublish = 'INVALID_PROPERTY';
    const err = await producer.send({ topic, body: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_PROPERTY', retriable: false });
    expect(cluster.brokers.reduce((n, b) => n + b.received.length, 0)).toBe(1);
    expect(producer.stats().retried).toBe(0);
  });

  it('gives up after maxAttempts with the last retriable error', async () => {
    const { cluster, producer, topic } = await setup(['broker-a', 'broker-b'], { maxAttempts: 3 });
    for (const broker of cluster.brokers) broker.failPublish = 'FORBIDDEN';
    const err = await producer.send({ topic, body: 'x' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FORBIDDEN' });
    const ids = cluster.brokers.flatMap((b) => b.received);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
  });

  it('close() waits for in-flight sends, then refuses new ones', async () => {
    const { cluster, producer, topic } = await setup(['broker-a']);
    const broker = cluster.brokers[0]!;
    broker.holdAcks();
    const pending = producer.send({ topic, body: 'in flight' });
    await waitFor(() => broker.received.length === 1, 'the message at the broker');
    const closing = producer.close();
    await expect(producer.send({ topic, body: 'late' })).rejects.toMatchObject({ code: 'CLOSED' });
    broker.releaseAcks();
    const receipt: SendReceipt = await pending;
    expect(receipt.queueOffset).toBe(0);
    await closing;
    expect(producer.stats().status).toBe('closed');
    await producer.close();
  });

  it('fails a bad configuration at construction, naming the field', () => {
    expect(() => new Producer({ routers: ['nohostport'] })).toThrow(/routers\.0/);
    expect(() => new Producer({ routers: ['127.0.0.1:1'], maxInFlightMessages: 0 })).toThrow(/maxInFlightMessages/);
  });
});
