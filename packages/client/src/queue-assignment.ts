import { isReadable, type QueueRef, type TopicRoute } from './topic-route.js';

/**
 * Decides which queues of a topic this consumer reads. Replaceable: rebalancing among several consumers of a
 * group will implement the same interface.
 */
export interface QueueAssignment {
  assign(route: TopicRoute, context: { group: string; clientId: string }): QueueRef[];
}

/** Every readable queue of every broker; when a queue is listed by several members of a group, the lowest broker id (the master) wins. */
export class AllQueuesAssignment implements QueueAssignment {
  assign(route: TopicRoute): QueueRef[] {
    const chosen = new Map<string, QueueRef>();
    for (const q of route.queues) {
      if (!isReadable(q)) continue;
      const key = queueKey(q);
      const current = chosen.get(key);
      if (!current || q.brokerId < current.brokerId) chosen.set(key, q);
    }
    return [...chosen.values()];
  }
}

/** Identity of a queue within a topic, independent of where it is served from. */
export function queueKey(queue: { broker: string; queueId: number }): string {
  return `${queue.broker}#${queue.queueId}`;
}
