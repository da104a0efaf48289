/** Mapping of the router's route types to roomq.v1 RouteService messages (proto-loader plain objects). */
import { formatHostPort, type RouteQueueMsg } from '@roomq/protocol';
import type { RouteQueue } from './route-builder.js';

/** Every queue the router lists is readable; writable only where this client's producers should send. */
export function routeQueueToWire(queue: RouteQueue): RouteQueueMsg {
  return {
    topic: queue.topic,
    queue_id: queue.queueId,
    broker_group: queue.brokerName,
    broker_name: queue.brokerInstance,
    room: queue.room,
    endpoint: formatHostPort(queue.endpoint),
    writable: queue.permission === 'READ_WRITE',
    readable: true,
    epoch: queue.epoch,
  };
}
