import { formatTopicMode, isLogger, parseConfig, parseTopicMode, RoomqError, type TopicMode } from '@roomq/protocol';
import { Redis, type RedisOptions } from 'ioredis';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { CachedControlStore } from './cached-control-store.js';
import { copyControlState, emptyControlState, type ControlState } from './control-state.js';
import type {
  AuditEntry,
  ControlTransition,
  ControlTransitionOutcome,
  CreateTopicOutcome,
  GroupControl,
  GroupMember,
  MigrationChange,
  MigrationChangeOutcome,
  NewTopic,
  RoomControl,
  RouterRecord,
  TopicConfig,
  TopicMigration,
} from './control-store.js';
import { migrationFromJson, migrationToJson } from './control-file-format.js';
import { migrationAudit, migrationConflict, storedMigration, validateMigrationChange } from './migration-transition.js';
import { AUDIT_RETAIN_ENTRIES, validateTransition, versionConflict } from './control-transition.js';
import { APPLY_CONTROL, APPLY_MIGRATION, CREATE_TOPIC_IF_ABSENT, HEARTBEAT_ROUTER, PUBLISH_MEMBERS, SET_TOPIC_MODE, type ScriptDefinition } from './redis-scripts.js';

/** Prefix of every key and of the change channel; a cluster name after it lets several clusters share a Redis. */
export const DEFAULT_REDIS_KEY_PREFIX = 'roomq:';
/** open() fails when Redis does not accept a connection within this. */
export const DEFAULT_REDIS_CONNECT_TIMEOUT_MS = 2000;
/** A command without a reply within this fails; the store then reports itself degraded. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1000;
/**
 * How often the routers and group members are re-read (timestamps move without change events) and the
 * connection is probed. Also bounds how long a missed change event can go unnoticed for them.
 */
export const DEFAULT_REDIS_REFRESH_INTERVAL_MS = 1000;
/** Longest wait between reconnection attempts; Redis coming back is noticed within about this. */
export const DEFAULT_REDIS_RECONNECT_MAX_DELAY_MS = 1000;
/** Routers and members not refreshed for this long are deleted by the next heartbeat or report of any router. */
export const DEFAULT_REDIS_PRUNE_AFTER_MS = 10 * 60_000;

