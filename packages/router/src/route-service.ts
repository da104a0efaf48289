import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  formatTopicMode,
  RoomqError,
  validateGroupName,
  validateTopicName,
  type ClientHeartbeatReplyMsg,
  type ClientHeartbeatRequestMsg,
  type GetAssignmentReplyMsg,
  type GetAssignmentRequestMsg,
  type GetRouteReplyMsg,
  type GetRouteRequestMsg,
  type WatchEventMsg,
  type WatchRequestMsg,
} from '@roomq/protocol';
import { clientIdOf } from './call-metadata.js';
import type { GroupMember } from './control-store.js';
import { unary } from './grpc-handlers.js';
import { v1Ok } from './registry-wire.js';
import { assignQueues } from './room-assignment.js';
import { liveQueues, routeForClient } from './room-routing.js';
import type { RouteQueue } from './route-builder.js';
import { routeQueueToWire } from './route-wire.js';
import type { RouterContext } from './router-context.js';
import { CLIENT_HEARTBEAT_INTERVAL_MS } from './router-options.js';
import { WatchStream } from './watch-stream.js';
import { migrationsOf } from './topic-migration-admin.js';
import { consumerCaps, queueKeyOf, type MigrationClientInfo } from './topic-migration.js';

/** Members any router saw within this long count for assignments (routers publish every second). */
export const MEMBER_MAX_AGE_MS = 5000;

/**
 * roomq.v1.RouteService: room-aware routes, consumer assignments, consumer heartbeats and the Watch stream of
 * change hints, for the roomq SDK. Clients are identified by `x-mq-client-id` (or the request's client_id).
 */
