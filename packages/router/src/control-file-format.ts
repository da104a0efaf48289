/**
 * Layout of the embedded control store's file (by default `<dataDir>/control.json`), UTF-8 JSON:
 *
 *   {
 *     "format": "roomq-router-control",
 *     "version": 3,
 *     "topics": [
 *       { "name": "orders", "queuesPerBroker": 4, "mode": "home:dc1", "createdAtMs": 1700000000000, "version": 3 }, ...
 *     ],
 *     "routers": [ { "name": "router-dc1", "room": "dc1", "endpoint": "127.0.0.1:9876", "lastSeenMs": 1700000000000 }, ... ],
 *     "members": [
 *       { "group": "billing", "router": "router-dc1",
 *         "members": [ { "clientId": "dc1@host@1@1", "room": "dc1", "lastSeenMs": 1700000000000 }, ... ] }, ...
 *     ],
 *     "rooms": [ { "room": "dc1", "status": "cut", "version": 1, "changedAtMs": 1700000000000, "changedBy": "ops@host", "reason": "..." }, ... ],
 *     "groups": [ { "group": "broker-a", "epoch": 2, "leader": "broker-a/1@dc2", "frozen": false, "version": 1,
 *                   "changedAtMs": 1700000000000, "changedBy": "ops@host", "reason": "..." }, ... ],
 *     "audit": [ { "seq": 1, "atMs": 1700000000000, "by": "ops@host", "action": "room-cut", "target": "dc1",
 *                  "reason": "...", "version": 1, "details": { ... } }, ... ],
 *     "auditSeq": 1,
 *     "migrations": [ { "topic": "orders", "from": "home:dc1", "to": "active-active", "phase": "draining", "paused": false,
 *                       "rollingBack": false, "groups": ["billing"], "movedGroups": ["billing"], "switchSeq": 1,
 *                       "gates": [ { "seq": 1, "cappedRooms": ["dc2"], "caps": [ { "broker": "broker-b", "queueId": 0, "offset": 0, "room": "dc2" } ],
 *                                    "barrierRooms": ["dc1"], "barrier": [ ... ] | null, "released": ["billing"], "openedAtMs": 1700000000000 } ],
 *                       "version": 4, "startedAtMs": ..., "changedAtMs": ..., "changedBy": "ops@host", "reason": "..." }, ... ]
 *   }
 *
 * Version 4 added `migrations` (topic migrations, sorted by topic) and a member's optional `info`. A version 3
 * file is read as having no migrations and rewritten as version 4 at once; the version was bumped for the same
 * reason as version 3: a version 3 router would drop the migrations on its next write and so lose a
 * migration's gates, which keep per-key order.
 *
 * `rooms` are sorted by room, `groups` by group, `audit` oldest first (the newest AUDIT_RETAIN_ENTRIES are
 * kept); `auditSeq` is the last seq ever used, so seqs are never reused after older entries are dropped.
 *
 * Version 2 (before room cuts) had no `rooms`, `groups`, `audit` and `auditSeq`: it is read as having none,
 * and rewritten as version 3 at once. The version was bumped, not the fields merely added, because a router of
 * version 2 would silently drop the fields it does not know on its next write and so undo a room cut; it
 * refuses a version 3 file instead.
 *
 * `topics` and `routers` are sorted by name, `members` by group then router, each member list by client ID.
 * `mode` is `active-active` or `home:<room>` (formatTopicMode). A reader refuses versions it does not know
 * instead of guessing.
 *
 * Version 1 (before topic modes) had only `topics`, each without `mode` and `version`. It is still read: its
 * topics get version 1 and the mode `home:<legacyHomeRoom>`, because before modes existed every producer
 * wrote to the room of the single router that owned the file, which is exactly what a home topic does. The
 * caller must name that room; a version 1 file with topics and no legacyHomeRoom is refused.
 */
import { formatTopicMode, parseTopicMode } from '@roomq/protocol';
import { z } from 'zod';
import type { AuditEntry, GroupControl, GroupMember, RoomControl, TopicConfig, TopicMigration } from './control-store.js';
import { compareText as compare, emptyControlState, type ControlState } from './control-state.js';

export const CONTROL_FILE_FORMAT = 'roomq-router-control';
export const CONTROL_FILE_VERSION = 4;

export interface DecodeOptions {
  /** Room whose home mode the topics of a version 1 file get. */
  legacyHomeRoom?: string | undefined;
}

export interface DecodedControlFile {
  state: ControlState;
  /** The version the file was written in; less than CONTROL_FILE_VERSION when it was migrated while decoding. */
  fileVersion: number;
}

