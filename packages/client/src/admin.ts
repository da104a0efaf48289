import type { Metadata } from '@grpc/grpc-js';
import {
  fromWireStatus,
  parseConfig,
  validateTopicName,
  type BrokerViewMsg,
  type ClusterStatusReplyMsg,
  type ChangeMigrationReplyMsg,
  type CreateTopicReplyMsg,
  type GetMigrationReplyMsg,
  type GetRouteReplyMsg,
  type ListMigrationsReplyMsg,
  type ListAuditReplyMsg,
  type ListRoomsReplyMsg,
  type ListTopicsReplyMsg,
  type RoomChangeReplyMsg,
  type SetGroupControlReplyMsg,
  type TopicConfigMsg,
} from '@roomq/protocol';
import { z } from 'zod';
import { requestMetadata, resolveIdentity } from './client-identity.js';
import { unaryCall, ServiceClients } from './grpc-clients.js';
import { endpointSchema } from './options-schema.js';
import { failbackGroup, failbackOptionsSchema, type FailbackOptions, type FailbackResult } from './failback.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './producer-options.js';
import {
  driveMigration,
  driveMigrationOptionsSchema,
  migrationFromWire,
  migrationStatus,
  offsetToWire,
  type ChangeMigrationOptions,
  type DriveMigrationOptions,
  type DriveResult,
  type MigrationBackend,
  type MigrationStatus,
  type TopicMigration,
} from './migration.js';
import { GrpcQueueIo } from './queue-io.js';
import { queuesFromRouteService, type QueueRef } from './topic-route.js';
import {
  auditFromWire,
  defaultActor,
  groupFromWire,
  roomChangeFromWire,
  roomChangeOptionsSchema,
  roomListingFromWire,
  setGroupControlOptionsSchema,
  type AuditEntry,
  type GroupControl,
  type RoomChangeOptions,
  type RoomChangeResult,
  type RoomListing,
  type SetGroupControlOptions,
} from './room-control.js';

/** Default deadline of control changes; see `controlTimeoutMs`. */
export const DEFAULT_CONTROL_TIMEOUT_MS = 15_000;

export const adminOptionsSchema = z.object({
  /** The router to manage, `host:port`. */
  router: endpointSchema,
  clientId: z.string().min(1).optional(),
  room: z.string().optional(),
  requestTimeoutMs: z.number().int().positive().default(DEFAULT_REQUEST_TIMEOUT_MS),
  /**
   * Deadline of calls that change the control state (topics, rooms, group leadership, migrations). The router
   * may wait for the control store's lock (5 s by default) before it writes: a longer deadline lets it answer
   * with its own error, which names the holder, instead of leaving the caller unsure whether the change landed.
   */
  controlTimeoutMs: z.number().int().positive().default(DEFAULT_CONTROL_TIMEOUT_MS),
});

export type AdminOptions = z.input<typeof adminOptionsSchema>;

export interface TopicConfig {
  name: string;
  queuesPerBroker: number;
  createdAtMs: number | undefined;
  /** `active-active` or `home:<room>`; empty when the router did not say (a router older than topic modes). */
  mode: string;
  /** Changes with every change of the topic's settings; 0 when the router did not say. */
  version: number;
}

export interface CreateTopicResult {
  topic: TopicConfig;
  /** False when the topic already existed with the same settings. */
  created: boolean;
}

export interface BrokerStatus {
  name: string;
  group: string;
  memberId: number;
  room: string;
  role: string;
  endpoint: string;
  status: string;
  statusReason: string | undefined;
  alive: boolean;
  writable: boolean;
  lastHeartbeatMs: number;
  logEndOffset: number | undefined;
  flushedOffset: number | undefined;
  flushMode: string | undefined;
  startedAtMs: number | undefined;
  pid: number | undefined;
  topics: { topic: string; queueCount: number; maxOffsetsTotal: number | undefined }[];
  /** Log ranges the broker found corrupt and refuses to serve until they are restored. */
  corruptRanges: { start: number; end: number; reason: string }[];
  /** async | sync:N */
  replicationMode: string;
  /** Replicas: host:port they copy from. */
  upstream: string;
  /** This member and every member after it in the chain: how far each holds the log, and how far behind. */
  replication: { member: string; room: string; durableOffset: number; lagBytes: number; lagMs: number; status: string; reason: string }[];
  /** The group epoch the member's log has reached; undefined when the broker did not say. */
  epoch: number | undefined;
  /** master | slave as configured; `role` is the role it acts in now. Empty when the broker did not say. */
  configuredRole: string;
  /** Why writes are refused now: '' (writable) | room-cut | lease-expired | frozen | not-leader | promoting. */
  fence: string;
  fenceReason: string;
  /** Log bytes and records the member cut on rejoin and kept aside. */
  quarantinedBytes: number;
  quarantinedRecords: number;
}

