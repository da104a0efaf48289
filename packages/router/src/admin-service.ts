import {
  type ChangeMigrationReplyMsg,
  type ChangeMigrationRequestMsg,
  type GetMigrationReplyMsg,
  type GetMigrationRequestMsg,
  type ListMigrationsReplyMsg,
  type ClusterStatusReplyMsg,
  type CreateTopicReplyMsg,
  type CreateTopicRequestMsg,
  type ListAuditReplyMsg,
  type ListAuditRequestMsg,
  type ListRoomsReplyMsg,
  type ListTopicsReplyMsg,
  type RoomChangeReplyMsg,
  type RoomChangeRequestMsg,
  type RouterViewMsg,
  type SetGroupControlReplyMsg,
  type SetGroupControlRequestMsg,
} from '@roomq/protocol';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ROUTER_ALIVE_MS, ROUTER_LIST_WINDOW_MS } from './control-sync.js';
import type { RouterRecord, StoreHealth } from './control-store.js';
import { auditEntryToWire, groupControlToWire, groupMoveToWire, roomControlToWire } from './control-wire.js';
import { unary } from './grpc-handlers.js';
import { brokerViewToWire, topicConfigToWire, v1Ok } from './registry-wire.js';
import { RoomAdmin, type RoomChangeInput, type RoomChangeResult } from './room-admin.js';
import type { RouterContext } from './router-context.js';
import { migrationClientToWire, migrationToWire, queueOffsetFromWire } from './migration-wire.js';
import { migrationsOf } from './topic-migration-admin.js';

