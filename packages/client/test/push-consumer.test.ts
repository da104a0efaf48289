import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATION_SWITCH_PROPERTY } from '@roomq/protocol';
import { PushConsumer, type PushConsumerOptions, type ReceivedMessage, type RoomqError } from '../src/index.js';
import { startCluster, uniqueName, waitFor, type FakeBroker } from './fake-cluster.js';

type Cluster = Awaited<ReturnType<typeof startCluster>>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function cluster(brokers: string[], queues = 2): Promise<{ cluster: Cluster; topic: string; group: string }> {
  const topic = uniqueName('events');
  const c = await startCluster(brokers, { [topic]: queues });
  cleanups.push(c.close);
  return { cluster: c, topic, group: uniqueName('group') };
}

function fill(broker: FakeBroker, topic: string, queueId: number, count: number, from = 0): void {
  for (let i = from; i < from + count; i++) broker.append(topic, queueId, `${broker.name}-${queueId}-${i}`, `body-${i}`);
}

function consumer(c: Cluster, topic: string, group: string, options: Partial<PushConsumerOptions> & Pick<PushConsumerOptions, 'handler'>): PushConsumer {
  const pc = new PushConsumer({ routers: [c.router.endpoint], group, topic, commitIntervalMs: 20, retryBackoff: { initialDelayMs: 5, maxDelayMs: 50 }, ...options });
  cleanups.push(() => pc.close());
  return pc;
}

/** Messages per queue, in delivery order. */
function byQueue(messages: ReceivedMessage[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const m of messages) {
    const key = `${m.broker}/${m.queueId}`;
    out.set(key, [...(out.get(key) ?? []), m.queueOffset]);
  }
  return out;
}

function committed(broker: FakeBroker, group: string, topic: string, queueId: number): number | undefined {
  return broker.offsets.get(`${group}|${topic}|${queueId}`);
}