export interface RouterStatus {
  name: string;
  room: string;
  endpoint: string;
  lastSeenMs: number | undefined;
  alive: boolean;
}

export interface ClusterStatus {
  routerName: string;
  room: string;
  topicCount: number;
  brokers: BrokerStatus[];
  /** Routers sharing the control state, as this router sees them. */
  routers: RouterStatus[];
  /** e.g. `embedded` or `redis`; undefined when the router did not say. */
  controlStore: string | undefined;
  controlStoreHealth: string | undefined;
}

/** Operations against a router's AdminService: topics, cluster status, room cuts, group leadership, audit. */
export class Admin {
  private readonly options: z.output<typeof adminOptionsSchema>;
  private readonly clients = new ServiceClients();
  private readonly metadata: Metadata;

  constructor(options: AdminOptions) {
    this.options = parseConfig(adminOptionsSchema, options, 'invalid admin options');
    this.metadata = requestMetadata(resolveIdentity(this.options));
  }

  /**
   * Creates a topic (idempotent when it exists with the same settings); `queuesPerBroker` and `mode`
   * (`active-active` or `home:<room>`) default to the router's.
   */
  async createTopic(name: string, options: { queuesPerBroker?: number; mode?: string } = {}): Promise<CreateTopicResult> {
    validateTopicName(name);
    const request = { name, queues_per_broker: options.queuesPerBroker ?? 0, ...(options.mode ? { mode: options.mode } : {}) };
    const reply = await this.call<CreateTopicReplyMsg>('CreateTopic', request, { topic: name }, this.options.controlTimeoutMs);
    return { topic: topicFromWire(reply.topic ?? request), created: reply.created ?? false };
  }

  async listTopics(): Promise<TopicConfig[]> {
    const reply = await this.call<ListTopicsReplyMsg>('ListTopics', {}, {});
    return (reply.topics ?? []).map(topicFromWire);
  }

  async clusterStatus(): Promise<ClusterStatus> {
    const reply = await this.call<ClusterStatusReplyMsg>('ClusterStatus', {}, {});
    return {
      routerName: reply.router_name ?? '',
      room: reply.room ?? '',
      topicCount: reply.topic_count ?? 0,
      brokers: (reply.brokers ?? []).map(brokerFromWire),
      routers: (reply.routers ?? []).map((r) => ({ name: r.name ?? '', room: r.room ?? '', endpoint: r.endpoint ?? '', lastSeenMs: r.last_seen_ms, alive: r.alive ?? false })),
      controlStore: reply.control_store || undefined,
      controlStoreHealth: reply.control_store_health || undefined,
    };
  }

  /**
   * Cuts a room: its brokers stop accepting writes and every group led from it gets an acting leader in a
   * surviving room, atomically and audited. Idempotent (cutting a cut room changes nothing and says so);
   * `dryRun` returns the plan only.
   */
  async cutRoom(options: RoomChangeOptions): Promise<RoomChangeResult> {
    return this.roomChange('CutRoom', options);
  }

  /** Restores a cut room (idempotent). Leaders stay where they are: failbackGroup hands them back. */
  async restoreRoom(options: RoomChangeOptions): Promise<RoomChangeResult> {
    return this.roomChange('RestoreRoom', options);
  }

  /** Every known room with its state, and every broker group's leadership (defaults for those never changed). */
  async listRooms(): Promise<RoomListing> {
    return roomListingFromWire(await this.call<ListRoomsReplyMsg>('ListRooms', {}, {}));
  }