export function routeServiceImpl(ctx: RouterContext): UntypedServiceImplementation {
  const logger = ctx.logger;
  const migrations = migrationsOf(ctx);
  return {
    GetRoute: unary<Partial<GetRouteRequestMsg>, GetRouteReplyMsg>(logger, 'GetRoute', async (call) => {
      const name = call.request.topic;
      if (!name) throw new RoomqError('BAD_REQUEST', 'GetRoute needs topic, the topic to route', { details: { field: 'topic' } });
      const producerGroup = call.request.producer_group || undefined;
      const { topic, clientRoom, route, version, migrationVersion } = await routeForClient(ctx, name, { clientId: clientIdOf(call.metadata), peer: call.getPeer() }, 'get-route', producerGroup);
      return {
        status: v1Ok(),
        queues: route.queues.map(routeQueueToWire),
        client_room: clientRoom,
        mode: formatTopicMode(topic.mode),
        preferred_room: route.preferredRoom,
        spilled: route.spilled,
        version,
        migration_version: migrationVersion,
      };
    }),

    GetAssignment: unary<Partial<GetAssignmentRequestMsg>, GetAssignmentReplyMsg>(logger, 'GetAssignment', async (call) => {
      const clientId = clientIdOf(call.metadata);
      if (!clientId) {
        throw new RoomqError('CLIENT_ID_REQUIRED', 'GetAssignment needs the x-mq-client-id header naming the consumer (the ID it sends ClientHeartbeat with)');
      }
      const topicName = call.request.topic ?? '';
      const group = call.request.group ?? '';
      validateTopicName(topicName);
      validateGroupName(group);
      const version = ctx.events.version;
      const topic = await ctx.topics.require(topicName, false, 'get-assignment');
      // No client room here: every consumer must see each queue in the same room (that of the member serving it
      // now, a replica while its group has no ready master), or two of them could be given the same queue.
      const queues = liveQueues(ctx, topic);
      const members = await groupMembers(ctx, group);
      const assignment = assignQueues(
        members,
        queues.map((queue) => ({ room: queue.room, brokerGroup: queue.brokerName, queueId: queue.queueId, queue })),
      );
      const mine: RouteQueue[] = (assignment.get(clientId) ?? []).map((a) => a.queue);
      // A migrating topic: queues producers moved into are read only up to their caps until this group drained
      // the rooms they moved out of (topic-migration.ts).
      const migration = await ctx.store.getMigration(topicName);
      const caps = consumerCaps(migration, group);
      logger.trace({ topic: topicName, group, clientId, members: members.length, queues: mine.length, capped: caps.size }, 'assignment answered');
      const wire = mine.map((q) => {
        const cap = caps.get(queueKeyOf({ broker: q.brokerName, queueId: q.queueId }));
        return cap === undefined ? routeQueueToWire(q) : { ...routeQueueToWire(q), capped: true, read_limit: cap };
      });
      return { status: v1Ok(), queues: wire, version, members: assignment.size, migration_version: migration?.switchSeq ?? 0 };
    }),

    ClientHeartbeat: unary<Partial<ClientHeartbeatRequestMsg>, ClientHeartbeatReplyMsg>(logger, 'ClientHeartbeat', (call) => {
      const clientId = call.request.client_id || clientIdOf(call.metadata);
      if (!clientId) throw new RoomqError('CLIENT_ID_REQUIRED', 'ClientHeartbeat needs client_id, e.g. dc1@host@pid@1', { details: { field: 'client_id' } });
      const groups = new Set<string>();
      for (const interest of call.request.consumers ?? []) {
        validateGroupName(interest.group ?? '');
        groups.add(interest.group);
      }
      const placement = ctx.directory.place(clientId, call.getPeer());
      const uses: Array<{ topic: string; info: MigrationClientInfo }> = [];
      for (const interest of call.request.consumers ?? []) {
        for (const topic of interest.topics ?? []) if (topic) uses.push({ topic, info: { kind: 'consumer', group: interest.group, settled: 0 } });
      }
      for (const p of call.request.producer_topics ?? []) {
        if (p.topic) uses.push({ topic: p.topic, info: { kind: 'producer', group: call.request.producer_group ?? '', settled: p.settled_version ?? 0 } });
      }
      if (uses.length > 0) migrations.clients.heard(clientId, placement.room, uses);
      const changed = ctx.members.heartbeat(clientId, placement.room, [...groups]);
      if (changed.length > 0) {
        logger.info({ clientId, room: placement.room, placedBy: placement.source, groups: changed }, 'consumer group membership changed');
        ctx.membersChanged(changed);
      }
      return { status: v1Ok(), client_room: placement.room, heartbeat_interval_ms: CLIENT_HEARTBEAT_INTERVAL_MS };
    }),

    Watch: (call: ServerWritableStream<Partial<WatchRequestMsg>, WatchEventMsg>) => {
      const request = call.request ?? {};
      const interest = { topics: new Set((request.topics ?? []).filter((t) => t)), groups: new Set((request.groups ?? []).filter((g) => g)) };
      const clientId = request.client_id || clientIdOf(call.metadata);
      const stream = new WatchStream(call as ServerWritableStream<WatchRequestMsg, WatchEventMsg>, interest, ctx.events, logger.child({ watch: clientId }), (s) => ctx.watches.delete(s));
      ctx.watches.add(stream);
      stream.start();
    },
  };
}

/**
 * Every router's live members of the group (the shared view, so every router assigns alike), plus the members
 * this router hears itself, which may not have reached the store yet. When the store cannot answer, the local
 * members alone.
 */
async function groupMembers(ctx: RouterContext, group: string): Promise<GroupMember[]> {
  const local = ctx.members.members(group, ctx.name);
  let shared: GroupMember[] = [];
  try {
    shared = await ctx.store.listMembers(group, MEMBER_MAX_AGE_MS);
  } catch (err) {
    ctx.logger.debug({ err, group }, 'cannot list group members; assigning among local members');
  }
  const byId = new Map(shared.map((m) => [m.clientId, m]));
  for (const member of local) byId.set(member.clientId, member);
  return [...byId.values()];
}