export const RedisControlStoreOptionsSchema = z
  .object({
    /** e.g. `redis://127.0.0.1:6379`, `redis://:password@host:6379/2`, `rediss://` for TLS. */
    url: z.string().regex(/^rediss?:\/\/[^/]/, 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379'),
    /**
     * Prefix of every key. For Redis Cluster make it a hash tag, e.g. `{roomq}:`, so that the keys a script
     * touches live in one slot.
     */
    keyPrefix: z.string().min(1).default(DEFAULT_REDIS_KEY_PREFIX),
    connectTimeoutMs: z.number().int().positive().default(DEFAULT_REDIS_CONNECT_TIMEOUT_MS),
    commandTimeoutMs: z.number().int().positive().default(DEFAULT_REDIS_COMMAND_TIMEOUT_MS),
    refreshIntervalMs: z.number().int().positive().default(DEFAULT_REDIS_REFRESH_INTERVAL_MS),
    reconnectMaxDelayMs: z.number().int().positive().default(DEFAULT_REDIS_RECONNECT_MAX_DELAY_MS),
    pruneAfterMs: z.number().int().positive().default(DEFAULT_REDIS_PRUNE_AFTER_MS),
    /** pino logger; the store logs through `logger.child({ component: 'redis-control-store' })`. Silent by default. */
    logger: z.custom<Logger>(isLogger, 'expected a pino logger').optional(),
  })
  .strict();

export type RedisControlStoreOptions = z.input<typeof RedisControlStoreOptionsSchema>;
type ResolvedOptions = z.output<typeof RedisControlStoreOptionsSchema>;

type ChangeEvent = { kind: 'topic'; topic: string } | { kind: 'members'; group: string } | { kind: 'routers' } | { kind: 'control' } | { kind: 'migration'; topic: string };

const StoredTopicSchema = z.object({
  name: z.string().min(1),
  queuesPerBroker: z.number().int().positive(),
  mode: z.string(),
  createdAtMs: z.number().int().nonnegative(),
  version: z.number().int().positive(),
});
const StoredRouterSchema = z.object({ name: z.string().min(1), room: z.string(), endpoint: z.string(), lastSeenMs: z.number() });
const StoredMemberSchema = z.object({ clientId: z.string().min(1), room: z.string(), router: z.string(), lastSeenMs: z.number(), info: z.string().optional() });
const ChangeEventSchema = z.union([
  z.object({ kind: z.literal('topic'), topic: z.string() }),
  z.object({ kind: z.literal('members'), group: z.string() }),
  z.object({ kind: z.literal('routers') }),
  z.object({ kind: z.literal('control') }),
  z.object({ kind: z.literal('migration'), topic: z.string() }),
]);
const StoredRoomSchema = z.object({
  room: z.string().min(1),
  status: z.enum(['active', 'cut']),
  version: z.number().int().positive(),
  changedAtMs: z.number(),
  changedBy: z.string(),
  reason: z.string(),
});
const StoredGroupSchema = z.object({
  group: z.string().min(1),
  epoch: z.number().int().positive(),
  leader: z.string().min(1),
  frozen: z.boolean(),
  version: z.number().int().positive(),
  changedAtMs: z.number(),
  changedBy: z.string(),
  reason: z.string(),
});
const StoredAuditSchema = z.object({
  seq: z.number().int().positive(),
  atMs: z.number(),
  by: z.string(),
  action: z.string(),
  target: z.string(),
  reason: z.string(),
  version: z.number().int().nonnegative(),
  detailsJson: z.string(),
});

/**
 * The ControlStore on Redis, shared by the routers of every room. Every change is one Lua script
 * (redis-scripts.ts) that also publishes a change event on `{keyPrefix}changes`; a second connection
 * subscribes to it and refreshes the cache, so other routers' changes arrive within milliseconds. Routers and
 * members are re-read every refreshIntervalMs as well, because their timestamps move without events.
 *
 * Reads are always served from the cache, loaded in full by open() and again after every reconnect. While
 * Redis is unreachable the store is `degraded`: reads serve the last known state, createTopicIfAbsent and
 * setTopicMode fail at once with UNAVAILABLE (commands are never queued), heartbeats and member reports are
 * skipped. ioredis reconnects by itself; the store then reloads, emits `reload` and is healthy again.
 *
 * open() against an unreachable Redis fails with UNAVAILABLE naming the URL: a router with no state at all
 * cannot route, so it should not start pretending; its caller may retry.
 */
export class RedisControlStore extends CachedControlStore {
  readonly description: string;
  protected readonly logger: Logger;
  private readonly options: ResolvedOptions;
  private readonly keys: {
    topics: string;
    routers: string;
    groups: string;
    changes: string;
    membersPrefix: string;
    rooms: string;
    groupControl: string;
    audit: string;
    auditSeq: string;
    migrations: string;
  };
  private command: Redis | undefined;
  private subscriber: Redis | undefined;
  private lastError: string | undefined;
  private ticking = false;

  constructor(options: RedisControlStoreOptions) {
    super();
    this.options = parseConfig(RedisControlStoreOptionsSchema, options, 'redis control store options');
    this.description = `redis ${describeUrl(this.options.url)}`;
    const p = this.options.keyPrefix;
    this.keys = {
      topics: `${p}topics`,
      routers: `${p}routers`,
      groups: `${p}groups`,
      changes: `${p}changes`,
      membersPrefix: `${p}members:`,
      rooms: `${p}rooms`,
      groupControl: `${p}group-control`,
      audit: `${p}audit`,
      auditSeq: `${p}audit-seq`,
      migrations: `${p}migrations`,
    };
    this.logger = (this.options.logger ?? pino({ level: 'silent' })).child({ component: 'redis-control-store', redis: describeUrl(this.options.url), keyPrefix: p });
  }

  protected get refreshIntervalMs(): number {
    return this.options.refreshIntervalMs;
  }

  protected refresh(): void {
    void this.tick();
  }

  protected async readTopic(name: string): Promise<TopicConfig | undefined> {
    if (!this.command) return undefined;
    try {
      const json = await this.command.hget(this.keys.topics, name);
      return json === null ? undefined : decodeTopic(json);
    } catch {
      return undefined;
    }
  }

  protected release(): void {
    this.disconnect();
  }

  /** The health's reason names the store already; the refusal names it once, with what failed. */
  protected unavailableError(): RoomqError {
    return this.unavailable(this.lastError ?? 'connection closed');
  }

  async createTopicIfAbsent(topic: NewTopic): Promise<CreateTopicOutcome> {
    this.assertWritable();
    const stored: TopicConfig = { name: topic.name, queuesPerBroker: topic.queuesPerBroker, mode: topic.mode, createdAtMs: topic.createdAtMs, version: 1 };
    const reply = (await this.write(CREATE_TOPIC_IF_ABSENT, [this.keys.topics], [topic.name, encodeTopic(stored), this.keys.changes, event({ kind: 'topic', topic: topic.name })])) as [
      number,
      string,
    ];
    const current = decodeTopic(reply[1]);
    await this.serially(async () => this.update((draft) => putTopic(draft, current)));
    return { created: reply[0] === 1, topic: { ...current } };
  }

  async setTopicMode(name: string, mode: TopicMode, expectedVersion: number): Promise<TopicConfig> {
    this.assertWritable();
    const reply = (await this.write(SET_TOPIC_MODE, [this.keys.topics], [name, formatTopicMode(mode), String(expectedVersion), this.keys.changes, event({ kind: 'topic', topic: name })])) as [
      string,
      string?,
    ];
    if (reply[0] === 'missing') {
      await this.serially(async () => this.update((draft) => draft.topics.delete(name)));
      throw new RoomqError('TOPIC_NOT_FOUND', `topic ${name} does not exist`, { details: { topic: name } });
    }
    const current = decodeTopic(reply[1]!);
    await this.serially(async () => this.update((draft) => putTopic(draft, current)));
    if (reply[0] === 'conflict') {
      throw new RoomqError('VERSION_CONFLICT', `topic ${name} changed meanwhile (version ${current.version}, expected ${expectedVersion}); read it again and retry`, {
        details: { topic: name, currentVersion: current.version },
      });
    }
    return { ...current };
  }

  async applyControl(change: ControlTransition): Promise<ControlTransitionOutcome> {
    this.assertWritable();
    validateTransition(change);
    const payload = {
      rooms: (change.rooms ?? []).map((r) => ({ room: r.room, status: r.status, expectedVersion: r.expectedVersion })),
      groups: (change.groups ?? []).map((g) => ({ group: g.group, epoch: g.epoch, leader: g.leader, frozen: g.frozen, expectedVersion: g.expectedVersion })),
      by: change.audit.by,
      action: change.audit.action,
      target: change.audit.target,
      reason: change.audit.reason,
      detailsJson: JSON.stringify(change.audit.details ?? {}),
      nowMs: Date.now(),
      retain: AUDIT_RETAIN_ENTRIES,
    };
    const keys = [this.keys.rooms, this.keys.groupControl, this.keys.audit, this.keys.auditSeq];
    const reply = (await this.write(APPLY_CONTROL, keys, [JSON.stringify(payload), this.keys.changes, event({ kind: 'control' })])) as Array<string | number>;
    if (reply[0] === 'conflict') {
      const record = reply[1] as 'room' | 'group';
      const name = String(reply[2]);
      const current = Number(reply[3]);
      const expected = record === 'room' ? payload.rooms.find((r) => r.room === name)?.expectedVersion : payload.groups.find((g) => g.group === name)?.expectedVersion;
      // The cache may be behind what made the conflict: refresh it so the caller's re-read sees the winner.
      await this.serially(async () => this.reloadControl()).catch(() => undefined);
      throw versionConflict(record, name, current, expected ?? 0);
    }
    const audit = decodeAudit(String(reply[1]));
    const roomCount = Number(reply[2]);
    const encoded = reply.slice(3).map(String);
    const rooms = encoded.slice(0, roomCount).map(decodeRoom);
    const groups = encoded.slice(roomCount).map(decodeGroup);
    await this.serially(async () =>
      this.update((draft) => {
        for (const r of rooms) putRoom(draft, r);
        for (const g of groups) putGroup(draft, g);
        putAudit(draft, [audit]);
      }),
    );
    return { rooms: rooms.map((r) => ({ ...r })), groups: groups.map((g) => ({ ...g })), audit: { ...audit, details: { ...audit.details } } };
  }

  async applyMigration(change: MigrationChange): Promise<MigrationChangeOutcome> {
    this.assertWritable();
    validateMigrationChange(change);
    const nowMs = Date.now();
    const migration = storedMigration(change, nowMs);
    const { details, ...entry } = migrationAudit(change, migration, nowMs);
    const audit = { ...entry, detailsJson: JSON.stringify(details) };
    const keys = [this.keys.migrations, this.keys.topics, this.keys.audit, this.keys.auditSeq];
    const reply = (await this.write(APPLY_MIGRATION, keys, [
      change.topic,
      String(change.expectedVersion),
      JSON.stringify(migrationToJson(migration)),
      change.topicMode ? formatTopicMode(change.topicMode.mode) : '',
      String(change.topicMode?.expectedVersion ?? 0),
      JSON.stringify(audit),
      String(AUDIT_RETAIN_ENTRIES),
      this.keys.changes,
      event({ kind: 'migration', topic: change.topic }),
    ])) as Array<string | number>;
    if (reply[0] === 'missing') throw new RoomqError('TOPIC_NOT_FOUND', `topic ${change.topic} does not exist`, { details: { topic: change.topic } });
    if (reply[0] === 'conflict') {
      await this.serially(async () => this.reloadMigration(change.topic)).catch(() => undefined);
      const current = Number(reply[2]);
      if (reply[1] === 'migration') throw migrationConflict(change.topic, current, change.expectedVersion);
      throw new RoomqError('VERSION_CONFLICT', `topic ${change.topic} changed meanwhile (version ${current}, expected ${change.topicMode?.expectedVersion}); read it again and retry`, {
        details: { record: 'topic', topic: change.topic, currentVersion: current },
      });
    }
    const storedAudit = decodeAudit(String(reply[1]));
    const topic = reply[2] ? decodeTopic(String(reply[2])) : undefined;
    await this.serially(async () =>
      this.update((draft) => {
        putMigration(draft, migration);
        if (topic) putTopic(draft, topic);
        putAudit(draft, [storedAudit]);
      }),
    );
    return { migration, topic: topic && { ...topic }, audit: storedAudit };
  }

  async heartbeatRouter(router: RouterRecord): Promise<void> {
    if (!this.acceptsReports()) return;
    const record = { name: router.name, room: router.room, endpoint: router.endpoint, lastSeenMs: router.lastSeenMs };
    const reply = (await this.write(HEARTBEAT_ROUTER, [this.keys.routers], [
      router.name,
      JSON.stringify(record),
      router.room,
      router.endpoint,
      String(Date.now() - this.options.pruneAfterMs),
      this.keys.changes,
      event({ kind: 'routers' }),
    ])) as string[];
    await this.serially(async () => this.update((draft) => (draft.routers = decodeRouters(reply, this.logger))));
  }

  async publishMembers(router: string, group: string, members: GroupMember[]): Promise<void> {
    if (!this.acceptsReports()) return;
    const pairs = members.flatMap((m) => [m.clientId, JSON.stringify({ clientId: m.clientId, room: m.room, router, lastSeenMs: m.lastSeenMs, ...(m.info === undefined ? {} : { info: m.info }) })]);
    const reply = (await this.write(PUBLISH_MEMBERS, [this.membersKey(group), this.keys.groups], [
      router,
      group,
      String(Date.now() - this.options.pruneAfterMs),
      this.keys.changes,
      event({ kind: 'members', group }),
      ...pairs,
    ])) as string[];
    await this.serially(async () => this.update((draft) => setGroup(draft, group, decodeMembers(reply, this.logger))));
  }

  protected async load(): Promise<void> {
    this.forgetOutage();
    this.lastError = undefined;
    const command = this.connection('command');
    const subscriber = this.connection('subscriber');
    this.command = command;
    this.subscriber = subscriber;
    for (const [name, script] of Object.entries({ CREATE_TOPIC_IF_ABSENT, SET_TOPIC_MODE, HEARTBEAT_ROUTER, PUBLISH_MEMBERS, APPLY_CONTROL, APPLY_MIGRATION })) {
      command.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    try {
      await Promise.all([command.connect(), subscriber.connect()]);
      subscriber.on('message', (channel: string, text: string) => this.onMessage(channel, text));
      await subscriber.subscribe(this.keys.changes);
      this.state = await this.loadAll();
    } catch (err) {
      const reason = this.lastError ?? (err as Error).message;
      throw new RoomqError(
        'UNAVAILABLE',
        `cannot reach the control store at ${describeUrl(this.options.url)}: ${reason}; start Redis or fix the store's url, then start the router again`,
        { cause: err, details: { endpoint: describeUrl(this.options.url) } },
      );
    }
    this.logger.info({ topics: this.state.topics.size, routers: this.state.routers.size, groups: this.state.members.size }, 'control state loaded');
  }

  private connection(role: 'command' | 'subscriber'): Redis {
    const options: RedisOptions = {
      lazyConnect: true,
      // Never queue: a router must learn at once that Redis is gone, not after its commands time out.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.options.connectTimeoutMs,
      commandTimeout: this.options.commandTimeoutMs,
      // Unanswered commands on a black-holed link destroy the socket, so ioredis reconnects and we degrade.
      socketTimeout: this.options.commandTimeoutMs * 2,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), this.options.reconnectMaxDelayMs),
      connectionName: `roomq-router-control-${role}`,
    };
    const redis = new Redis(this.options.url, options);
    redis.on('error', (err: Error) => {
      this.lastError = err.message;
      this.logger.debug({ err, role }, 'redis connection error');
      // The socket closes before the reconnect attempt says why; the reason then names the real cause.
      if (this.isOpen() && this.isDegraded()) this.markUnreachable(err.message);
    });
    redis.on('close', () => {
      if (this.isOpen()) this.markUnreachable(this.lastError ?? 'connection closed');
    });
    redis.on('ready', () => {
      if (!this.isOpen()) return;
      this.logger.info({ role }, 'redis connection ready');
      void this.tick();
    });
    return redis;
  }

  private disconnect(): void {
    for (const redis of [this.command, this.subscriber]) {
      try {
        redis?.disconnect();
      } catch (err) {
        this.logger.warn({ err }, 'closing a redis connection failed');
      }
    }
    this.command = undefined;
    this.subscriber = undefined;
  }

  /** Runs a script; connection failures become UNAVAILABLE (and degrade the store when they say it is gone). */
  private async write(script: ScriptDefinition, keys: string[], args: string[]): Promise<unknown> {
    const name = scriptName(script);
    const command = this.command!;
    try {
      return await (command as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[name]!(...keys, ...args);
    } catch (err) {
      if (isReplyError(err)) {
        throw new RoomqError('INTERNAL', `the control store script ${name} failed in ${this.description}: ${(err as Error).message}`, { cause: err });
      }
      const detail = this.lastError ?? (err as Error).message;
      if (command.status !== 'ready') this.markUnreachable(detail);
      throw this.unavailable(detail, err);
    }
  }

  /** `detail` is what failed, e.g. `connect ECONNREFUSED 127.0.0.1:6379`. */
  private unavailable(detail: string, cause?: unknown): RoomqError {
    return new RoomqError(
      'UNAVAILABLE',
      `the control store (${this.description}) is unreachable: ${detail}; routers keep serving the last known state; retry when Redis is back`,
      { cause, details: { endpoint: describeUrl(this.options.url) } },
    );
  }

  /** Periodic and on reconnect: reload everything after an outage, otherwise refresh routers and members. */
  private async tick(): Promise<void> {
    if (this.ticking || !this.isOpen()) return;
    this.ticking = true;
    try {
      if (this.isDegraded()) {
        if (this.command?.status !== 'ready' || this.subscriber?.status !== 'ready') return;
        await this.serially(async () => {
          const loaded = await this.loadAll();
          this.state = loaded;
        });
        this.recover('control store healthy again; state reloaded');
        this.lastError = undefined;
        return;
      }
      await this.subscriber?.ping();
      await this.serially(async () => {
        const { routers, members } = await this.loadRoutersAndMembers();
        // Rooms and groups are re-read too: a missed event must not leave a cut unseen for long.
        const { rooms, groups } = await this.loadRoomsAndGroups();
        this.update((draft) => {
          draft.routers = routers;
          draft.members = members;
          for (const r of rooms.values()) putRoom(draft, r);
          for (const g of groups.values()) putGroup(draft, g);
        });
      });
    } catch (err) {
      if (!this.isOpen()) return;
      this.markUnreachable(this.lastError ?? (err as Error).message);
    } finally {
      this.ticking = false;
    }
  }

  private onMessage(channel: string, text: string): void {
    if (channel !== this.keys.changes || !this.isOpen()) return;
    let change: ChangeEvent;
    try {
      change = ChangeEventSchema.parse(JSON.parse(text));
    } catch (err) {
      this.logger.warn({ err, text }, 'ignoring a malformed control change event');
      return;
    }
    this.serially(async () => {
      const command = this.command!;
      if (change.kind === 'topic') {
        const json = await command.hget(this.keys.topics, change.topic);
        this.update((draft) => (json === null ? draft.topics.delete(change.topic) : putTopic(draft, decodeTopic(json))));
      } else if (change.kind === 'members') {
        const flat = await command.hgetall(this.membersKey(change.group));
        this.update((draft) => setGroup(draft, change.group, decodeMembers(Object.entries(flat).flat(), this.logger)));
      } else if (change.kind === 'control') {
        await this.reloadControl();
      } else if (change.kind === 'migration') {
        await this.reloadMigration(change.topic);
      } else {
        const flat = await command.hgetall(this.keys.routers);
        this.update((draft) => (draft.routers = decodeRouters(Object.entries(flat).flat(), this.logger)));
      }
    }).catch((err: unknown) => this.logger.debug({ err, change }, 'reading a changed control entry failed; the next reload repairs it'));
  }

  private async loadAll(): Promise<ControlState> {
    const command = this.command!;
    const topics = await command.hgetall(this.keys.topics);
    const { routers, members } = await this.loadRoutersAndMembers();
    const state = emptyControlState();
    for (const json of Object.values(topics)) {
      try {
        putTopic(state, decodeTopic(json));
      } catch (err) {
        this.logger.error({ err, json }, 'ignoring a malformed topic in redis');
      }
    }
    state.routers = routers;
    state.members = members;
    const { rooms, groups } = await this.loadRoomsAndGroups();
    state.rooms = rooms;
    state.groups = groups;
    const { audit, auditSeq } = await this.loadAudit();
    state.audit = audit;
    state.auditSeq = auditSeq;
    for (const json of Object.values(await command.hgetall(this.keys.migrations))) {
      try {
        putMigration(state, migrationFromJson(JSON.parse(json)));
      } catch (err) {
        this.logger.error({ err, json }, 'ignoring a malformed topic migration in redis');
      }
    }
    return state;
  }

  /** Re-reads one topic's migration, its topic (a finish sets the mode) and the audit log into the cache. */
  private async reloadMigration(topic: string): Promise<void> {
    const command = this.command!;
    const [json, topicJson] = await Promise.all([command.hget(this.keys.migrations, topic), command.hget(this.keys.topics, topic)]);
    const { audit } = await this.loadAudit();
    this.update((draft) => {
      if (json !== null) putMigration(draft, migrationFromJson(JSON.parse(json)));
      if (topicJson !== null) putTopic(draft, decodeTopic(topicJson));
      putAudit(draft, audit);
    });
  }

  /** Re-reads rooms, group control and the audit log into the cache (after a control event or a conflict). */
  private async reloadControl(): Promise<void> {
    const { rooms, groups } = await this.loadRoomsAndGroups();
    const { audit } = await this.loadAudit();
    this.update((draft) => {
      for (const r of rooms.values()) putRoom(draft, r);
      for (const g of groups.values()) putGroup(draft, g);
      putAudit(draft, audit);
    });
  }

  private async loadRoomsAndGroups(): Promise<Pick<ControlState, 'rooms' | 'groups'>> {
    const command = this.command!;
    const [roomsFlat, groupsFlat] = await Promise.all([command.hgetall(this.keys.rooms), command.hgetall(this.keys.groupControl)]);
    const rooms = new Map<string, RoomControl>();
    for (const json of Object.values(roomsFlat)) {
      try {
        const room = decodeRoom(json);
        rooms.set(room.room, room);
      } catch (err) {
        this.logger.error({ err, json }, 'ignoring a malformed room record in redis');
      }
    }
    const groups = new Map<string, GroupControl>();
    for (const json of Object.values(groupsFlat)) {
      try {
        const group = decodeGroup(json);
        groups.set(group.group, group);
      } catch (err) {
        this.logger.error({ err, json }, 'ignoring a malformed group control record in redis');
      }
    }
    return { rooms, groups };
  }

  /** The retained audit entries, oldest first, and the last seq used. */
  private async loadAudit(): Promise<{ audit: AuditEntry[]; auditSeq: number }> {
    const command = this.command!;
    const [list, seq] = await Promise.all([command.lrange(this.keys.audit, 0, AUDIT_RETAIN_ENTRIES - 1), command.get(this.keys.auditSeq)]);
    const audit: AuditEntry[] = [];
    for (const json of list) {
      try {
        audit.push(decodeAudit(json));
      } catch (err) {
        this.logger.error({ err, json }, 'ignoring a malformed audit entry in redis');
      }
    }
    audit.reverse();
    return { audit, auditSeq: Number(seq ?? 0) };
  }

  private async loadRoutersAndMembers(): Promise<Pick<ControlState, 'routers' | 'members'>> {
    const command = this.command!;
    const [routersFlat, groups] = await Promise.all([command.hgetall(this.keys.routers), command.smembers(this.keys.groups)]);
    const pipeline = command.pipeline();
    for (const group of groups) pipeline.hgetall(this.membersKey(group));
    const results = groups.length === 0 ? [] : ((await pipeline.exec()) ?? []);
    const state = emptyControlState();
    groups.forEach((group, i) => {
      const [err, flat] = results[i] ?? [new Error('no reply'), undefined];
      if (err) throw err;
      setGroup(state, group, decodeMembers(Object.entries(flat as Record<string, string>).flat(), this.logger));
    });
    return { routers: decodeRouters(Object.entries(routersFlat).flat(), this.logger), members: state.members };
  }

  private membersKey(group: string): string {
    return `${this.keys.membersPrefix}${group}`;
  }

  /** Changes the cache and tells listeners what differs; the only place the cache changes while open. */
  private update(change: (draft: ControlState) => unknown): void {
    const draft = copyControlState(this.state);
    change(draft);
    this.replaceState(draft);
  }

  private markUnreachable(detail: string): void {
    this.degrade(`${this.description} unreachable: ${detail}`);
  }
}

function scriptName(script: ScriptDefinition): string {
  if (script === APPLY_CONTROL) return 'APPLY_CONTROL';
  if (script === APPLY_MIGRATION) return 'APPLY_MIGRATION';
  if (script === CREATE_TOPIC_IF_ABSENT) return 'CREATE_TOPIC_IF_ABSENT';
  if (script === SET_TOPIC_MODE) return 'SET_TOPIC_MODE';
  if (script === HEARTBEAT_ROUTER) return 'HEARTBEAT_ROUTER';
  return 'PUBLISH_MEMBERS';
}

function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

function event(change: ChangeEvent): string {
  return JSON.stringify(change);
}

/** host:port of a Redis URL, without credentials, for logs and messages. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//');
  }
}

function encodeTopic(topic: TopicConfig): string {
  return JSON.stringify({ name: topic.name, queuesPerBroker: topic.queuesPerBroker, mode: formatTopicMode(topic.mode), createdAtMs: topic.createdAtMs, version: topic.version });
}

function decodeTopic(json: string): TopicConfig {
  const stored = StoredTopicSchema.parse(JSON.parse(json));
  return { ...stored, mode: parseTopicMode(stored.mode) };
}

/** Topics never go back a version in the cache, whatever order replies arrive in. */
function putTopic(state: ControlState, topic: TopicConfig): void {
  const cached = state.topics.get(topic.name);
  if (cached && cached.version > topic.version) return;
  state.topics.set(topic.name, topic);
}

function decodeRouters(flat: string[], logger: Logger): Map<string, RouterRecord> {
  const routers = new Map<string, RouterRecord>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    try {
      const record = StoredRouterSchema.parse(JSON.parse(flat[i + 1]!));
      routers.set(record.name, record);
    } catch (err) {
      logger.error({ err, field: flat[i] }, 'ignoring a malformed router record in redis');
    }
  }
  return routers;
}

