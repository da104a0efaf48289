/**
 * Route data as the SDK uses it, and the conversions from the router's answers: roomq RouteService
 * (GetRoute/GetAssignment, what the SDK asks) and v2 QueryRoute (what other RocketMQ 5 clients ask).
 * Both arrive as proto-loader objects with snake_case fields and proto3 defaults left out.
 */
import { RoomqError, type GetRouteReplyMsg, type RouteQueueMsg } from '@roomq/protocol';

export type QueuePermission = 'NONE' | 'READ' | 'WRITE' | 'READ_WRITE';

/** One queue of a topic on one broker. */
export interface QueueRef {
  topic: string;
  queueId: number;
  /** Broker group name, e.g. `broker-a`; a queue keeps it when the group's master changes. */
  broker: string;
  /** The broker instance serving the queue now, e.g. `broker-a/0@dc1`. */
  brokerName: string;
  /** Room of that instance; empty when the router did not say. */
  room: string;
  /** Member id within the group: 0 = master, >0 = slave. */
  brokerId: number;
  /** `host:port` where the broker serves clients. */
  endpoint: string;
  permission: QueuePermission;
  /** Topic migration: this consumer group may read only offsets below this until the router lifts it. */
  readLimit?: number | undefined;
  /** The group epoch the serving instance's log has reached (0: the router did not say). */
  epoch?: number;
}

export interface TopicRoute {
  topic: string;
  queues: readonly QueueRef[];
  /** The room the router placed this client in. */
  clientRoom?: string | undefined;
  /** Topic mode: `active-active` or `home:<room>`. */
  mode?: string | undefined;
  /** Where this client's producers should write according to the mode. */
  preferredRoom?: string | undefined;
  /** The preferred room has no writable queue: the writable queues are in another room. */
  spilled?: boolean | undefined;
  /** Changes whenever the answer may have changed. */
  version?: number | undefined;
  /** The topic migration switch this route follows (0: the topic is not migrating). */
  migrationVersion?: number | undefined;
}

export function isWritable(queue: QueueRef): boolean {
  return queue.permission === 'READ_WRITE' || queue.permission === 'WRITE';
}

export function isReadable(queue: QueueRef): boolean {
  return queue.permission === 'READ_WRITE' || queue.permission === 'READ';
}

/** `host:port`, bracketing IPv6 literals. */
export function formatEndpoint(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits `host:port` into its parts (the QueryRoute request names the access point this way). */
export function parseEndpoint(endpoint: string): { host: string; port: number } {
  const at = endpoint.lastIndexOf(':');
  let host = endpoint.slice(0, at);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(endpoint.slice(at + 1)) };
}

/** `broker-a/1@dc2` → 1; names without a member id are masters (0). */
export function memberIdOf(brokerName: string): number {
  const match = /\/(\d+)(?:@|$)/.exec(brokerName);
  return match ? Number(match[1]) : 0;
}

/** `broker-a/1@dc2` → `broker-a`. */
function groupOf(brokerName: string): string {
  const slash = brokerName.indexOf('/');
  return slash < 0 ? brokerName : brokerName.slice(0, slash);
}

function permissionOf(writable: boolean, readable: boolean): QueuePermission {
  return writable ? (readable ? 'READ_WRITE' : 'WRITE') : readable ? 'READ' : 'NONE';
}

/** Converts RouteService queues (GetRoute, GetAssignment); queues without an endpoint are a router bug and fail loudly. */
export function queuesFromRouteService(topic: string, queues: readonly RouteQueueMsg[] | undefined): QueueRef[] {
  const out: QueueRef[] = [];
  for (const q of queues ?? []) {
    const brokerName = q.broker_name ?? '';
    const broker = q.broker_group || groupOf(brokerName);
    if (!q.endpoint || !broker) {
      throw new RoomqError('INTERNAL', `the router returned a queue of topic ${topic} without a broker endpoint; check the router's broker registrations`, {
        details: { topic, queueId: q.queue_id ?? 0, broker: brokerName },
        retriable: true,
      });
    }
    out.push({
      topic: q.topic || topic,
      queueId: q.queue_id ?? 0,
      broker,
      brokerName: brokerName || broker,
      room: q.room ?? '',
      brokerId: memberIdOf(brokerName),
      endpoint: q.endpoint,
      permission: permissionOf(q.writable ?? false, q.readable ?? false),
      ...(q.capped ? { readLimit: q.read_limit ?? 0 } : {}),
      ...(q.epoch ? { epoch: Number(q.epoch) } : {}),
    });
  }
  return out;
}

/** Converts a GetRoute answer whose status was already checked. */
export function routeFromRouteService(topic: string, reply: GetRouteReplyMsg): TopicRoute {
  return {
    topic,
    queues: queuesFromRouteService(topic, reply.queues),
    clientRoom: reply.client_room || undefined,
    mode: reply.mode || undefined,
    preferredRoom: reply.preferred_room || undefined,
    spilled: reply.spilled ?? false,
    version: reply.version ?? 0,
    migrationVersion: reply.migration_version ?? 0,
  };
}

/** Same queues, same places, same permissions, same room decision: a refresh that changed nothing. */
export function sameRoute(a: TopicRoute, b: TopicRoute): boolean {
  if (a.queues.length !== b.queues.length) return false;
  if ((a.spilled ?? false) !== (b.spilled ?? false) || a.clientRoom !== b.clientRoom || a.preferredRoom !== b.preferredRoom || a.mode !== b.mode) return false;
  if ((a.migrationVersion ?? 0) !== (b.migrationVersion ?? 0)) return false;
  return a.queues.every((q, i) => sameQueue(q, b.queues[i]!));
}

export function sameQueue(q: QueueRef, r: QueueRef): boolean {
  return (
    q.queueId === r.queueId &&
    q.broker === r.broker &&
    q.endpoint === r.endpoint &&
    q.permission === r.permission &&
    q.brokerId === r.brokerId &&
    q.brokerName === r.brokerName &&
    q.room === r.room
  );
}
