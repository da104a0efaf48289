/**
 * The control state as the file and Redis stores cache it, and the pure functions both use on it: listing with
 * staleness, pruning of long-dead routers and members, and diffing two states into precise ControlChange events.
 */
import { formatTopicMode } from '@roomq/protocol';
import type { AuditEntry, ControlChange, GroupControl, GroupMember, RoomControl, RouterRecord, TopicConfig, TopicMigration } from './control-store.js';

/** group → router → that router's members of the group. */
export type MembersByGroup = Map<string, Map<string, GroupMember[]>>;

export interface ControlState {
  topics: Map<string, TopicConfig>;
  routers: Map<string, RouterRecord>;
  members: MembersByGroup;
  rooms: Map<string, RoomControl>;
  /** Group control records (who leads), by group; not to be confused with `members` (consumer groups). */
  groups: Map<string, GroupControl>;
  /** The retained audit entries, oldest first. */
  audit: AuditEntry[];
  /** The last audit seq ever used (entries may have been trimmed since). */
  auditSeq: number;
  /** Topic migrations by topic (records are replaced whole, never mutated). */
  migrations: Map<string, TopicMigration>;
}

export function emptyControlState(): ControlState {
  return { topics: new Map(), routers: new Map(), members: new Map(), rooms: new Map(), groups: new Map(), audit: [], auditSeq: 0, migrations: new Map() };
}

/** A copy that shares no maps with `state` (records themselves are never mutated in place). */
export function copyControlState(state: ControlState): ControlState {
  const members: MembersByGroup = new Map();
  for (const [group, byRouter] of state.members) members.set(group, new Map(byRouter));
  return {
    topics: new Map(state.topics),
    routers: new Map(state.routers),
    members,
    rooms: new Map(state.rooms),
    groups: new Map(state.groups),
    audit: [...state.audit],
    auditSeq: state.auditSeq,
    migrations: new Map(state.migrations),
  };
}

/** Code-point order, the same in every process and locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function listRoutersOf(state: ControlState, maxAgeMs: number, nowMs: number): RouterRecord[] {
  return [...state.routers.values()]
    .filter((r) => nowMs - r.lastSeenMs <= maxAgeMs)
    .map((r) => ({ ...r }))
    .sort((a, b) => compareText(a.name, b.name));
}

/**
 * Members of `group` seen within `maxAgeMs`, sorted by client ID. A client reported by two routers (it moved)
 * appears once, as the router that heard it last reports it.
 */
export function listMembersOf(state: ControlState, group: string, maxAgeMs: number, nowMs: number): GroupMember[] {
  const byClient = new Map<string, GroupMember>();
  for (const list of state.members.get(group)?.values() ?? []) {
    for (const member of list) {
      if (nowMs - member.lastSeenMs > maxAgeMs) continue;
      const seen = byClient.get(member.clientId);
      if (!seen || seen.lastSeenMs < member.lastSeenMs) byClient.set(member.clientId, member);
    }
  }
  return [...byClient.values()].map((m) => ({ ...m })).sort((a, b) => compareText(a.clientId, b.clientId));
}

/** Drops routers and member lists not seen since `cutoffMs`; true if anything was dropped. */
export function pruneControlState(state: ControlState, cutoffMs: number): boolean {
  let pruned = false;
  for (const [name, router] of state.routers) {
    if (router.lastSeenMs < cutoffMs) {
      state.routers.delete(name);
      pruned = true;
    }
  }
  for (const [group, byRouter] of state.members) {
    for (const [router, list] of byRouter) {
      const alive = list.filter((m) => m.lastSeenMs >= cutoffMs);
      if (alive.length === list.length) continue;
      pruned = true;
      if (alive.length === 0) byRouter.delete(router);
      else byRouter.set(router, alive);
    }
    if (byRouter.size === 0) state.members.delete(group);
  }
  return pruned;
}

/** The identity of a topic's stored value (every field, so a change by any path is seen). */
export function topicFingerprint(topic: TopicConfig | undefined): string {
  return topic === undefined ? '' : `${topic.version}\n${formatTopicMode(topic.mode)}\n${topic.queuesPerBroker}\n${topic.createdAtMs}`;
}

/** What listeners care about in the routers: who is registered where, not when they were last seen. */
export function routersFingerprint(routers: Map<string, RouterRecord>): string {
  return [...routers.values()]
    .map((r) => `${r.name}\t${r.room}\t${r.endpoint}`)
    .sort(compareText)
    .join('\n');
}

/** What listeners care about in a group: which clients are members in which room, not when they were last seen. */
export function membersFingerprint(byRouter: Map<string, GroupMember[]> | undefined): string {
  if (byRouter === undefined) return '';
  const ids = new Set<string>();
  for (const list of byRouter.values()) for (const m of list) ids.add(`${m.clientId}\t${m.room}`);
  return [...ids].sort(compareText).join('\n');
}

export function roomsFingerprint(rooms: Map<string, RoomControl>): string {
  return [...rooms.values()]
    .map((r) => `${r.room}\t${r.status}\t${r.version}`)
    .sort(compareText)
    .join('\n');
}

export function groupFingerprint(group: GroupControl | undefined): string {
  return group === undefined ? '' : `${group.version}\t${group.epoch}\t${group.leader}\t${group.frozen}`;
}

/** The changes that turn `before` into `after`, in a stable order; timestamps alone are no change. */
export function diffControlStates(before: ControlState, after: ControlState): ControlChange[] {
  const changes: ControlChange[] = [];
  const topicNames = new Set([...before.topics.keys(), ...after.topics.keys()]);
  for (const name of [...topicNames].sort(compareText)) {
    if (topicFingerprint(before.topics.get(name)) !== topicFingerprint(after.topics.get(name))) changes.push({ kind: 'topic', topic: name });
  }
  const groups = new Set([...before.members.keys(), ...after.members.keys()]);
  for (const group of [...groups].sort(compareText)) {
    if (membersFingerprint(before.members.get(group)) !== membersFingerprint(after.members.get(group))) changes.push({ kind: 'members', group });
  }
  if (routersFingerprint(before.routers) !== routersFingerprint(after.routers)) changes.push({ kind: 'routers' });
  if (roomsFingerprint(before.rooms) !== roomsFingerprint(after.rooms)) changes.push({ kind: 'rooms' });
  const controlled = new Set([...before.groups.keys(), ...after.groups.keys()]);
  for (const group of [...controlled].sort(compareText)) {
    if (groupFingerprint(before.groups.get(group)) !== groupFingerprint(after.groups.get(group))) changes.push({ kind: 'groups', group });
  }
  const migrating = new Set([...before.migrations.keys(), ...after.migrations.keys()]);
  for (const topic of [...migrating].sort(compareText)) {
    if (before.migrations.get(topic)?.version !== after.migrations.get(topic)?.version) changes.push({ kind: 'migration', topic });
  }
  return changes;
}
