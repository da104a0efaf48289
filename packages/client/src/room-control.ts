/**
 * The room cut's control plane as the SDK presents it: rooms, group leadership, cut/restore plans and the
 * audit log, and their mapping from the roomq.v1 admin messages.
 */
import { hostname, userInfo } from 'node:os';
import type { AuditEntry, AuditEntryMsg, GroupControl, GroupControlMsg, GroupMoveMsg, ListRoomsReplyMsg, RoomChangeReplyMsg, RoomControl, RoomControlMsg } from '@roomq/protocol';
import { z } from 'zod';

export type { AuditEntry, GroupControl, RoomControl };

/** What a cut (or, for failback hints, a restore) does to one group. */
export interface GroupMove {
  group: string;
  fromLeader: string;
  fromRoom: string;
  /** undefined: the group keeps its leader. */
  toLeader: string | undefined;
  toRoom: string | undefined;
  fromEpoch: number;
  toEpoch: number;
  fromFlushedOffset: number;
  toFlushedOffset: number;
  moves: boolean;
  note: string;
}

export interface RoomPlan {
  room: string;
  action: 'cut' | 'restore' | (string & {});
  fromStatus: string;
  toStatus: string;
  /** False: the room is in that state already and nothing changes. */
  changes: boolean;
  currentVersion: number;
  groups: GroupMove[];
  /** Topics whose writes move. */
  topics: Array<{ name: string; mode: string }>;
  /** Clients that will move, as far as the router knows them. */
  clients: Array<{ clientId: string; room: string; group: string; kind: string }>;
  notes: string[];
}

export interface RoomChangeResult {
  plan: RoomPlan;
  /** False for a dry run and when nothing had to change. */
  applied: boolean;
  /** The room's record after the call. */
  room: RoomControl;
  /** Group records the change wrote (the acting masters of a cut). */
  groups: GroupControl[];
  audit: AuditEntry | undefined;
}

export interface RoomListing {
  rooms: Array<RoomControl & { brokers: number; routers: number }>;
  groups: Array<GroupControl & { configuredMaster: string; configuredMasterRoom: string; leaderRoom: string; members: string[] }>;
}

export const roomChangeOptionsSchema = z
  .object({
    room: z.string().min(1),
    reason: z.string().max(1024).default(''),
    /** Who asks; defaults to `$USER@hostname`. */
    by: z.string().min(1).max(256).optional(),
    /** Plan only, change nothing. */
    dryRun: z.boolean().default(false),
    /** 0: no expectation; else the room record must still have this version. */
    expectedVersion: z.number().int().nonnegative().default(0),
  })
  .strict();

export type RoomChangeOptions = z.input<typeof roomChangeOptionsSchema>;

export const setGroupControlOptionsSchema = z
  .object({
    group: z.string().min(1),
    epoch: z.number().int().positive(),
    leader: z.string().min(1),
    frozen: z.boolean().default(false),
    /** Compare-and-set on the group record's version: 0 = it has no record yet. */
    expectedVersion: z.number().int().nonnegative(),
    by: z.string().min(1).max(256).optional(),
    reason: z.string().max(1024).default(''),
  })
  .strict();

export type SetGroupControlOptions = z.input<typeof setGroupControlOptionsSchema>;

/** `user@host` of this process, the default `by` of audited changes. */
export function defaultActor(): string {
  let user = process.env['USER'] ?? process.env['USERNAME'] ?? '';
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `${user}@${hostname()}`;
}

export function roomFromWire(r: RoomControlMsg | undefined | null, room = ''): RoomControl {
  return {
    room: r?.room ?? room,
    status: r?.status === 'cut' ? 'cut' : 'active',
    version: r?.version ?? 0,
    changedAtMs: r?.changed_at_ms ?? 0,
    changedBy: r?.changed_by ?? '',
    reason: r?.reason ?? '',
  };
}

export function groupFromWire(g: GroupControlMsg | undefined | null): GroupControl {
  return {
    group: g?.group ?? '',
    epoch: g?.epoch ?? 1,
    leader: g?.leader ?? '',
    frozen: g?.frozen ?? false,
    version: g?.version ?? 0,
    changedAtMs: g?.changed_at_ms ?? 0,
    changedBy: g?.changed_by ?? '',
    reason: g?.reason ?? '',
  };
}

export function auditFromWire(a: AuditEntryMsg): AuditEntry {
  let details: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(a.details_json || '{}');
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) details = parsed as Record<string, unknown>;
  } catch {
    // A router never sends bad JSON here; an entry without details still says who did what.
  }
  return { seq: a.seq ?? 0, atMs: a.at_ms ?? 0, by: a.by ?? '', action: a.action ?? '', target: a.target ?? '', reason: a.reason ?? '', version: a.version ?? 0, details };
}

function moveFromWire(m: GroupMoveMsg): GroupMove {
  return {
    group: m.group ?? '',
    fromLeader: m.from_leader ?? '',
    fromRoom: m.from_room ?? '',
    toLeader: m.to_leader || undefined,
    toRoom: m.to_room || undefined,
    fromEpoch: m.from_epoch ?? 1,
    toEpoch: m.to_epoch ?? 1,
    fromFlushedOffset: m.from_flushed_offset ?? 0,
    toFlushedOffset: m.to_flushed_offset ?? 0,
    moves: m.moves ?? false,
    note: m.note ?? '',
  };
}

export function roomChangeFromWire(reply: RoomChangeReplyMsg, room: string): RoomChangeResult {
  const p = reply.plan;
  return {
    plan: {
      room: p?.room ?? room,
      action: p?.action ?? '',
      fromStatus: p?.from_status ?? '',
      toStatus: p?.to_status ?? '',
      changes: p?.changes ?? false,
      currentVersion: p?.current_version ?? 0,
      groups: (p?.groups ?? []).map(moveFromWire),
      topics: (p?.topics ?? []).map((t) => ({ name: t.name ?? '', mode: t.mode ?? '' })),
      clients: (p?.clients ?? []).map((c) => ({ clientId: c.client_id ?? '', room: c.room ?? '', group: c.group ?? '', kind: c.kind ?? '' })),
      notes: p?.notes ?? [],
    },
    applied: reply.applied ?? false,
    room: roomFromWire(reply.room, room),
    groups: (reply.groups ?? []).map(groupFromWire),
    audit: reply.audit ? auditFromWire(reply.audit) : undefined,
  };
}

export function roomListingFromWire(reply: ListRoomsReplyMsg): RoomListing {
  return {
    rooms: (reply.rooms ?? []).map((r) => ({ ...roomFromWire(r.control), brokers: r.brokers ?? 0, routers: r.routers ?? 0 })),
    groups: (reply.groups ?? []).map((g) => ({
      ...groupFromWire(g.control),
      configuredMaster: g.configured_master ?? '',
      configuredMasterRoom: g.configured_master_room ?? '',
      leaderRoom: g.leader_room ?? '',
      members: g.members ?? [],
    })),
  };
}
