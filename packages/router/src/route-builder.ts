import { preferredWriteRoom, type HostPort, type TopicMode } from '@roomq/protocol';
import type { BrokerView } from './broker-state.js';
import { chooseGroupServers, type QueuePermission } from './group-server.js';

/** One queue of a topic route, before it becomes a v2 MessageQueue. */
export interface RouteQueue {
  topic: string;
  queueId: number;
  permission: QueuePermission;
  /** Broker group name: the queue's identity survives promotion of another member to master. */
  brokerName: string;
  /** Always 0, also when a replica serves the queue: the official client only uses queues of broker id 0. */
  brokerId: number;
  /** Instance that serves the queue now, e.g. `broker-a/0@dc1`, or a replica such as `broker-a/1@dc2`. */
  brokerInstance: string;
  /** Room of that instance. */
  room: string;
  endpoint: HostPort;
  /** The group epoch that instance's log has reached. */
  epoch: number;
}

export interface RouteRequest {
  topic: string;
  queuesPerBroker: number;
  /** Brokers currently alive; dead ones must already be filtered out. */
  brokers: readonly BrokerView[];
  /**
   * Room of the asking client: among equally caught-up replicas, one in this room serves. Leave it out for an
   * answer that is the same for every client (assignments).
   */
  clientRoom?: string;
  /** group → replica that keeps serving reads after its master returned (see read-hold.ts). */
  readHolds?: ReadonlyMap<string, string>;
}

/**
 * Chooses the queues of a topic: every queue of every broker group, served by the member chooseGroupServers
 * picks (a ready master; else the most caught-up ready replica, for reads; else a failed or stopping master, for
 * reads). Groups in name order, queues in id order.
 */
export function buildRoute(request: RouteRequest): RouteQueue[] {
  const queues: RouteQueue[] = [];
  for (const [group, server] of chooseGroupServers(request.brokers, request.clientRoom, request.readHolds)) {
    const { view, permission, endpoint } = server;
    for (let queueId = 0; queueId < request.queuesPerBroker; queueId++) {
      queues.push({ topic: request.topic, queueId, permission, brokerName: group, brokerId: 0, brokerInstance: view.state.name, room: view.state.room, endpoint, epoch: view.state.epoch });
    }
  }
  return queues;
}

/** A route as one client should see it: writable only where its producers should send. */
export interface RoomRoute {
  queues: RouteQueue[];
  /** Where the topic's mode says this client should write. */
  preferredRoom: string;
  /** The preferred room has no writable queue, so writable queues of other rooms were kept instead. */
  spilled: boolean;
}

/**
 * Applies the topic mode for a client in `clientRoom`: writable queues stay writable only in the preferred room,
 * every other queue is offered for reading. When the preferred room has no writable queue, producers spill to the
 * writable queues of every other room rather than fail.
 */
export function routeForRoom(queues: readonly RouteQueue[], mode: TopicMode, clientRoom: string): RoomRoute {
  const preferredRoom = preferredWriteRoom(mode, clientRoom);
  const writableThere = queues.some((q) => q.permission === 'READ_WRITE' && q.room === preferredRoom);
  if (writableThere) {
    return { queues: queues.map((q) => (q.room === preferredRoom || q.permission === 'READ' ? q : { ...q, permission: 'READ' })), preferredRoom, spilled: false };
  }
  return { queues: [...queues], preferredRoom, spilled: queues.some((q) => q.permission === 'READ_WRITE') };
}
