/**
 * The rules of a topic migration as pure functions (no I/O): which mode a producer is routed by, which rooms a
 * switch moves producers into and out of, and how far a consumer group may read each queue. The state machine
 * and its checks live in topic-migration-admin.ts; the decision is written up in docs/design.md, "Topic migration".
 */
import { parseTopicMode, preferredWriteRoom, type TopicMode } from '@roomq/protocol';
import type { MigrationPhase, QueueOffset, TopicConfig, TopicMigration } from './control-store.js';

/** Admits every group; in `movedGroups` it moves every producer, those without a group too. */
export const ALL_GROUPS = '*';

/** Prefix of the reserved member lists where routers share the clients of a topic (`#` is no valid group name). */
export const MIGRATION_CLIENTS_PREFIX = '#clients:';

export function isActiveMigration(m: TopicMigration | undefined): m is TopicMigration {
  return m !== undefined && m.phase !== 'done' && m.phase !== 'rolled-back';
}

export function isAdmitted(groups: readonly string[], group: string | undefined): boolean {
  return groups.includes(ALL_GROUPS) || (group !== undefined && group !== '' && groups.includes(group));
}

/**
 * The mode a producer of `producerGroup` is routed by, and the migration version its route carries (0 when the
 * topic is not migrating). Producers without a group move only when every producer does (`*`).
 */
export function producerMode(topic: TopicConfig, migration: TopicMigration | undefined, producerGroup: string | undefined): { mode: TopicMode; migrationVersion: number } {
  if (!isActiveMigration(migration)) return { mode: topic.mode, migrationVersion: 0 };
  const moved = isAdmitted(migration.movedGroups, producerGroup);
  return { mode: parseTopicMode(moved ? migration.to : migration.from), migrationVersion: migration.switchSeq };
}

/**
 * Rooms a switch from `src` to `dst` routing moves producers into (capped: consumers wait there) and out of
 * (barrier: consumers drain there first), over the rooms producers may run in.
 */
export function switchRooms(src: TopicMode, dst: TopicMode, rooms: Iterable<string>): { cappedRooms: string[]; barrierRooms: string[] } {
  const capped = new Set<string>();
  const barrier = new Set<string>();
  for (const room of rooms) {
    const from = preferredWriteRoom(src, room);
    const to = preferredWriteRoom(dst, room);
    if (from === to) continue;
    capped.add(to);
    barrier.add(from);
  }
  for (const room of capped) barrier.delete(room);
  return { cappedRooms: [...capped].sort(), barrierRooms: [...barrier].sort() };
}

export function queueKeyOf(q: { broker: string; queueId: number }): string {
  return `${q.broker}#${q.queueId}`;
}

/**
 * How far `group` may read each capped queue: the smallest cap of every gate that has not released the group.
 * Gates are released oldest first, so a group is never asked to drain a room it may not read yet.
 */
export function consumerCaps(migration: TopicMigration | undefined, group: string): Map<string, number> {
  const caps = new Map<string, number>();
  if (!isActiveMigration(migration)) return caps;
  for (const gate of migration.gates) {
    if (gate.released.includes(group)) continue;
    for (const cap of gate.caps) {
      const key = queueKeyOf(cap);
      caps.set(key, Math.min(caps.get(key) ?? Number.MAX_SAFE_INTEGER, cap.offset));
    }
  }
  return caps;
}

/** The offsets of the queues served from `rooms` (a cap or barrier keeps only those). */
export function offsetsInRooms(offsets: readonly QueueOffset[], rooms: readonly string[]): QueueOffset[] {
  const wanted = new Set(rooms);
  const byKey = new Map<string, QueueOffset>();
  for (const o of offsets) if (wanted.has(o.room)) byKey.set(queueKeyOf(o), { broker: o.broker, queueId: o.queueId, offset: o.offset, room: o.room });
  return [...byKey.values()].sort((a, b) => (a.broker < b.broker ? -1 : a.broker > b.broker ? 1 : a.queueId - b.queueId));
}

/** The phase a record is in after a change: derived from its gates, so it always says what the migration waits for. */
export function phaseOf(m: Pick<TopicMigration, 'switchSeq' | 'gates' | 'phase'>): MigrationPhase {
  if (m.phase === 'done' || m.phase === 'rolled-back') return m.phase;
  if (m.switchSeq === 0) return 'preparing';
  const last = m.gates[m.gates.length - 1];
  if (last && last.barrier === undefined) return 'moving-producers';
  return 'draining';
}

/** A client of a migrating topic, as routers share it through the reserved member lists. */
export interface MigrationClientInfo {
  kind: 'producer' | 'consumer';
  /** Producer group or consumer group; empty for a producer without one. */
  group: string;
  /** Producers: the switch they settled on. */
  settled: number;
}

export function encodeClientInfo(info: MigrationClientInfo): string {
  return JSON.stringify(info);
}

export function decodeClientInfo(text: string | undefined): MigrationClientInfo | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as Partial<MigrationClientInfo>;
    if ((v.kind !== 'producer' && v.kind !== 'consumer') || typeof v.group !== 'string') return undefined;
    return { kind: v.kind, group: v.group, settled: typeof v.settled === 'number' ? v.settled : 0 };
  } catch {
    return undefined;
  }
}