  /** Low-level compare-and-set of a group's leadership record (audited). failbackGroup builds on it. */
  async setGroupControl(options: SetGroupControlOptions): Promise<{ group: GroupControl; audit: AuditEntry }> {
    const o = parseConfig(setGroupControlOptionsSchema, options, 'invalid setGroupControl options');
    const reply = await this.call<SetGroupControlReplyMsg>(
      'SetGroupControl',
      { group: o.group, epoch: o.epoch, leader: o.leader, frozen: o.frozen, expected_version: o.expectedVersion, by: o.by ?? defaultActor(), reason: o.reason },
      { group: o.group },
      this.options.controlTimeoutMs,
    );
    return { group: groupFromWire(reply.group), audit: auditFromWire(reply.audit ?? { seq: 0, at_ms: 0, by: '', action: '', target: o.group }) };
  }

  /** The newest `limit` audit entries (0: the router's default), newest first. */
  async listAudit(limit = 0): Promise<AuditEntry[]> {
    const reply = await this.call<ListAuditReplyMsg>('ListAudit', { limit }, {});
    return (reply.entries ?? []).map(auditFromWire);
  }

  /**
   * Hands group leadership back to the configured master once it has rejoined and caught up (see failback.ts);
   * progress goes to `onProgress`. Resolves with `changed: false` when the configured master leads already.
   */
  async failbackGroup(group: string, options: FailbackOptions = {}): Promise<FailbackResult> {
    const o = parseConfig(failbackOptionsSchema, options, 'invalid failbackGroup options');
    return failbackGroup(this, group, { ...o, by: o.by ?? defaultActor() });
  }

  /** The topic's migration record (also a finished one); undefined when it never migrated. */
  async getMigration(topic: string): Promise<TopicMigration | undefined> {
    const reply = await this.getMigrationRaw(topic);
    return reply.migration ? migrationFromWire(reply.migration) : undefined;
  }

  async listMigrations(): Promise<TopicMigration[]> {
    const reply = await this.call<ListMigrationsReplyMsg>('ListMigrations', {}, {});
    return (reply.migrations ?? []).map(migrationFromWire);
  }

  /** One step of a migration (one audited compare-and-set on the router); driveMigration takes them in order. */
  async changeMigration(options: ChangeMigrationOptions): Promise<{ migration: TopicMigration; applied: boolean; message: string }> {
    validateTopicName(options.topic);
    const reply = await this.call<ChangeMigrationReplyMsg>(
      'ChangeMigration',
      {
        topic: options.topic,
        action: options.action,
        to_mode: options.toMode ?? '',
        groups: options.groups ?? [],
        offsets: (options.offsets ?? []).map(offsetToWire),
        expected_version: options.expectedVersion ?? 0,
        gate_seq: options.gateSeq ?? 0,
        by: options.by ?? defaultActor(),
        reason: options.reason ?? '',
        dry_run: options.dryRun ?? false,
      },
      { topic: options.topic },
      this.options.controlTimeoutMs,
    );
    return { migration: migrationFromWire(reply.migration!), applied: reply.applied ?? false, message: reply.status.message };
  }

  /**
   * Walks a topic's migration as far as it goes now (see migration.ts): until done or rolled back, paused, or
   * through the admitted groups. Start one first with changeMigration({ action: 'start', ... }).
   */
  async driveMigration(topic: string, options: DriveMigrationOptions = {}): Promise<DriveResult> {
    const o = parseConfig(driveMigrationOptionsSchema, options, 'invalid driveMigration options');
    return driveMigration(this.migrationBackend(), topic, { ...o, by: o.by ?? defaultActor() });
  }

  /** Phase, backlog per room and which clients still use the old route. */
  async migrationStatus(topic: string): Promise<MigrationStatus> {
    validateTopicName(topic);
    return migrationStatus(this.migrationBackend(), topic);
  }

  close(): Promise<void> {
    this.clients.close();
    return Promise.resolve();
  }

  private async getMigrationRaw(topic: string): Promise<GetMigrationReplyMsg> {
    validateTopicName(topic);
    return this.call<GetMigrationReplyMsg>('GetMigration', { topic }, { topic });
  }

