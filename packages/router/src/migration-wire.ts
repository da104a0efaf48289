import type { MigrationClientMsg, MigrationGateMsg, QueueOffsetMsg, TopicMigrationMsg } from '@roomq/protocol';
import type { MigrationGate, QueueOffset, TopicMigration } from './control-store.js';
import type { MigrationClient } from './migration-clients.js';

export function queueOffsetToWire(o: QueueOffset): QueueOffsetMsg {
  return { broker: o.broker, queue_id: o.queueId, offset: o.offset, room: o.room };
}

export function queueOffsetFromWire(o: Partial<QueueOffsetMsg>): QueueOffset {
  return { broker: o.broker ?? '', queueId: o.queue_id ?? 0, offset: o.offset ?? 0, room: o.room ?? '' };
}

function gateToWire(g: MigrationGate): MigrationGateMsg {
  return {
    seq: g.seq,
    capped_rooms: g.cappedRooms,
    caps: g.caps.map(queueOffsetToWire),
    barrier_rooms: g.barrierRooms,
    barrier: (g.barrier ?? []).map(queueOffsetToWire),
    barrier_set: g.barrier !== undefined,
    released: g.released,
    opened_at_ms: g.openedAtMs,
  };
}

export function migrationToWire(m: TopicMigration): TopicMigrationMsg {
  return {
    topic: m.topic,
    from_mode: m.from,
    to_mode: m.to,
    phase: m.phase,
    paused: m.paused,
    rolling_back: m.rollingBack,
    groups: m.groups,
    moved_groups: m.movedGroups,
    switch_seq: m.switchSeq,
    gates: m.gates.map(gateToWire),
    version: m.version,
    started_at_ms: m.startedAtMs,
    changed_at_ms: m.changedAtMs,
    changed_by: m.changedBy,
    reason: m.reason,
  };
}

export function migrationClientToWire(c: MigrationClient): MigrationClientMsg {
  return { client_id: c.clientId, room: c.room, kind: c.kind, group: c.group, settled_version: c.settled, router: c.router, last_seen_ms: c.lastSeenMs };
}
