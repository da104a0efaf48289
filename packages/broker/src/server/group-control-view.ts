import type { GroupControlMsg, GroupMemberEndpointMsg, RoomControlMsg } from '@roomq/protocol';

/** The control state one broker needs, as the routers' heartbeat replies carry it. */
export interface ControlSnapshot {
  /** Rooms ever changed; a room absent here is active. */
  rooms: Map<string, { status: string; version: number; reason: string; changedBy: string }>;
  /** The broker's group; undefined: epoch 1, the configured master leads. */
  group: { epoch: number; leader: string; frozen: boolean; version: number } | undefined;
  /** Every member of the group the routers know, by name. */
  members: Map<string, { room: string; endpoint: string; alive: boolean; flushedOffset: number; configuredRole: string }>;
}

/**
 * Merges the control state from the replies of several routers. Routers of both rooms answer, and one may lag
 * another by up to a second; every record carries a version bumped by each change, so the newest version of
 * each record wins and a late reply from a lagging router never undoes a cut or a promotion.
 */
export class GroupControlView {
  private snapshot: ControlSnapshot = { rooms: new Map(), group: undefined, members: new Map() };
  private knownValue = false;

  /** True once any router answered with its control state. */
  get known(): boolean {
    return this.knownValue;
  }

  get current(): ControlSnapshot {
    return this.snapshot;
  }

  /** Applies one reply; true when anything that decides roles or fences changed. */
  apply(rooms: readonly RoomControlMsg[], group: GroupControlMsg | undefined, members: readonly GroupMemberEndpointMsg[]): boolean {
    const before = fingerprint(this.snapshot);
    const next: ControlSnapshot = { rooms: new Map(this.snapshot.rooms), group: this.snapshot.group, members: new Map(this.snapshot.members) };
    for (const room of rooms) {
      const had = next.rooms.get(room.room);
      const version = Number(room.version ?? 0);
      if (!had || version > had.version) next.rooms.set(room.room, { status: room.status, version, reason: room.reason ?? '', changedBy: room.changed_by ?? '' });
    }
    if (group && group.leader) {
      const version = Number(group.version ?? 0);
      if (!next.group || version > next.group.version) next.group = { epoch: Number(group.epoch), leader: group.leader, frozen: group.frozen === true, version };
    }
    for (const m of members) {
      next.members.set(m.name, { room: m.room, endpoint: m.endpoint, alive: m.alive === true, flushedOffset: Number(m.flushed_offset ?? 0), configuredRole: m.configured_role ?? '' });
    }
    this.snapshot = next;
    this.knownValue = true;
    return fingerprint(next) !== before;
  }
}

function fingerprint(s: ControlSnapshot): string {
  const rooms = [...s.rooms].map(([r, v]) => `${r}=${v.status}@${v.version}`).sort();
  const group = s.group ? `${s.group.leader}#${s.group.epoch}${s.group.frozen ? 'F' : ''}` : '-';
  const members = [...s.members].map(([n, m]) => `${n}=${m.endpoint}`).sort();
  return `${rooms.join(',')}|${group}|${members.join(',')}`;
}

/** True when `room` is cut in this snapshot. */
export function isRoomCut(snapshot: ControlSnapshot, room: string): boolean {
  return snapshot.rooms.get(room)?.status === 'cut';
}
