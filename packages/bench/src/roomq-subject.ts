import { setTimeout as sleep } from 'node:timers/promises';
import { Producer, PushConsumer, isRoomqError } from '@roomq/client';
import { createTopic } from './client-path.js';
import { BenchCluster } from './local-servers.js';
import type { Durability, Session, Subject, Subscription } from './peers/peer.js';

/**
 * Queues per topic in the side-by-side scenarios: one, like each peer's one stream or queue. More queues would
 * add consumer streams no peer gets, and spread a burst over several connections (a write each).
 */
const QUEUES = 1;
/** In-flight cap of the SDK producer, the same 1,000 the scenario keeps in flight. */
const MAX_IN_FLIGHT = 1000;
/** A topic just created may route to no writable queue until its broker has it; this is as long as we wait. */
const TOPIC_READY_TIMEOUT_MS = 15_000;

/** What roomq's acknowledgement means in each flush mode, as the side-by-side labels it. */
const FLUSH_MODES = {
  sync: {
    id: 'roomq',
    label: 'roomq (1 broker, sync flush)',
    shortLabel: 'roomq',
    durability: { fsyncedBeforeAck: true, ackMeans: 'ack after write + fdatasync on the master (group commit); no replica in this setup' },
  },
  async: {
    id: 'roomq:async',
    label: 'roomq (1 broker, async flush)',
    shortLabel: 'roomq async',
    durability: { fsyncedBeforeAck: false, ackMeans: 'ack after write() to the commit log; fdatasync every 200 ms (flushIntervalMs), so a power loss can lose that much' },
  },
} as const satisfies Record<'sync' | 'async', { id: string; label: string; shortLabel: string; durability: Durability }>;

/**
 * roomq through the SDK, seen by the side-by-side scenarios like any peer: one router and one broker process
 * on loopback, no replica (the replication section measures chains). A session is a topic. Sync flush is
 * roomq's default and headline; async flush is measured beside the peers that also ack before fsync.
 */
export class RoomqSubject implements Subject {
  readonly id: string;
  readonly label: string;
  readonly shortLabel: string;
  readonly durability: Durability;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly cluster: BenchCluster,
    flushMode: 'sync' | 'async',
  ) {
    ({ id: this.id, label: this.label, shortLabel: this.shortLabel, durability: this.durability } = FLUSH_MODES[flushMode]);
  }

  static async start(workDir: string, flushMode: 'sync' | 'async'): Promise<RoomqSubject> {
    return new RoomqSubject(await BenchCluster.start(workDir, flushMode), flushMode);
  }

  async openSession(name: string): Promise<Session> {
    const topic = `peer-${name}`;
    await createTopic(this.cluster.routerEndpoint, topic, QUEUES);
    const producer = new Producer({ routers: [this.cluster.routerEndpoint], topics: [topic], maxInFlightMessages: MAX_IN_FLIGHT });
    await producer.start();
    await firstSend(producer, topic);
    return new RoomqSession(this.cluster.routerEndpoint, topic, producer);
  }

  close(): Promise<void> {
    this.closing ??= this.cluster.stop();
    return this.closing;
  }
}

class RoomqSession implements Session {
  private readonly consumers: PushConsumer[] = [];

  constructor(
    private readonly router: string,
    private readonly topic: string,
    private readonly producer: Producer,
  ) {}

  async publish(body: Buffer): Promise<void> {
    await this.producer.send({ topic: this.topic, body });
  }

  async consume(onMessage: (body: Uint8Array) => void): Promise<Subscription> {
    const consumer = new PushConsumer({
      routers: [this.router],
      group: `bench-${this.topic}-${this.consumers.length}`,
      topic: this.topic,
      startFrom: 'first',
      // The group is new and alone: no previous owner to wait for.
      rebalanceGraceMs: 0,
      handler: (message) => onMessage(message.body),
    });
    this.consumers.push(consumer);
    await consumer.start();
    let stopping: Promise<void> | undefined;
    return { stop: () => (stopping ??= consumer.close()) };
  }

  async close(): Promise<void> {
    for (const consumer of this.consumers) await consumer.close().catch(() => undefined);
    await this.producer.close().catch(() => undefined);
  }
}

/**
 * Sends one message, retrying while the fresh topic's route has no writable queue yet (NO_ROUTE): the broker
 * learns of a new topic a moment after the router, and a scenario must not time that moment.
 */
async function firstSend(producer: Producer, topic: string): Promise<void> {
  const deadline = Date.now() + TOPIC_READY_TIMEOUT_MS;
  for (;;) {
    try {
      await producer.send({ topic, body: 'ready?' });
      return;
    } catch (err) {
      if (!isRoomqError(err) || err.code !== 'NO_ROUTE' || Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}
