/**
 * What cutting a room does to leadership, as pure functions of what the router knows: the group control
 * records and the members' last reports. The admin service turns the plan into one applyControl, so the room
 * change and every group move land together or not at all.
 */
import type { GroupControl, RoomControl } from './control-store.js';

/** A broker group member as the plan needs it (adapted from the router's BrokerView). */
export interface PlanMember {
  name: string;
  group: string;
  memberId: number;
  room: string;
  /** master | slave as configured (the chain's head is the configured master). */
  configuredRole: string;
  alive: boolean;
  status: string;
  flushedOffset: number;
}

/** One group's leadership change under a cut (or the reason it keeps its leader). */
export interface GroupMovePlan {
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
  /** The group record's version now (0: never changed): the compare-and-set expectation of the move. */
  expectedVersion: number;
  moves: boolean;
  note: string;
}

/** The group's configured master: the member configured as master, else the chain's head (member 0). */
export function configuredMaster(members: readonly PlanMember[]): PlanMember | undefined {
  return members.find((m) => m.configuredRole === 'master') ?? members.find((m) => m.memberId === 0);
}

/** Who leads a group now: its record's leader, or the configured master when it has never been changed. */
export function currentLeader(control: GroupControl | undefined, members: readonly PlanMember[]): { name: string; epoch: number; version: number } | undefined {
  if (control) return { name: control.leader, epoch: control.epoch, version: control.version };
  const master = configuredMaster(members);
  return master && { name: master.name, epoch: 1, version: 0 };
}

/** The rooms that are cut, as recorded; a room without a record is active. */
export function cutRooms(rooms: readonly RoomControl[]): Set<string> {
  return new Set(rooms.filter((r) => r.status === 'cut').map((r) => r.room));
}

/**
 * The member that should lead once `excludedRooms` are cut: alive, ready, outside them, and the most caught up.
 *
 * While the group runs its configured chain (`chainIntact`), each member copies the one before it (member ids
 * number the chain), so a member always holds at least what every later member holds: the first eligible
 * member in chain order is the most caught up, whatever heartbeats up to a second old say. Picking a later one
 * on a fresher report could cut acknowledged sync:1 writes off the earlier one when it rejoins. Otherwise
 * (members follow an acting master directly) the highest reported flushed offset wins. Ties go to the lower
 * member id, so every router picks the same.
 */
export function chooseActingLeader(members: readonly PlanMember[], excludedRooms: ReadonlySet<string>, chainIntact = false): PlanMember | undefined {
  const candidates = members.filter((m) => m.alive && m.status === 'ready' && !excludedRooms.has(m.room));
  if (chainIntact) candidates.sort((a, b) => a.memberId - b.memberId);
  else candidates.sort((a, b) => b.flushedOffset - a.flushedOffset || a.memberId - b.memberId);
  return candidates[0];
}

/** Groups by name, members sorted by member id. */
export function membersByGroup(members: readonly PlanMember[]): Map<string, PlanMember[]> {
  const groups = new Map<string, PlanMember[]>();
  for (const m of members) groups.set(m.group, [...(groups.get(m.group) ?? []), m]);
  for (const list of groups.values()) list.sort((a, b) => a.memberId - b.memberId);
  return new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The group moves of cutting `room` on top of the rooms already cut: every group whose leader is in `room`
 * gets its most caught-up member outside every cut room as leader, under epoch + 1. Groups led elsewhere are
 * not listed. Control records of groups no member reports any more are still planned when their leader is in
 * `room` (their leader's room is then unknown, so they are not).
 */
export function planRoomCut(input: { room: string; rooms: readonly RoomControl[]; groups: readonly GroupControl[]; members: readonly PlanMember[] }): GroupMovePlan[] {
  const excluded = cutRooms(input.rooms);
  excluded.add(input.room);
  const controls = new Map(input.groups.map((g) => [g.group, g]));
  const plans: GroupMovePlan[] = [];
  for (const [group, members] of membersByGroup(input.members)) {
    const leader = currentLeader(controls.get(group), members);
    if (!leader) continue;
    const leaderMember = members.find((m) => m.name === leader.name);
    if (leaderMember?.room !== input.room) continue;
    const next = chooseActingLeader(members, excluded, leaderMember.configuredRole === 'master');
    const base = {
      group,
      fromLeader: leader.name,
      fromRoom: input.room,
      fromEpoch: leader.epoch,
      fromFlushedOffset: leaderMember.flushedOffset,
      expectedVersion: leader.version,
    };
    if (!next) {
      plans.push({
        ...base,
        toLeader: undefined,
        toRoom: undefined,
        toEpoch: leader.epoch,
        toFlushedOffset: 0,
        moves: false,
        note: `no member outside ${input.room} is alive and ready: its data is unreadable until restore`,
      });
      continue;
    }
    plans.push({
      ...base,
      toLeader: next.name,
      toRoom: next.room,
      toEpoch: leader.epoch + 1,
      toFlushedOffset: next.flushedOffset,
      moves: true,
      note:
        next.flushedOffset < leaderMember.flushedOffset
          ? `${next.name} is ${leaderMember.flushedOffset - next.flushedOffset} bytes behind as last reported; those bytes stay in ${input.room} until restore`
          : '',
    });
  }
  return plans;
}

/**
 * Groups that need a failback once `room` is restored: their configured master is in `room` and another
 * member leads. Restore itself never changes leaders (roomq group failback does).
 */
export function planFailbacks(input: { room: string; groups: readonly GroupControl[]; members: readonly PlanMember[] }): GroupMovePlan[] {
  const controls = new Map(input.groups.map((g) => [g.group, g]));
  const plans: GroupMovePlan[] = [];
  for (const [group, members] of membersByGroup(input.members)) {
    const master = configuredMaster(members);
    const control = controls.get(group);
    if (!master || master.room !== input.room || !control || control.leader === master.name) continue;
    const leaderMember = members.find((m) => m.name === control.leader);
    plans.push({
      group,
      fromLeader: control.leader,
      fromRoom: leaderMember?.room ?? '',
      toLeader: master.name,
      toRoom: master.room,
      fromEpoch: control.epoch,
      toEpoch: control.epoch + 1,
      fromFlushedOffset: leaderMember?.flushedOffset ?? 0,
      toFlushedOffset: master.flushedOffset,
      expectedVersion: control.version,
      moves: false,
      note: `restore keeps ${control.leader} leading; hand back with roomq group failback ${group}`,
    });
  }
  return plans;
}
