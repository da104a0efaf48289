import { PushConsumer, type AssignedQueue } from '@roomq/client';
import type { RoomqError } from '@roomq/protocol';
import { testBodyIntact } from '../test-body.js';
import type { Clock } from './drill-events.js';

/** Every delivery to the drill's consumer group, from all its consumers. */
export class DeliveryLedger {
  /** Deliveries per key. */
  readonly counts = new Map<string, number>();
  deliveries = 0;
  bodiesMismatched = 0;
  lastDeliveryAtMs = 0;
  /** Deliveries by the room of the instance that served them. */
  readonly byServingRoom = new Map<string, number>();

  record(key: string, servedFromRoom: string, intact: boolean, atMs: number): void {
    this.deliveries++;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (!intact) this.bodiesMismatched++;
    this.byServingRoom.set(servedFromRoom, (this.byServingRoom.get(servedFromRoom) ?? 0) + 1);
    this.lastDeliveryAtMs = atMs;
  }

  get duplicates(): number {
    return this.deliveries - this.counts.size;
  }

  has(key: string): boolean {
    return this.counts.has(key);
  }
}

export interface RoomConsumerOptions {
  room: string;
  routers: string[];
  group: string;
  topic: string;
  ledger: DeliveryLedger;
  clock: Clock;
}

/** A consumer of the drill's group in one room; records every delivery in the shared ledger. */
export class RoomConsumer {
  readonly errors: Array<{ atMs: number; code: string; message: string }> = [];
  private readonly consumer: PushConsumer;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: RoomConsumerOptions) {
    const { ledger, clock } = options;
    this.consumer = new PushConsumer({
      routers: options.routers,
      room: options.room,
      group: options.group,
      topic: options.topic,
      startFrom: 'first',
      handler: (message) => {
        const key = message.keys[0] ?? message.messageId;
        ledger.record(key, message.room, message.keys[0] === undefined || testBodyIntact(key, message.body), clock());
      },
      onError: (error: RoomqError) => {
        // Kept short: during a cut every consumer reports unreachable brokers many times a second.
        if (this.errors.length < 1000) this.errors.push({ atMs: clock(), code: error.code, message: error.message });
      },
    });
  }

  get room(): string {
    return this.options.room;
  }

  get topic(): string {
    return this.options.topic;
  }

  start(): Promise<void> {
    return this.consumer.start();
  }

  /** The queues this consumer owns now, with the room of the instance it reads each from. */
  assignment(): AssignedQueue[] {
    return this.consumer.stats().assignment;
  }

  /** Commits and closes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.consumer.close().catch(() => undefined);
    return this.closing;
  }
}

/** Queues a consumer reads from an instance outside its own room, and rooms whose consumer has none. */
export function consumersAway(consumers: RoomConsumer[]): string[] {
  const problems: string[] = [];
  for (const c of consumers) {
    const assignment = c.assignment();
    const away = assignment.filter((q) => q.room !== c.room);
    if (away.length > 0) problems.push(`consumer of ${c.topic} in ${c.room} reads ${away.map((q) => `${q.broker}/${q.queueId} from ${q.brokerName}`).join(', ')}`);
    if (assignment.length === 0) problems.push(`consumer of ${c.topic} in ${c.room} holds no queue`);
  }
  return problems;
}
