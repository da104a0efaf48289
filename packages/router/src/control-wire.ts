/** Mapping between the room/group control records and their roomq.v1 admin messages. */
import type { AuditEntryMsg, GroupControlMsg, GroupMoveMsg, RoomControlMsg } from '@roomq/protocol';
import type { AuditEntry, GroupControl, RoomControl } from './control-store.js';
import type { GroupMovePlan } from './room-cut-plan.js';

export function roomControlToWire(room: RoomControl): RoomControlMsg {
  return { room: room.room, status: room.status, version: room.version, changed_at_ms: room.changedAtMs, changed_by: room.changedBy, reason: room.reason };
}

export function groupControlToWire(group: GroupControl): GroupControlMsg {
  return {
    group: group.group,
    epoch: group.epoch,
    leader: group.leader,
    frozen: group.frozen,
    version: group.version,
    changed_at_ms: group.changedAtMs,
    changed_by: group.changedBy,
    reason: group.reason,
  };
}

export function auditEntryToWire(entry: AuditEntry): AuditEntryMsg {
  return {
    seq: entry.seq,
    at_ms: entry.atMs,
    by: entry.by,
    action: entry.action,
    target: entry.target,
    reason: entry.reason,
    version: entry.version,
    details_json: JSON.stringify(entry.details),
  };
}

export function groupMoveToWire(move: GroupMovePlan): GroupMoveMsg {
  return {
    group: move.group,
    from_leader: move.fromLeader,
    from_room: move.fromRoom,
    to_leader: move.toLeader ?? '',
    to_room: move.toRoom ?? '',
    from_epoch: move.fromEpoch,
    to_epoch: move.toEpoch,
    from_flushed_offset: move.fromFlushedOffset,
    to_flushed_offset: move.toFlushedOffset,
    moves: move.moves,
    note: move.note,
  };
}
