import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer as OfficialProducer, PushConsumer as OfficialPushConsumer, SimpleConsumer as OfficialSimpleConsumer, ConsumeResult } from 'rocketmq-client-nodejs';
import { PushConsumer } from '@roomq/client';
import { TestCluster, uniqueName, waitFor } from './helpers/cluster.js';

/**
 * The official RocketMQ 5 Node.js client (rocketmq-client-nodejs 1.0.8), unchanged, against a roomq cluster:
 * its producer starts, sends and shuts down; its consumers, which need receive/ack semantics roomq lacks, fail
 * at once with NOT_IMPLEMENTED instead of hanging.
 */

/** The official client's logger interface; keeps its output out of the test log and lets tests read it. */
class RecordingLogger {
  readonly errors: string[] = [];
  info(): void {}
  debug(): void {}
  warn(): void {}
  error(...args: unknown[]): void {
    this.errors.push(format(...args));
  }
}

/** Resolves as `promise` does, or rejects once `timeoutMs` passed: for calls that must not hang. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

describe('official rocketmq-client-nodejs 1.0.8 against roomq', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ autoCreateTopics: true });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('Producer starts, sends 100 messages roomq delivers intact, and shuts down', async () => {
    const topic = uniqueName('official');
    const logger = new RecordingLogger();
    // Six topics: the client listens for the broker's settings only after its last route query, so the first
    // answer goes unheard and startup completes only because the broker repeats it (without, it hangs 5 min).
    const producer = new OfficialProducer({ endpoints: cluster.routerEndpoint, namespace: '', topics: [topic, ...Array.from({ length: 5 }, () => uniqueName('official-spare'))], logger });
    const sent: Array<{ key: string; body: string; messageId: string; offset: number }> = [];
    try {
      await within(producer.startup(), 10_000, 'official producer startup');
      // The broker's publishing settings reached the client: its retry policy now backs off (1 s, then x2).
      expect(producer.publishingSettings.getRetryPolicy()!.getNextAttemptDelay(2)).toBe(2);

      for (let i = 0; i < 100; i++) {
        const key = `key-${i}`;
        const body = `official-body-${i}`;
        const receipt = await producer.send({ topic, tag: 'tagA', keys: [key], body: Buffer.from(body), properties: new Map([['n', String(i)]]) });
        expect(receipt, `receipt of message ${i}`).toBeDefined();
        expect(receipt!.messageId).toMatch(/^[0-9A-F]{34}$/);
        sent.push({ key, body, messageId: receipt!.messageId, offset: Number(receipt!.offset) });
      }
      expect(new Set(sent.map((s) => s.messageId)).size).toBe(100);
      // The client only publishes to queue 0 of the single broker, so receipts count up from 0.
      expect(sent.map((s) => s.offset)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    } finally {
      const started = Date.now();
      await within(producer.shutdown(), 5_000, 'official producer shutdown');
      expect(Date.now() - started).toBeLessThan(5_000);
    }
    expect(logger.errors).toEqual([]);

    const got = new Map<string, { messageId: string; tag: string; body: string; n: string | undefined }>();
    const consumer = new PushConsumer({
      routers: [cluster.routerEndpoint],
      group: uniqueName('official-reader'),
      topic,
      startFrom: 'first',
      handler: (m) => void got.set(m.keys[0] ?? '', { messageId: m.messageId, tag: m.tag, body: m.body.toString(), n: m.properties['n'] }),
    });
    await consumer.start();
    try {
      await waitFor(() => got.size >= 100, '100 messages of the official producer');
    } finally {
      await consumer.close();
    }
    expect(got.size).toBe(100);
    sent.forEach((s, i) => {
      expect(got.get(s.key), s.key).toEqual({ messageId: s.messageId, tag: 'tagA', body: s.body, n: String(i) });
    });
  });

  it('SimpleConsumer starts, then receive() rejects at once with NOT_IMPLEMENTED', async () => {
    const topic = uniqueName('official-simple');
    const consumer = new OfficialSimpleConsumer({
      endpoints: cluster.routerEndpoint,
      namespace: '',
      consumerGroup: uniqueName('official-simple-g'),
      subscriptions: new Map([[topic, '*']]),
      awaitDuration: 5_000,
      logger: new RecordingLogger(),
    });
    try {
      await within(consumer.startup(), 10_000, 'official simple consumer startup');
      const started = Date.now();
      const error = await within(consumer.receive(10), 3_000, 'receive()').then(
        () => undefined,
        (err: unknown) => err as Error & { code?: number },
      );
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error?.code).toBe(50100); // apache.rocketmq.v2.Code.NOT_IMPLEMENTED
      expect(error?.message).toMatch(/NOT_IMPLEMENTED\] ReceiveMessage is not supported by the roomq broker yet; .*PushConsumer of @roomq\/client/);
    } finally {
      await within(consumer.shutdown(), 5_000, 'official simple consumer shutdown');
    }
  });

  it('PushConsumer starts, and its first assignment query fails with NOT_IMPLEMENTED', async () => {
    const topic = uniqueName('official-push');
    const logger = new RecordingLogger();
    let consumed = 0;
    const consumer = new OfficialPushConsumer({
      endpoints: cluster.routerEndpoint,
      namespace: '',
      consumerGroup: uniqueName('official-push-g'),
      subscriptions: new Map([[topic, '*']]),
      messageListener: {
        async consume() {
          consumed++;
          return ConsumeResult.SUCCESS;
        },
      },
      logger,
    });
    try {
      await within(consumer.startup(), 10_000, 'official push consumer startup');
      // The client has no error callback: the failure shows in its log, 1 s after startup and every 5 s after.
      const line = await waitFor(() => logger.errors.find((e) => e.includes('QueryAssignment is not supported')), 'the push consumer to log NOT_IMPLEMENTED', 5_000);
      expect(line).toContain('50100');
      expect(consumed).toBe(0);
    } finally {
      await within(consumer.shutdown(), 5_000, 'official push consumer shutdown');
    }
  });
});