function decodeMembers(flat: string[], logger: Logger): GroupMember[] {
  const members: GroupMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    try {
      members.push(StoredMemberSchema.parse(JSON.parse(flat[i + 1]!)));
    } catch (err) {
      logger.error({ err, field: flat[i] }, 'ignoring a malformed group member in redis');
    }
  }
  return members;
}

/** Replaces the cache's view of a group with the members Redis holds for it, grouped by reporting router. */
function setGroup(state: ControlState, group: string, members: GroupMember[]): void {
  if (members.length === 0) {
    state.members.delete(group);
    return;
  }
  const byRouter = new Map<string, GroupMember[]>();
  for (const member of members) byRouter.set(member.router, [...(byRouter.get(member.router) ?? []), member]);
  state.members.set(group, byRouter);
}

function decodeRoom(json: string): RoomControl {
  return StoredRoomSchema.parse(JSON.parse(json));
}

function decodeGroup(json: string): GroupControl {
  return StoredGroupSchema.parse(JSON.parse(json));
}

function decodeAudit(json: string): AuditEntry {
  const { detailsJson, ...entry } = StoredAuditSchema.parse(JSON.parse(json));
  let details: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(detailsJson);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) details = parsed as Record<string, unknown>;
  } catch {
    // Kept as an empty object: the entry itself still says who did what.
  }
  return { ...entry, details };
}

/** Records never go back a version in the cache, whatever order replies and events arrive in. */
function putRoom(state: ControlState, room: RoomControl): void {
  const cached = state.rooms.get(room.room);
  if (cached && cached.version > room.version) return;
  state.rooms.set(room.room, room);
}

function putGroup(state: ControlState, group: GroupControl): void {
  const cached = state.groups.get(group.group);
  if (cached && cached.version > group.version) return;
  state.groups.set(group.group, group);
}

/** Merges entries into the cached audit log by seq, keeping it sorted and bounded. */
function putAudit(state: ControlState, entries: AuditEntry[]): void {
  const bySeq = new Map(state.audit.map((e) => [e.seq, e]));
  for (const e of entries) bySeq.set(e.seq, e);
  state.audit = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-AUDIT_RETAIN_ENTRIES);
  state.auditSeq = Math.max(state.auditSeq, ...entries.map((e) => e.seq));
}

/** Migration records never go back a version in the cache. */
function putMigration(state: ControlState, migration: TopicMigration): void {
  const cached = state.migrations.get(migration.topic);
  if (cached && cached.version > migration.version) return;
  state.migrations.set(migration.topic, migration);
}