const ModeSchema = z.string().transform((text, ctx) => {
  try {
    return parseTopicMode(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const Millis = z.number().int().nonnegative();

const V1TopicSchema = z.object({
  name: z.string().min(1),
  queuesPerBroker: z.number().int().positive(),
  createdAtMs: Millis,
});

const V2TopicSchema = V1TopicSchema.extend({ mode: ModeSchema, version: z.number().int().positive() });

const RouterSchema = z.object({ name: z.string().min(1), room: z.string().min(1), endpoint: z.string(), lastSeenMs: Millis });

const MemberListSchema = z.object({
  group: z.string().min(1),
  router: z.string().min(1),
  members: z.array(z.object({ clientId: z.string().min(1), room: z.string().min(1), lastSeenMs: Millis, info: z.string().optional() })),
});

const HeaderSchema = z.object({ format: z.literal(CONTROL_FILE_FORMAT), version: z.number().int() });

const V1Schema = z.object({ format: z.literal(CONTROL_FILE_FORMAT), version: z.literal(1), topics: z.array(V1TopicSchema) });

const V2Schema = z.object({
  format: z.literal(CONTROL_FILE_FORMAT),
  version: z.literal(2),
  topics: z.array(V2TopicSchema),
  routers: z.array(RouterSchema),
  members: z.array(MemberListSchema),
});

const Version = z.number().int().positive();

const RoomControlSchema = z.object({
  room: z.string().min(1),
  status: z.enum(['active', 'cut']),
  version: Version,
  changedAtMs: Millis,
  changedBy: z.string(),
  reason: z.string(),
});

const GroupControlSchema = z.object({
  group: z.string().min(1),
  epoch: Version,
  leader: z.string().min(1),
  frozen: z.boolean(),
  version: Version,
  changedAtMs: Millis,
  changedBy: z.string(),
  reason: z.string(),
});

const AuditEntrySchema = z.object({
  seq: Version,
  atMs: Millis,
  by: z.string(),
  action: z.string(),
  target: z.string(),
  reason: z.string(),
  version: z.number().int().nonnegative(),
  details: z.record(z.string(), z.unknown()),
});

const V3Schema = V2Schema.extend({
  version: z.literal(3),
  rooms: z.array(RoomControlSchema),
  groups: z.array(GroupControlSchema),
  audit: z.array(AuditEntrySchema),
  auditSeq: z.number().int().nonnegative(),
});

const QueueOffsetSchema = z.object({ broker: z.string().min(1), queueId: z.number().int().nonnegative(), offset: z.number().int().nonnegative(), room: z.string() });

const MigrationGateSchema = z.object({
  seq: Version,
  cappedRooms: z.array(z.string()),
  caps: z.array(QueueOffsetSchema),
  barrierRooms: z.array(z.string()),
  barrier: z.array(QueueOffsetSchema).nullable(),
  released: z.array(z.string()),
  openedAtMs: Millis,
});

/** Shared with the Redis store, which keeps each record as this JSON. */
export const MigrationSchema = z.object({
  topic: z.string().min(1),
  from: z.string().min(1),
  to: z.string().min(1),
  phase: z.enum(['preparing', 'moving-producers', 'draining', 'done', 'rolled-back']),
  paused: z.boolean(),
  rollingBack: z.boolean(),
  groups: z.array(z.string()),
  movedGroups: z.array(z.string()),
  switchSeq: z.number().int().nonnegative(),
  gates: z.array(MigrationGateSchema),
  version: Version,
  startedAtMs: Millis,
  changedAtMs: Millis,
  changedBy: z.string(),
  reason: z.string(),
});

const V4Schema = V3Schema.extend({ version: z.literal(4), migrations: z.array(MigrationSchema) });

/** A migration as JSON (gates' missing barrier as null), the form both stores keep. */
export function migrationToJson(m: TopicMigration): z.input<typeof MigrationSchema> {
  return { ...m, gates: m.gates.map((g) => ({ ...g, barrier: g.barrier ?? null })) };
}

export function migrationFromJson(json: unknown): TopicMigration {
  const parsed = MigrationSchema.parse(json);
  return { ...parsed, gates: parsed.gates.map((g) => ({ ...g, barrier: g.barrier ?? undefined })) };
}

/** Thrown for a version 1 file with topics when no legacyHomeRoom was given. */
export class LegacyHomeRoomRequired extends Error {
  constructor(readonly topicCount: number) {
    super(`it is in format version 1, whose ${topicCount} topic(s) have no mode`);
  }
}

export function encodeControlFile(state: ControlState): string {
  const byName = <T extends { name: string }>(a: T, b: T) => compare(a.name, b.name);
  const topics = [...state.topics.values()].sort(byName).map((t) => ({
    name: t.name,
    queuesPerBroker: t.queuesPerBroker,
    mode: formatTopicMode(t.mode),
    createdAtMs: t.createdAtMs,
    version: t.version,
  }));
  const routers = [...state.routers.values()].sort(byName).map((r) => ({ name: r.name, room: r.room, endpoint: r.endpoint, lastSeenMs: r.lastSeenMs }));
  const members: Array<z.input<typeof MemberListSchema>> = [];
  for (const group of [...state.members.keys()].sort(compare)) {
    const byRouter = state.members.get(group)!;
    for (const router of [...byRouter.keys()].sort(compare)) {
      const list = byRouter.get(router)!;
      if (list.length === 0) continue;
      members.push({
        group,
        router,
        members: [...list]
          .sort((a, b) => compare(a.clientId, b.clientId))
          .map((m) => ({ clientId: m.clientId, room: m.room, lastSeenMs: m.lastSeenMs, ...(m.info === undefined ? {} : { info: m.info }) })),
      });
    }
  }
  const rooms: RoomControl[] = [...state.rooms.values()].sort((a, b) => compare(a.room, b.room)).map((r) => ({ ...r }));
  const groups: GroupControl[] = [...state.groups.values()].sort((a, b) => compare(a.group, b.group)).map((g) => ({ ...g }));
  const audit: AuditEntry[] = state.audit.map((e) => ({ ...e }));
  const migrations = [...state.migrations.values()].sort((a, b) => compare(a.topic, b.topic)).map(migrationToJson);
  return `${JSON.stringify({ format: CONTROL_FILE_FORMAT, version: CONTROL_FILE_VERSION, topics, routers, members, rooms, groups, audit, auditSeq: state.auditSeq, migrations }, null, 2)}\n`;
}

/** Decodes the file's text; throws an Error saying what is wrong (the caller adds the path and the fix). */
export function decodeControlFile(text: string, options: DecodeOptions = {}): DecodedControlFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const header = HeaderSchema.safeParse(json);
  if (!header.success) throw new Error(`not a roomq router control file: ${describeIssues(header.error)}`);
  const state = emptyControlState();
  if (header.data.version === 1) {
    const parsed = V1Schema.safeParse(json);
    if (!parsed.success) throw new Error(describeIssues(parsed.error));
    if (parsed.data.topics.length > 0 && options.legacyHomeRoom === undefined) throw new LegacyHomeRoomRequired(parsed.data.topics.length);
    for (const topic of parsed.data.topics) {
      addTopic(state, { ...topic, mode: { kind: 'home', room: options.legacyHomeRoom! }, version: 1 });
    }
    return { state, fileVersion: 1 };
  }
  if (header.data.version !== 2 && header.data.version !== 3 && header.data.version !== CONTROL_FILE_VERSION) {
    throw new Error(`format version ${header.data.version} is not supported by this router (it reads versions 1 to ${CONTROL_FILE_VERSION})`);
  }
  const parsed = header.data.version === 2 ? V2Schema.safeParse(json) : header.data.version === 3 ? V3Schema.safeParse(json) : V4Schema.safeParse(json);
  if (!parsed.success) throw new Error(describeIssues(parsed.error));
  if (parsed.data.version === 4) {
    for (const m of parsed.data.migrations) {
      if (state.migrations.has(m.topic)) throw new Error(`migration of topic ${JSON.stringify(m.topic)} appears twice`);
      state.migrations.set(m.topic, migrationFromJson(m));
    }
  }
  if (parsed.data.version === 3 || parsed.data.version === 4) {
    for (const room of parsed.data.rooms) {
      if (state.rooms.has(room.room)) throw new Error(`room ${JSON.stringify(room.room)} appears twice`);
      state.rooms.set(room.room, room);
    }
    for (const group of parsed.data.groups) {
      if (state.groups.has(group.group)) throw new Error(`group control ${JSON.stringify(group.group)} appears twice`);
      state.groups.set(group.group, group);
    }
    state.audit = parsed.data.audit.map((e) => ({ ...e, details: e.details as Record<string, unknown> }));
    state.auditSeq = Math.max(parsed.data.auditSeq, ...state.audit.map((e) => e.seq));
  }
  for (const topic of parsed.data.topics) addTopic(state, topic);
  for (const router of parsed.data.routers) {
    if (state.routers.has(router.name)) throw new Error(`router ${JSON.stringify(router.name)} appears twice`);
    state.routers.set(router.name, router);
  }
  for (const list of parsed.data.members) {
    const byRouter = state.members.get(list.group) ?? new Map<string, GroupMember[]>();
    if (byRouter.has(list.router)) throw new Error(`members of group ${JSON.stringify(list.group)} from router ${JSON.stringify(list.router)} appear twice`);
    byRouter.set(
      list.router,
      list.members.map((m) => ({ clientId: m.clientId, room: m.room, router: list.router, lastSeenMs: m.lastSeenMs, ...(m.info === undefined ? {} : { info: m.info }) })),
    );
    state.members.set(list.group, byRouter);
  }
  return { state, fileVersion: parsed.data.version };
}

function addTopic(state: ControlState, topic: TopicConfig): void {
  if (state.topics.has(topic.name)) throw new Error(`topic ${JSON.stringify(topic.name)} appears twice`);
  state.topics.set(topic.name, topic);
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}