describe('PushConsumer', () => {
  it('receives every message of every queue in queue order and commits the offsets', async () => {
    const { cluster: c, topic, group } = await cluster(['broker-a', 'broker-b']);
    for (const b of c.brokers) for (const q of [0, 1]) fill(b, topic, q, 100);
    const seen: ReceivedMessage[] = [];
    const pc = consumer(c, topic, group, { handler: (m) => void seen.push(m) });
    await pc.start();
    await waitFor(() => seen.length === 400, '400 messages');
    for (const offsets of byQueue(seen).values()) expect(offsets).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(seen[0]).toMatchObject({ topic, body: Buffer.from('body-0'), broker: expect.stringMatching(/^broker-/) });
    // New messages keep streaming in.
    fill(c.brokers[0]!, topic, 1, 5, 100);
    await waitFor(() => seen.length === 405, 'live messages');
    await waitFor(() => c.brokers.every((b) => committed(b, group, topic, 0) === 100), 'periodic commits');
    await pc.close();
    expect(committed(c.brokers[0]!, group, topic, 1)).toBe(105);
    const stats = pc.stats();
    expect(stats).toMatchObject({ status: 'closed', consumed: 405 });
    expect(stats.queues.find((q) => q.broker === 'broker-a' && q.queueId === 1)).toMatchObject({ consumedOffset: 105, committedOffset: 105, maxOffset: 105 });
  });

  it('resumes from the committed offset after a restart, and startFrom last skips history for a new group', async () => {
    const { cluster: c, topic, group } = await cluster(['broker-a'], 1);
    const broker = c.brokers[0]!;
    fill(broker, topic, 0, 10);
    const first: number[] = [];
    const pc1 = consumer(c, topic, group, { handler: (m) => void first.push(m.queueOffset) });
    await pc1.start();
    await waitFor(() => first.length === 10, 'first 10');
    await pc1.close();
    expect(committed(broker, group, topic, 0)).toBe(10);

    fill(broker, topic, 0, 5, 10);
    const second: number[] = [];
    const pc2 = consumer(c, topic, group, { handler: (m) => void second.push(m.queueOffset) });
    await pc2.start();
    await waitFor(() => second.length === 5, 'the 5 new messages');
    expect(second).toEqual([10, 11, 12, 13, 14]);
    await pc2.close();

    const fresh: number[] = [];
    const pc3 = consumer(c, topic, uniqueName('late-group'), { startFrom: 'last', handler: (m) => void fresh.push(m.queueOffset) });
    await pc3.start();
    await waitFor(() => broker.subscriberCount() === 1, 'the subscription');
    fill(broker, topic, 0, 1, 15);
    await waitFor(() => fresh.length === 1, 'the live message');
    expect(fresh).toEqual([15]);
  });

  it('redelivers a message whose handler failed, without skipping or reordering', async () => {
    const { cluster: c, topic, group } = await cluster(['broker-a'], 1);
    fill(c.brokers[0]!, topic, 0, 5);
    const calls: number[] = [];
    const errors: RoomqError[] = [];
    let failures = 0;
    const pc = consumer(c, topic, group, {
      onError: (e) => errors.push(e),
      handler: async (m) => {
        calls.push(m.queueOffset);
        if (m.queueOffset === 2 && failures < 2) {
          failures++;
          throw new Error('downstream unavailable');
        }
      },
    });
    await pc.start();
    await waitFor(() => calls.length === 7, 'all deliveries');
    expect(calls).toEqual([0, 1, 2, 2, 2, 3, 4]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ details: { offset: 2, queueId: 0 } });
    await pc.close();
    expect(committed(c.brokers[0]!, group, topic, 0)).toBe(5);
    expect(pc.stats().handlerFailures).toBe(2);
  });

  it('reconnects after the broker drops the stream, continuing where it was', async () => {
    const { cluster: c, topic, group } = await cluster(['broker-a'], 1);
    const broker = c.brokers[0]!;
    fill(broker, topic, 0, 50);
    const seen: number[] = [];
    const pc = consumer(c, topic, group, { handler: (m) => void seen.push(m.queueOffset) });
    await pc.start();
    await waitFor(() => seen.length === 50, 'first 50');
    broker.breakSubscriptions();
    fill(broker, topic, 0, 50, 50);
    await waitFor(() => seen.length === 100, 'the rest after reconnecting');
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('never moves an offset backwards, even when the broker answers with a stale one', async () => {
    const { cluster: c, topic, group } = await cluster(['broker-a'], 1);
    const broker = c.brokers[0]!;
    fill(broker, topic, 0, 20);
    const seen: number[] = [];
    const pc = consumer(c, topic, group, { handler: (m) => void seen.push(m.queueOffset) });
    await pc.start();
    await waitFor(() => seen.length === 20, 'first 20');
    await pc.commit();
    expect(committed(broker, group, topic, 0)).toBe(20);

    // A failover to a replica that has not caught up: it reports an older committed offset.
    broker.staleGetOffset = 3;
    broker.breakSubscriptions();
    fill(broker, topic, 0, 5, 20);
    await waitFor(() => seen.length === 25, 'new messages after the reconnect');
    expect(seen.slice(20)).toEqual([20, 21, 22, 23, 24]);
    await pc.close();
    const sent = broker.offsetUpdates.filter((u) => u.group === group).map((u) => u.offset);
    expect(sent).toEqual([...sent].sort((a, b) => a - b));
    expect(sent.at(-1)).toBe(25);
  });

  it('reports a corrupt record and retries it instead of skipping it', async () => {
    const { cluster: c, topic, group } = await cluster(['broker-a'], 1);
    const broker = c.brokers[0]!;
    fill(broker, topic, 0, 10);
    const repair = broker.corrupt(topic, 0, 3);
    const seen: number[] = [];
    const errors: RoomqError[] = [];
    const pc = consumer(c, topic, group, { onError: (e) => errors.push(e), handler: (m) => void seen.push(m.queueOffset) });
    await pc.start();
    await waitFor(() => errors.length >= 2, 'corruption reported (and retried)');
    expect(seen).toEqual([0, 1, 2]);
    expect(errors[0]).toMatchObject({ code: 'MESSAGE_CORRUPTED', details: { offset: 3, queueId: 0, broker: 'broker-a' } });
    repair();
    await waitFor(() => seen.length === 10, 'the rest after the repair');
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it('pauses the stream while the handler is behind, bounding the buffer', async () => {
    const { cluster: c, topic, group } = await cluster(['broker-a'], 1);
    fill(c.brokers[0]!, topic, 0, 2000);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    const pc = consumer(c, topic, group, {
      maxBufferedMessages: 32,
      handler: async () => {
        await gate;
        handled++;
      },
    });
    await pc.start();
    await waitFor(() => (pc.stats().queues[0]?.buffered ?? 0) >= 32, 'a full buffer');
    // Frames already on the wire still arrive after the pause; nothing beyond a frame more is buffered.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pc.stats().queues[0]!.buffered).toBeLessThanOrEqual(32 + 16);
    release();
    await waitFor(() => handled === 2000, 'everything once the handler catches up', 10_000);
  });

  it('holds a record routed by a migration switch its assignment has not seen, until the assignment catches up', async () => {
    const { cluster: c, topic, group } = await cluster(['broker-a'], 1);
    const broker = c.brokers[0]!;
    fill(broker, topic, 0, 5);
    // A producer already routed by switch 1 (its route changed first); this consumer's assignment says 0.
    broker.append(topic, 0, 'stamped', 'body-5', { properties: { [MIGRATION_SWITCH_PROPERTY]: '1' } });
    fill(broker, topic, 0, 2, 6);
    const seen: ReceivedMessage[] = [];
    const pc = consumer(c, topic, group, { handler: (m) => void seen.push(m), assignmentRefreshMs: 60_000 });
    await pc.start();
    await waitFor(() => seen.length === 5, 'the records before the stamped one');
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((m) => m.queueOffset)).toEqual([0, 1, 2, 3, 4]);
    // The router now reports switch 1 (with no push): the consumer asked again by itself and goes on, in order.
    c.router.control.migrationVersion = 1;
    await waitFor(() => seen.length === 8, 'the held record and the ones after it');
    expect(seen.map((m) => m.queueOffset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('rejects start() for an unknown topic and a bad group name at construction', async () => {
    const { cluster: c, group } = await cluster(['broker-a'], 1);
    const pc = consumer(c, 'no-such-topic', group, { handler: () => undefined });
    await expect(pc.start()).rejects.toMatchObject({ code: 'TOPIC_NOT_FOUND' });
    expect(() => new PushConsumer({ routers: [c.router.endpoint], group: 'bad group', topic: 't', handler: () => undefined })).toThrow(/group name/);
  });
});
