import { Producer } from '@roomq/client';
import { toRoomqError } from '@roomq/protocol';
import { testBody } from '../test-body.js';
import type { Clock } from './drill-events.js';

/** One send as the application saw it; times on the drill's clock. */
export interface SendRecord {
  key: string;
  topic: string;
  startedAtMs: number;
  settledAtMs: number;
  ok: boolean;
  /** The instance that stored it (acknowledged sends). */
  brokerName?: string;
  /** Its room (acknowledged sends). */
  room?: string;
  /** Broker group and queue it was stored in, and where (acknowledged sends). */
  broker?: string;
  queueId?: number;
  queueOffset?: number;
  /** The error code (failed sends). */
  errorCode?: string;
}

export interface RoomLoadOptions {
  room: string;
  routers: string[];
  /** Messages go to these topics in turn. */
  topics: string[];
  ratePerSec: number;
  messageBytes: number;
  /** Unique per drill, so keys never collide with another run's. */
  keyPrefix: string;
  clock: Clock;
}

/** How often the pacer wakes to send what is due. */
const PACE_TICK_MS = 10;

/**
 * A producer in one room sending unique keys at a steady rate (to its topics in turn), the way a service would: each message is sent
 * once through the SDK (which retries and moves between brokers itself), and the outcome of every send is kept.
 * The rate is held by the clock, not by acknowledgements, so an outage shows up as failed or slow sends rather
 * than as a pause in sending.
 */
export class RoomLoad {
  readonly records: SendRecord[] = [];
  private readonly producer: Producer;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private issued = 0;
  private startedAtMs = 0;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: RoomLoadOptions) {
    this.producer = new Producer({ routers: options.routers, room: options.room, topics: options.topics, maxInFlightMessages: Math.max(1000, options.ratePerSec * 30) });
  }

  get room(): string {
    return this.options.room;
  }

  async start(): Promise<void> {
    await this.producer.start();
    this.startedAtMs = this.options.clock();
    this.timer = setInterval(() => this.pace(), PACE_TICK_MS);
  }

  /** Stops sending, waits for every send in flight to settle, closes the producer. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      await Promise.allSettled([...this.inFlight]);
      await this.producer.close().catch(() => undefined);
    })();
    return this.stopping;
  }

  acknowledged(): SendRecord[] {
    return this.records.filter((r) => r.ok);
  }

  private pace(): void {
    const due = Math.floor(((this.options.clock() - this.startedAtMs) / 1000) * this.options.ratePerSec);
    while (this.issued < due) this.sendOne(this.issued++);
  }

  private sendOne(seq: number): void {
    const { clock, topics, keyPrefix, room, messageBytes } = this.options;
    const topic = topics[seq % topics.length]!;
    const key = `${keyPrefix}-${room}-${seq}`;
    const startedAtMs = clock();
    const sent = this.producer
      .send({ topic, keys: [key], body: testBody(key, messageBytes) })
      .then(
        (receipt) => {
          this.records.push({ key, topic, startedAtMs, settledAtMs: clock(), ok: true, brokerName: receipt.brokerName, room: receipt.room, broker: receipt.broker, queueId: receipt.queueId, queueOffset: receipt.queueOffset });
        },
        (err: unknown) => {
          this.records.push({ key, topic, startedAtMs, settledAtMs: clock(), ok: false, errorCode: toRoomqError(err).code });
        },
      );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }
}
