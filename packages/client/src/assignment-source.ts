import type { GetAssignmentReplyMsg } from '@roomq/protocol';
import type { QueueAssignment } from './queue-assignment.js';
import type { RouteSource } from './route-source.js';
import type { RouterClient } from './router-client.js';
import { queuesFromRouteService, type QueueRef } from './topic-route.js';

/** The queues one consumer of a group owns now. */
export interface Assignment {
  queues: QueueRef[];
  /** Changes whenever the assignment may have changed; 0 when the source has no versions. */
  version: number;
  /** Live consumers of the group the router counted; 1 when the source does not know. */
  members: number;
  /** The topic migration switch the queues' read limits follow; undefined when the source does not say. */
  migrationVersion?: number;
}

/** Where a push consumer learns which queues are its own. */
export interface AssignmentSource {
  fetch(topic: string, group: string, signal?: AbortSignal): Promise<Assignment>;
}

/**
 * The router's assignment (RouteService.GetAssignment): it gives each room's queues to that room's live
 * consumers and shares the queues of a room with no live consumer among all of them.
 */
export class RouterAssignmentSource implements AssignmentSource {
  constructor(private readonly router: RouterClient) {}

  async fetch(topic: string, group: string, signal?: AbortSignal): Promise<Assignment> {
    const reply = await this.router.call<GetAssignmentReplyMsg>('GetAssignment', { topic, group }, { topic, group }, signal);
    return { queues: queuesFromRouteService(topic, reply.queues), version: reply.version ?? 0, members: reply.members ?? 0, migrationVersion: reply.migration_version ?? 0 };
  }
}

/** An assignment computed in the client from the topic's route (tests, and routers without GetAssignment). */
export class RouteAssignmentSource implements AssignmentSource {
  constructor(
    private readonly routes: RouteSource,
    private readonly assignment: QueueAssignment,
    private readonly clientId: string,
  ) {}

  async fetch(topic: string, group: string, signal?: AbortSignal): Promise<Assignment> {
    const route = await this.routes.queryRoute(topic, signal);
    return { queues: this.assignment.assign(route, { group, clientId: this.clientId }), version: route.version ?? 0, members: 1 };
  }
}
