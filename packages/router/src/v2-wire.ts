/**
 * apache.rocketmq.v2 shapes the router sends, as proto-loader plain objects (snake_case; enums may be given as
 * names or numbers; with `enums: String` a peer reads them back as names).
 */
import { hostKind, okStatus, type WireStatus } from '@roomq/protocol';
import type { RouteQueue } from './route-builder.js';

export type V2Status = WireStatus;

export interface V2Resource {
  resource_namespace?: string;
  name?: string;
}

export interface V2MessageQueue {
  topic: { name: string; resource_namespace: string };
  id: number;
  permission: 'READ_WRITE' | 'READ';
  broker: { name: string; id: number; endpoints: { scheme: 'IPv4' | 'IPv6' | 'DOMAIN_NAME'; addresses: Array<{ host: string; port: number }> } };
  accept_message_types: string[];
}

/**
 * What brokers implement today. RocketMQ clients refuse to send types not listed, so delay and transactional
 * sends fail at once with a clear error instead of being delivered early or visible before commit.
 */
export const ACCEPTED_MESSAGE_TYPES = ['NORMAL', 'FIFO'] as const;

export function messageQueueToWire(queue: RouteQueue, namespace: string): V2MessageQueue {
  const kind = hostKind(queue.endpoint.host);
  return {
    topic: { name: queue.topic, resource_namespace: namespace },
    id: queue.queueId,
    permission: queue.permission,
    broker: {
      name: queue.brokerName,
      id: queue.brokerId,
      endpoints: {
        scheme: kind === 'ipv4' ? 'IPv4' : kind === 'ipv6' ? 'IPv6' : 'DOMAIN_NAME',
        addresses: [{ host: queue.endpoint.host, port: queue.endpoint.port }],
      },
    },
    accept_message_types: [...ACCEPTED_MESSAGE_TYPES],
  };
}

export function v2Ok(): V2Status {
  return okStatus();
}
