import { AckPolicy, DeliverPolicy, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckBatcher } from './ack-batcher.js';
import type { PeerDefinition, Session, Subject, Subscription } from './peer.js';

/**
 * NATS JetStream as a peer: a file-backed stream with one replica, `js.publish` (which waits for the stream's
 * PubAck) to publish, a durable pull consumer with AckPolicy.All to consume as a group.
 *
 * JetStream has no per-stream fsync setting: the server's `jetstream.sync_interval` decides (default 2 min),
 * and `sync_interval: always` only exists from nats-server 2.10 on and needs a restart of the shared server.
 * The peer says which server it measured and labels its acknowledgement as not fsynced.
 */

export const NATS_ENDPOINT = '127.0.0.1:4222';
/** Messages a pull consumer keeps requested; like the other consumers' prefetch. */
const PULL_BATCH = 1000;

export const natsPeer: PeerDefinition = {
  name: 'nats',
  endpoint: NATS_ENDPOINT,
  variants: ['jetstream'],
  defaultVariants: ['jetstream'],
  open: () => NatsJetStreamSubject.open(),
};

class NatsJetStreamSubject implements Subject {
  readonly id = 'nats:jetstream';
  readonly label = 'NATS JetStream (file stream, R1)';
  readonly shortLabel = 'NATS JetStream';
  readonly durability;
  private readonly runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    serverVersion: string,
  ) {
    this.durability = {
      fsyncedBeforeAck: false,
      ackMeans: `PubAck after write() to the file store; fsync every sync_interval (default 2 min; nats-server ${serverVersion} has no sync: always)`,
    };
  }

  static async open(): Promise<NatsJetStreamSubject> {
    const nc = await connect({ servers: NATS_ENDPOINT, timeout: 2_000, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5_000 });
      return new NatsJetStreamSubject(nc, jsm, nc.info?.version ?? 'unknown');
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw new Error(`NATS at ${NATS_ENDPOINT} answers but JetStream does not (start nats-server with -js): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async openSession(name: string): Promise<Session> {
    const stream = `roomq-bench-${this.runId}-${name}`.replace(/[^A-Za-z0-9_-]/g, '_');
    const subject = `roomq-bench.${this.runId}.${name}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    await this.jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File, num_replicas: 1 });
    return new NatsStreamSession(jetstream(this.nc, { timeout: 10_000 }), this.jsm, stream, subject);
  }

  close(): Promise<void> {
    this.closing ??= this.nc.close().then(() => undefined, () => undefined);
    return this.closing;
  }
}

class NatsStreamSession implements Session {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly subject: string,
  ) {}

  async publish(body: Buffer): Promise<void> {
    await this.js.publish(this.subject, body);
  }

  async consume(onMessage: (body: Uint8Array) => void): Promise<Subscription> {
    const durable = `bench${this.subscriptions.length}`;
    // AckPolicy.All acknowledges everything up to a message, as a group consumer commits an offset.
    await this.jsm.consumers.add(this.stream, { durable_name: durable, ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All, max_ack_pending: 100_000 });
    const consumer = await this.js.consumers.get(this.stream, durable);
    const acks = new AckBatcher<{ ack(): void }>((last) => last.ack());
    const messages = await consumer.consume({
      max_messages: PULL_BATCH,
      callback: (m) => {
        onMessage(m.data);
        acks.add(m);
      },
    });
    let stopping: Promise<void> | undefined;
    const subscription: Subscription = {
      stop: () =>
        (stopping ??= (async () => {
          acks.close();
          await messages.close().catch(() => undefined);
        })()),
    };
    this.subscriptions.push(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    for (const s of this.subscriptions) await s.stop();
    await this.jsm.streams.delete(this.stream).catch(() => undefined);
  }
}