/** roomq.v1.AdminService: topics, cluster status, room cut/restore and group leadership for operators and the CLI. */
export function adminServiceImpl(ctx: RouterContext): UntypedServiceImplementation {
  const logger = ctx.logger;
  const rooms = new RoomAdmin({
    store: ctx.store,
    brokers: () => ctx.brokers.list(),
    clients: () => ctx.clients.list().map((c) => ({ clientId: c.clientId, group: c.group, room: ctx.directory.place(c.clientId, c.peer).room })),
    consumerGroups: () => ctx.members.activeGroups(),
  });
  const roomChange = (name: 'CutRoom' | 'RestoreRoom', run: (input: RoomChangeInput) => Promise<RoomChangeResult>) =>
    unary<Partial<RoomChangeRequestMsg>, RoomChangeReplyMsg>(logger, name, async (call) => {
      const r = call.request;
      const result = await run({ room: r.room ?? '', reason: r.reason ?? '', by: r.by ?? '', dryRun: r.dry_run ?? false, expectedVersion: r.expected_version ?? 0 });
      if (result.applied) logger.info({ room: result.room.room, status: result.room.status, version: result.room.version, by: result.room.changedBy, groups: result.groups.map((g) => `${g.group}→${g.leader}@${g.epoch}`) }, `room ${result.plan.action} applied`);
      return roomChangeToWire(result);
    });
  return {
    CreateTopic: unary<Partial<CreateTopicRequestMsg>, CreateTopicReplyMsg>(logger, 'CreateTopic', async (call) => {
      const outcome = await ctx.topics.create(call.request.name ?? '', call.request.queues_per_broker, 'admin', call.request.mode ?? '');
      return { status: v1Ok(outcome.created ? 'created' : 'exists with the same settings'), topic: topicConfigToWire(outcome.topic), created: outcome.created };
    }),
    ListTopics: unary<unknown, ListTopicsReplyMsg>(logger, 'ListTopics', async () => {
      const topics = await ctx.topics.list();
      return { status: v1Ok(), topics: topics.map(topicConfigToWire) };
    }),
    ClusterStatus: unary<unknown, ClusterStatusReplyMsg>(logger, 'ClusterStatus', async () => {
      const topics = await ctx.topics.list();
      let routers: RouterRecord[] = [];
      try {
        routers = await ctx.store.listRouters(ROUTER_LIST_WINDOW_MS);
      } catch (err) {
        logger.debug({ err }, 'cannot list routers');
      }
      const now = Date.now();
      return {
        status: v1Ok(),
        router_name: ctx.name,
        room: ctx.room,
        brokers: ctx.brokers.list().map(brokerViewToWire),
        topic_count: topics.length,
        routers: routers.map((r): RouterViewMsg => ({ name: r.name, room: r.room, endpoint: r.endpoint, last_seen_ms: r.lastSeenMs, alive: now - r.lastSeenMs <= ROUTER_ALIVE_MS })),
        control_store: ctx.store.description,
        control_store_health: describeHealth(ctx.store.health()),
      };
    }),
    CutRoom: roomChange('CutRoom', (input) => rooms.cutRoom(input)),
    RestoreRoom: roomChange('RestoreRoom', (input) => rooms.restoreRoom(input)),
    ListRooms: unary<unknown, ListRoomsReplyMsg>(logger, 'ListRooms', async () => {
      const listing = await rooms.listRooms();
      return {
        status: v1Ok(),
        rooms: listing.rooms.map((r) => ({ control: roomControlToWire(r.control), brokers: r.brokers, routers: r.routers })),
        groups: listing.groups.map((g) => ({
          control: groupControlToWire(g.control),
          configured_master: g.configuredMaster,
          configured_master_room: g.configuredMasterRoom,
          leader_room: g.leaderRoom,
          members: g.members,
        })),
      };
    }),
    SetGroupControl: unary<Partial<SetGroupControlRequestMsg>, SetGroupControlReplyMsg>(logger, 'SetGroupControl', async (call) => {
      const r = call.request;
      const outcome = await rooms.setGroupControl({
        group: r.group ?? '',
        epoch: r.epoch ?? 0,
        leader: r.leader ?? '',
        frozen: r.frozen ?? false,
        expectedVersion: r.expected_version ?? 0,
        by: r.by ?? '',
        reason: r.reason ?? '',
      });
      logger.info({ group: outcome.group.group, leader: outcome.group.leader, epoch: outcome.group.epoch, frozen: outcome.group.frozen, by: outcome.group.changedBy, action: outcome.audit.action }, 'group control changed');
      return { status: v1Ok(), group: groupControlToWire(outcome.group), audit: auditEntryToWire(outcome.audit) };
    }),
    GetMigration: unary<Partial<GetMigrationRequestMsg>, GetMigrationReplyMsg>(logger, 'GetMigration', async (call) => {
      const view = await migrationsOf(ctx).admin.view(call.request.topic ?? '');
      return {
        status: v1Ok(),
        migration: view.migration ? migrationToWire(view.migration) : null,
        topic: topicConfigToWire(view.topic),
        clients: view.clients.map(migrationClientToWire),
        rooms: view.rooms,
      };
    }),
    ChangeMigration: unary<Partial<ChangeMigrationRequestMsg>, ChangeMigrationReplyMsg>(logger, 'ChangeMigration', async (call) => {
      const r = call.request;
      const result = await migrationsOf(ctx).admin.change({
        topic: r.topic ?? '',
        action: r.action ?? '',
        toMode: r.to_mode ?? '',
        groups: (r.groups ?? []).filter((g) => g),
        offsets: (r.offsets ?? []).map(queueOffsetFromWire),
        expectedVersion: r.expected_version ?? 0,
        gateSeq: r.gate_seq ?? 0,
        by: r.by ?? '',
        reason: r.reason ?? '',
        dryRun: r.dry_run ?? false,
      });
      return {
        status: v1Ok(result.message),
        migration: migrationToWire(result.migration),
        audit: result.audit ? auditEntryToWire(result.audit) : null,
        applied: result.applied,
        topic: topicConfigToWire(result.topic),
      };
    }),
    ListMigrations: unary<unknown, ListMigrationsReplyMsg>(logger, 'ListMigrations', async () => {
      const migrations = await migrationsOf(ctx).admin.list();
      return { status: v1Ok(), migrations: migrations.map(migrationToWire) };
    }),
    ListAudit: unary<Partial<ListAuditRequestMsg>, ListAuditReplyMsg>(logger, 'ListAudit', async (call) => {
      const entries = await rooms.listAudit(call.request.limit ?? 0);
      return { status: v1Ok(), entries: entries.map(auditEntryToWire) };
    }),
  };
}

function roomChangeToWire(result: RoomChangeResult): RoomChangeReplyMsg {
  const p = result.plan;
  return {
    status: v1Ok(result.applied ? 'applied' : result.plan.changes ? 'dry run: nothing changed' : 'nothing to change'),
    plan: {
      room: p.room,
      action: p.action,
      from_status: p.fromStatus,
      to_status: p.toStatus,
      changes: p.changes,
      current_version: p.currentVersion,
      groups: p.groups.map(groupMoveToWire),
      topics: p.topics,
      clients: p.clients.map((c) => ({ client_id: c.clientId, room: c.room, group: c.group, kind: c.kind })),
      notes: p.notes,
    },
    applied: result.applied,
    room: roomControlToWire(result.room),
    groups: result.groups.map(groupControlToWire),
    audit: result.audit ? auditEntryToWire(result.audit) : null,
  };
}

/** `healthy` or `degraded: <reason>`, as ClusterStatus reports it. */
export function describeHealth(health: StoreHealth): string {
  return health.state === 'healthy' ? 'healthy' : `degraded: ${health.reason}`;
}
