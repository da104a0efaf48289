import { fnv1a } from '@roomq/protocol';
import { isWritable, type QueueRef, type TopicRoute } from './topic-route.js';

export interface SelectOptions {
  /** Messages with the same key go to the same queue while the route is unchanged. */
  shardingKey?: string | undefined;
  /** Brokers to stay away from (already tried for this message); ignored when no other broker is writable. */
  avoid?: ReadonlySet<string> | undefined;
  /** Brokers to use only when nothing else is left (recently failed for anyone). */
  isolated?: ReadonlySet<string> | undefined;
}

/**
 * Picks the queue a message goes to: writable queues only, round-robin per topic, or a stable hash of the
 * sharding key. Pure logic; the producer feeds it routes and broker health.
 */
export class QueueSelector {
  private readonly counters = new Map<string, number>();
  private readonly writable = new WeakMap<TopicRoute, readonly QueueRef[]>();
  private readonly sorted = new WeakMap<TopicRoute, readonly QueueRef[]>();

  select(route: TopicRoute, options: SelectOptions = {}): QueueRef | undefined {
    const keyed = options.shardingKey !== undefined;
    let candidates = keyed ? this.sortedWritableQueues(route) : this.writableQueues(route);
    if (candidates.length === 0) return undefined;
    const { avoid, isolated } = options;
    if ((avoid && avoid.size > 0) || (isolated && isolated.size > 0)) {
      const fresh = candidates.filter((q) => !avoid?.has(q.broker));
      const healthy = fresh.filter((q) => !isolated?.has(q.broker));
      candidates = healthy.length > 0 ? healthy : fresh.length > 0 ? fresh : candidates;
    }
    if (options.shardingKey !== undefined) return candidates[hashKey(options.shardingKey) % candidates.length];
    const n = this.counters.get(route.topic) ?? 0;
    this.counters.set(route.topic, (n + 1) % 0x4000_0000);
    return candidates[n % candidates.length];
  }

  /**
   * Writable queues sorted by (broker group, queue id): the order sharding keys hash over, so a key maps to
   * the same queue in every producer that has the same route.
   */
  sortedWritableQueues(route: TopicRoute): readonly QueueRef[] {
    let queues = this.sorted.get(route);
    if (!queues) {
      queues = route.queues.filter(isWritable).sort((x, y) => (x.broker < y.broker ? -1 : x.broker > y.broker ? 1 : x.queueId - y.queueId));
      this.sorted.set(route, queues);
    }
    return queues;
  }

  /** Writable queues, interleaved across brokers (a0 b0 a1 b1 ...) so round-robin spreads load evenly at every moment. */
  writableQueues(route: TopicRoute): readonly QueueRef[] {
    let queues = this.writable.get(route);
    if (!queues) {
      queues = interleaveByBroker(route.queues.filter(isWritable));
      this.writable.set(route, queues);
    }
    return queues;
  }
}

export function interleaveByBroker(queues: readonly QueueRef[]): QueueRef[] {
  const byBroker = new Map<string, QueueRef[]>();
  for (const q of queues) {
    const list = byBroker.get(q.broker) ?? [];
    list.push(q);
    byBroker.set(q.broker, list);
  }
  const brokers = [...byBroker.keys()].sort();
  for (const b of brokers) byBroker.get(b)!.sort((x, y) => x.queueId - y.queueId);
  const out: QueueRef[] = [];
  for (let i = 0; out.length < queues.length; i++) {
    for (const b of brokers) {
      const q = byBroker.get(b)![i];
      if (q) out.push(q);
    }
  }
  return out;
}

/** FNV-1a over UTF-16 code units: stable across processes and Node versions. */
export function hashKey(key: string): number {
  return fnv1a(key);
}
