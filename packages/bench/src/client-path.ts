import { Admin, Producer, PushConsumer } from '@roomq/client';
import { oneInFlight } from './one-in-flight.js';

const BODY = Buffer.alloc(1024, 0x62);

export async function createTopic(router: string, topic: string, queues: number, mode?: string): Promise<void> {
  const admin = new Admin({ router });
  await admin.createTopic(topic, { queuesPerBroker: queues, ...(mode ? { mode } : {}) });
  await admin.close();
}

/** Publish throughput through the SDK: `count` messages with up to `inFlight` unacknowledged. */
export async function publishThroughput(
  routers: string | string[],
  topic: string,
  count: number,
  inFlight: number,
  room?: string,
): Promise<{ msgsPerSec: number; failed: number; rooms: string[] }> {
  const producer = new Producer({ routers: typeof routers === 'string' ? [routers] : routers, maxInFlightMessages: inFlight, topics: [topic], ...(room ? { room } : {}) });
  const rooms = new Set<string>();
  await producer.start();
  // Warm the stream and the route so connection setup is not timed.
  await producer.sendMany(Array.from({ length: 256 }, () => ({ topic, body: BODY })));
  let failed = 0;
  let next = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let done = 0;
    const launch = (): void => {
      next++;
      producer
        .send({ topic, body: BODY })
        .then((receipt) => void rooms.add(receipt.room), () => void failed++)
        .finally(() => {
          done++;
          if (next < count) launch();
          else if (done === count) resolve();
        });
    };
    for (let i = 0; i < Math.min(inFlight, count); i++) launch();
  });
  const elapsed = (performance.now() - started) / 1000;
  await producer.close();
  return { msgsPerSec: count / elapsed, failed, rooms: [...rooms] };
}

/** Latency of durable sends with exactly one in flight. */
export async function sendLatency(router: string, topic: string, count: number): Promise<Record<string, number>> {
  const producer = new Producer({ routers: [router], topics: [topic] });
  await producer.start();
  const latency = await oneInFlight(() => producer.send({ topic, body: BODY }), 200, count);
  await producer.close();
  return latency;
}

/** Consumes a backlog of `count` messages as a new group; returns messages per second. */
export async function backlogConsume(router: string, topic: string, count: number): Promise<{ msgsPerSec: number }> {
  let received = 0;
  let started = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const consumer = new PushConsumer({
    routers: [router],
    group: `bench-${Date.now().toString(36)}`,
    topic,
    startFrom: 'first',
    handler: () => {
      if (received === 0) started = performance.now();
      if (++received >= count) finish();
    },
  });
  await consumer.start();
  await done;
  const elapsed = (performance.now() - started) / 1000;
  await consumer.close();
  return { msgsPerSec: count / elapsed };
}
