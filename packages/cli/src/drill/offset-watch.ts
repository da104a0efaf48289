import type { Clock } from './drill-events.js';
import type { OffsetReader } from './committed-offsets.js';

/** The instance serving a broker group's queues now. */
export interface GroupLeader {
  group: string;
  name: string;
  endpoint: string;
}

/** A committed offset lower than one read before for the same queue. */
export interface OffsetRegression {
  atMs: number;
  topic: string;
  group: string;
  queueId: number;
  /** The instance that answered with the lower offset. */
  broker: string;
  offset: number;
  /** The highest offset read before, and from whom. */
  highest: number;
  highestFrom: string;
}

export interface OffsetWatchOptions {
  /** Each consumer group with the topic it consumes. */
  subscriptions: Array<{ topic: string; consumerGroup: string }>;
  /** Queues per broker group of every topic. */
  queues: number;
  intervalMs: number;
  /** Who serves each broker group now; asked on every poll, since a cut and a failback change it. */
  leaders: () => Promise<GroupLeader[]>;
  reader: OffsetReader;
  clock: Clock;
}

/**
 * Reads each consumer group's committed offset of every queue from the instance serving it, every
 * `intervalMs`, and keeps every answer lower than the highest seen before for that queue: the promise under
 * test is that committed offsets never move backwards, across the cut, the failover and the failback.
 */
export class OffsetWatch {
  readonly regressions: OffsetRegression[] = [];
  polls = 0;
  reads = 0;
  /** Reads that failed (an unreachable or fenced instance); expected around a cut, reported, not judged. */
  failedReads = 0;
  private readonly highest = new Map<string, { offset: number; from: string }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: OffsetWatchOptions) {}

  start(): void {
    this.schedule();
  }

  /** Stops polling after the poll in progress. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Highest committed offset seen per `topic:group/queueId`. */
  highestOffsets(): Record<string, number> {
    return Object.fromEntries([...this.highest].map(([k, v]) => [k, v.offset]));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll().finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  private async poll(): Promise<void> {
    const { leaders, reader, subscriptions, queues, clock } = this.options;
    this.polls++;
    let serving: GroupLeader[];
    try {
      serving = await leaders();
    } catch {
      this.failedReads++;
      return;
    }
    await Promise.all(
      serving.flatMap((leader) =>
        subscriptions.flatMap(({ topic, consumerGroup }) => Array.from({ length: queues }, async (_, queueId) => {
          let offset: number | undefined;
          try {
            offset = await reader.read(leader.endpoint, consumerGroup, topic, queueId);
          } catch {
            this.failedReads++;
            return;
          }
          this.reads++;
          if (offset !== undefined) this.observe(topic, leader, queueId, offset, clock());
        })),
      ),
    );
  }

  private observe(topic: string, leader: GroupLeader, queueId: number, offset: number, atMs: number): void {
    const key = `${topic}:${leader.group}/${queueId}`;
    const before = this.highest.get(key);
    if (before && offset < before.offset) {
      this.regressions.push({ atMs, topic, group: leader.group, queueId, broker: leader.name, offset, highest: before.offset, highestFrom: before.from });
      return;
    }
    if (!before || offset > before.offset) this.highest.set(key, { offset, from: leader.name });
  }
}
