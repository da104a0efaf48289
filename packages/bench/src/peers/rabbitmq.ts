import { once } from 'node:events';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { AckBatcher } from './ack-batcher.js';
import type { Durability, PeerDefinition, Session, Subject, Subscription } from './peer.js';

/**
 * RabbitMQ as a peer: persistent messages to a durable queue on a confirm channel (publish resolves on the
 * publisher confirm), basic.consume with a prefetch and cumulative acks to consume.
 *
 * Quorum queues are the durable peer: a confirm is sent once the message is in the Raft log and fsynced.
 * Classic queues are there to compare with (`--peers rabbitmq:classic`), not run by default.
 */

export const RABBITMQ_ENDPOINT = '127.0.0.1:5672';
/** The broker's default account; this is a local bench server, not a deployment. */
const RABBITMQ_URL = `amqp://guest:guest@${RABBITMQ_ENDPOINT}`;
/** Unacknowledged deliveries a consumer may hold; like the other consumers' prefetch. */
const PREFETCH = 1000;

const VARIANTS: Record<string, { queueType: string; label: string; shortLabel: string; durability: Durability }> = {
  quorum: {
    queueType: 'quorum',
    label: 'RabbitMQ (quorum queue, publisher confirms)',
    shortLabel: 'RabbitMQ quorum',
    durability: { fsyncedBeforeAck: true, ackMeans: 'confirm after the Raft WAL is fsynced (one node: the local disk)' },
  },
  classic: {
    queueType: 'classic',
    label: 'RabbitMQ (classic durable queue, persistent, publisher confirms)',
    shortLabel: 'RabbitMQ classic',
    durability: { fsyncedBeforeAck: true, ackMeans: 'confirm once the message store has written and fsynced it (batched), unless already consumed' },
  },
};

export const rabbitmqPeer: PeerDefinition = {
  name: 'rabbitmq',
  endpoint: RABBITMQ_ENDPOINT,
  variants: Object.keys(VARIANTS),
  defaultVariants: ['quorum'],
  open: (variant) => RabbitSubject.open(variant),
};

class RabbitSubject implements Subject {
  readonly id: string;
  readonly label: string;
  readonly shortLabel: string;
  readonly durability: Durability;
  private readonly runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  private closing: Promise<void> | undefined;

  private constructor(
    variant: string,
    private readonly queueType: string,
    private readonly connection: ChannelModel,
  ) {
    const v = VARIANTS[variant]!;
    this.id = `rabbitmq:${variant}`;
    this.label = v.label;
    this.shortLabel = v.shortLabel;
    this.durability = v.durability;
  }

  static async open(variant: string): Promise<RabbitSubject> {
    const v = VARIANTS[variant];
    if (!v) throw new Error(`unknown RabbitMQ variant ${JSON.stringify(variant)}; use one of ${Object.keys(VARIANTS).join(', ')}`);
    const connection = await connect(RABBITMQ_URL, { timeout: 2_000 });
    // An 'error' with no listener would crash the bench; failures show up as rejected publishes instead.
    connection.on('error', () => undefined);
    return new RabbitSubject(variant, v.queueType, connection);
  }

  async openSession(name: string): Promise<Session> {
    const queue = `roomq-bench.${this.runId}.${name}`;
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', () => undefined);
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': this.queueType } });
    return new RabbitSession(this.connection, channel, queue);
  }

  close(): Promise<void> {
    this.closing ??= this.connection.close().catch(() => undefined);
    return this.closing;
  }
}

class RabbitSession implements Session {
  private readonly subscriptions: Subscription[] = [];
  /** Set while the channel's write buffer is full: publishes wait for 'drain' (amqplib's backpressure). */
  private drained: Promise<unknown> | undefined;

  constructor(
    private readonly connection: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly queue: string,
  ) {}

  async publish(body: Buffer): Promise<void> {
    while (this.drained) await this.drained;
    await new Promise<void>((resolve, reject) => {
      const flowing = this.channel.sendToQueue(this.queue, body, { persistent: true }, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(`RabbitMQ nacked the message: ${String(err)}`)) : resolve()));
      if (!flowing && !this.drained) this.drained = once(this.channel, 'drain').finally(() => (this.drained = undefined));
    });
  }

  async consume(onMessage: (body: Uint8Array) => void): Promise<Subscription> {
    const channel: Channel = await this.connection.createChannel();
    channel.on('error', () => undefined);
    await channel.prefetch(PREFETCH);
    const acks = new AckBatcher<ConsumeMessage>((last) => channel.ack(last, true));
    const { consumerTag } = await channel.consume(this.queue, (message) => {
      if (!message) return;
      onMessage(message.content);
      acks.add(message);
    });
    let stopping: Promise<void> | undefined;
    const subscription: Subscription = {
      stop: () =>
        (stopping ??= (async () => {
          acks.close();
          await channel.cancel(consumerTag).catch(() => undefined);
          await channel.close().catch(() => undefined);
        })()),
    };
    this.subscriptions.push(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    for (const s of this.subscriptions) await s.stop();
    await this.channel.deleteQueue(this.queue).catch(() => undefined);
    await this.channel.close().catch(() => undefined);
  }
}