  private migrationBackend(): MigrationBackend {
    const ios = new Map<string, GrpcQueueIo>();
    const io = (group: string): GrpcQueueIo => {
      let found = ios.get(group);
      if (!found) {
        found = new GrpcQueueIo({ group, clients: this.clients, metadata: this.metadata, requestTimeoutMs: this.options.requestTimeoutMs, maxBatchMessages: 1, maxBatchBytes: 1 });
        ios.set(group, found);
      }
      return found;
    };
    return {
      getMigrationRaw: (topic) => this.getMigrationRaw(topic),
      changeMigration: (options) => this.changeMigration(options),
      topicQueues: async (topic): Promise<QueueRef[]> => {
        const reply = await unaryCall<GetRouteReplyMsg>(this.clients.client('route', this.options.router), 'GetRoute', { topic }, {
          metadata: this.metadata,
          timeoutMs: this.options.requestTimeoutMs,
          context: { topic, endpoint: this.options.router },
        });
        const err = fromWireStatus(reply.status, { topic, endpoint: this.options.router });
        if (err) throw err;
        return queuesFromRouteService(topic, reply.queues);
      },
      endOffset: (queue) => io('').queryOffset(queue, 'END'),
      committedOffset: (queue, group) => io(group).getOffset(queue),
    };
  }

  private async roomChange(method: 'CutRoom' | 'RestoreRoom', options: RoomChangeOptions): Promise<RoomChangeResult> {
    const o = parseConfig(roomChangeOptionsSchema, options, `invalid ${method === 'CutRoom' ? 'cutRoom' : 'restoreRoom'} options`);
    const request = { room: o.room, reason: o.reason, by: o.by ?? defaultActor(), dry_run: o.dryRun, expected_version: o.expectedVersion };
    return roomChangeFromWire(await this.call<RoomChangeReplyMsg>(method, request, { room: o.room }, this.options.controlTimeoutMs), o.room);
  }

  private async call<T extends { status: { code: number; message: string } }>(method: string, request: object, context: Record<string, string>, timeoutMs = this.options.requestTimeoutMs): Promise<T> {
    const reply = await unaryCall<T>(this.clients.client('admin', this.options.router), method, request, {
      metadata: this.metadata,
      timeoutMs,
      context: { ...context, endpoint: this.options.router },
    });
    const err = fromWireStatus(reply.status, { ...context, endpoint: this.options.router });
    if (err) throw err;
    return reply;
  }
}

function topicFromWire(t: TopicConfigMsg): TopicConfig {
  return { name: t.name, queuesPerBroker: t.queues_per_broker ?? 0, createdAtMs: t.created_at_ms, mode: t.mode ?? '', version: t.version ?? 0 };
}

function brokerFromWire(view: BrokerViewMsg): BrokerStatus {
  const s = view.state;
  const id = s?.identity;
  return {
    name: id?.name ?? '',
    group: id?.group ?? '',
    memberId: id?.member_id ?? 0,
    room: id?.room ?? '',
    role: id?.role ?? '',
    endpoint: id?.endpoint ?? '',
    status: s?.status ?? '',
    statusReason: s?.status_reason,
    alive: view.alive ?? false,
    writable: s?.writable ?? false,
    lastHeartbeatMs: view.last_heartbeat_ms ?? 0,
    logEndOffset: s?.log_end_offset,
    flushedOffset: s?.flushed_offset,
    flushMode: s?.flush_mode,
    startedAtMs: s?.started_at_ms,
    pid: s?.pid,
    topics: (s?.topics ?? []).map((t) => ({ topic: t.topic, queueCount: t.queue_count ?? 0, maxOffsetsTotal: t.max_offsets_total })),
    corruptRanges: (s?.corrupt_ranges ?? []).map((r) => ({ start: r.start ?? 0, end: r.end ?? 0, reason: r.reason ?? '' })),
    replicationMode: s?.replication_mode ?? '',
    upstream: s?.upstream ?? '',
    replication: (s?.replication ?? []).map((r) => ({
      member: r.member ?? '',
      room: r.room ?? '',
      durableOffset: r.durable_offset ?? 0,
      lagBytes: r.lag_bytes ?? 0,
      lagMs: r.lag_ms ?? 0,
      status: r.status ?? '',
      reason: r.reason ?? '',
    })),
    epoch: s?.epoch,
    configuredRole: s?.configured_role ?? '',
    fence: s?.fence ?? '',
    fenceReason: s?.fence_reason ?? '',
    quarantinedBytes: s?.quarantined_bytes ?? 0,
    quarantinedRecords: s?.quarantined_records ?? 0,
  };
}
