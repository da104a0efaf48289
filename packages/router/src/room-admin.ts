/**
 * The operations behind the room admin RPCs: cut, restore, list, set group control, audit. Each validates
 * first, reads the control state and the brokers' reports, plans, and then makes exactly one applyControl, so
 * a change is all or nothing and audited. Transport-free: admin-service.ts maps messages in and out.
 */
import { RoomqError, validateGroupName, validateRoomName } from '@roomq/protocol';
import type { BrokerView } from './broker-state.js';
import type { AuditEntry, ControlStore, GroupControl, RoomControl, RoomStatus } from './control-store.js';
import { configuredMaster, currentLeader, cutRooms, membersByGroup, planFailbacks, planRoomCut, type GroupMovePlan, type PlanMember } from './room-cut-plan.js';

/** Longest accepted `reason` and `by`; they are stored in every audit entry. */
export const MAX_REASON_CHARS = 1024;
export const MAX_BY_CHARS = 256;
/** ListAudit without a limit returns this many entries. */
export const DEFAULT_AUDIT_LIMIT = 100;
/** Routers silent this long are not counted as making a room known. */
const ROUTER_KNOWN_MS = 10 * 60_000;
/** Consumers seen within this long count as members of a room's groups. */
const CONSUMER_MAX_AGE_MS = 5000;

export interface KnownClient {
  clientId: string;
  room: string;
  /** Consumer group; empty for producers. */
  group: string;
}

export interface RoomAdminDeps {
  store: ControlStore;
  /** Every broker this router has heard of since start. */
  brokers: () => BrokerView[];
  /** RocketMQ clients this router hears, placed in their rooms. */
  clients: () => KnownClient[];
  /** Consumer groups with members this router knows of (their members come from the store). */
  consumerGroups: () => string[];
}

export interface RoomChangeInput {
  room: string;
  reason: string;
  by: string;
  dryRun: boolean;
  /** 0: no expectation; else the room record must still have this version. */
  expectedVersion: number;
}

export interface RoomPlan {
  room: string;
  action: 'cut' | 'restore';
  fromStatus: RoomStatus;
  toStatus: RoomStatus;
  changes: boolean;
  currentVersion: number;
  groups: GroupMovePlan[];
  topics: Array<{ name: string; mode: string }>;
  clients: Array<KnownClient & { kind: 'consumer' | 'producer' }>;
  notes: string[];
}

export interface RoomChangeResult {
  plan: RoomPlan;
  applied: boolean;
  room: RoomControl;
  groups: GroupControl[];
  audit: AuditEntry | undefined;
}

export interface RoomListing {
  rooms: Array<{ control: RoomControl; brokers: number; routers: number }>;
  groups: Array<{ control: GroupControl; configuredMaster: string; configuredMasterRoom: string; leaderRoom: string; members: string[] }>;
}

export interface SetGroupControlInput {
  group: string;
  epoch: number;
  leader: string;
  frozen: boolean;
  expectedVersion: number;
  by: string;
  reason: string;
}

/** The plan's view of a registered broker. `configuredRole` falls back to the reported role for brokers that predate it. */
export function planMemberOf(view: BrokerView): PlanMember {
  const state = view.state as BrokerView['state'] & { configuredRole?: string };
  return {
    name: state.name,
    group: state.group,
    memberId: state.memberId,
    room: state.room,
    configuredRole: state.configuredRole || state.role,
    alive: view.alive,
    status: state.status,
    flushedOffset: state.flushedOffset,
  };
}

export class RoomAdmin {
  constructor(private readonly deps: RoomAdminDeps) {}

  async cutRoom(input: RoomChangeInput): Promise<RoomChangeResult> {
    validateChange(input);
    const { record, rooms, groups, members, known } = await this.read(input.room);
    const currentVersion = record?.version ?? 0;
    checkExpected(input, currentVersion);
    const status: RoomStatus = record?.status ?? 'active';
    if (status === 'cut') {
      return {
        plan: { ...emptyPlan(input.room, 'cut', status, currentVersion), notes: [`room ${input.room} is cut already (version ${currentVersion}, by ${record!.changedBy}); nothing changed`] },
        applied: false,
        room: record!,
        groups: [],
        audit: undefined,
      };
    }
    const alreadyCut = cutRooms(rooms);
    const survivors = [...known].filter((r) => r !== input.room && !alreadyCut.has(r)).sort();
    if (survivors.length === 0) {
      throw new RoomqError(
        'BAD_REQUEST',
        `refusing to cut room ${input.room}: it is the last active room (known rooms: ${[...known].sort().join(', ')}); restore another room first with roomq room restore`,
        { details: { room: input.room } },
      );
    }
    const moves = planRoomCut({ room: input.room, rooms, groups, members });
    const plan: RoomPlan = {
      room: input.room,
      action: 'cut',
      fromStatus: 'active',
      toStatus: 'cut',
      changes: true,
      currentVersion,
      groups: moves,
      topics: await this.movingTopics(input.room),
      clients: await this.movingClients(input.room),
      notes: [
        `brokers in ${input.room} stop accepting writes; producers move to ${survivors.join(', ')}`,
        ...moves.filter((m) => !m.moves).map((m) => `group ${m.group}: ${m.note}`),
      ],
    };
    if (input.dryRun) return { plan, applied: false, room: record ?? defaultRoom(input.room), groups: [], audit: undefined };
    const outcome = await this.deps.store.applyControl({
      rooms: [{ room: input.room, status: 'cut', expectedVersion: currentVersion }],
      groups: moves.filter((m) => m.moves).map((m) => ({ group: m.group, epoch: m.toEpoch, leader: m.toLeader!, frozen: false, expectedVersion: m.expectedVersion })),
      audit: {
        by: input.by,
        action: 'room-cut',
        target: input.room,
        reason: input.reason,
        details: {
          groups: moves.map((m) => ({ group: m.group, from: m.fromLeader, to: m.toLeader ?? null, epoch: m.toEpoch, fromFlushedOffset: m.fromFlushedOffset, toFlushedOffset: m.toFlushedOffset })),
          topics: plan.topics.map((t) => t.name),
        },
      },
    });
    return { plan, applied: true, room: outcome.rooms[0]!, groups: outcome.groups, audit: outcome.audit };
  }

  async restoreRoom(input: RoomChangeInput): Promise<RoomChangeResult> {
    validateChange(input);
    const { record, groups, members } = await this.read(input.room);
    const currentVersion = record?.version ?? 0;
    checkExpected(input, currentVersion);
    const failbacks = planFailbacks({ room: input.room, groups, members });
    const failbackNotes = failbacks.map((f) => `group ${f.group}: ${f.note}`);
    if ((record?.status ?? 'active') === 'active') {
      return {
        plan: { ...emptyPlan(input.room, 'restore', 'active', currentVersion), groups: failbacks, notes: [`room ${input.room} is active already; nothing changed`, ...failbackNotes] },
        applied: false,
        room: record ?? defaultRoom(input.room),
        groups: [],
        audit: undefined,
      };
    }
    const plan: RoomPlan = {
      room: input.room,
      action: 'restore',
      fromStatus: 'cut',
      toStatus: 'active',
      changes: true,
      currentVersion,
      groups: failbacks,
      topics: await this.movingTopics(input.room),
      clients: [],
      notes: [`brokers in ${input.room} rejoin as replicas of the groups' current leaders and accept writes where they lead`, ...failbackNotes],
    };
    if (input.dryRun) return { plan, applied: false, room: record!, groups: [], audit: undefined };
    const outcome = await this.deps.store.applyControl({
      rooms: [{ room: input.room, status: 'active', expectedVersion: currentVersion }],
      audit: { by: input.by, action: 'room-restore', target: input.room, reason: input.reason, details: { failbacksNeeded: failbacks.map((f) => f.group) } },
    });
    return { plan, applied: true, room: outcome.rooms[0]!, groups: [], audit: outcome.audit };
  }

  async listRooms(): Promise<RoomListing> {
    const [records, groups, routers] = await Promise.all([this.deps.store.listRooms(), this.deps.store.listGroups(), this.deps.store.listRouters(ROUTER_KNOWN_MS)]);
    const brokers = this.deps.brokers();
    const names = new Set([...brokers.map((b) => b.state.room), ...routers.map((r) => r.room), ...records.map((r) => r.room)]);
    const byRoom = new Map(records.map((r) => [r.room, r]));
    const rooms = [...names].sort().map((room) => ({
      control: byRoom.get(room) ?? defaultRoom(room),
      brokers: brokers.filter((b) => b.state.room === room).length,
      routers: routers.filter((r) => r.room === room).length,
    }));
    const members = brokers.map(planMemberOf);
    const grouped = membersByGroup(members);
    const controls = new Map(groups.map((g) => [g.group, g]));
    const groupNames = [...new Set([...grouped.keys(), ...controls.keys()])].sort();
    return {
      rooms,
      groups: groupNames.map((group) => {
        const list = grouped.get(group) ?? [];
        const master = configuredMaster(list);
        const control = controls.get(group) ?? defaultGroup(group, master?.name ?? '');
        return {
          control,
          configuredMaster: master?.name ?? '',
          configuredMasterRoom: master?.room ?? '',
          leaderRoom: list.find((m) => m.name === control.leader)?.room ?? '',
          members: list.map((m) => m.name),
        };
      }),
    };
  }

  async setGroupControl(input: SetGroupControlInput): Promise<{ group: GroupControl; audit: AuditEntry }> {
    validateGroupName(input.group);
    validateWho(input.by, input.reason);
    if (!Number.isInteger(input.epoch) || input.epoch < 1) throw bad(`epoch must be a whole number ≥ 1, not ${input.epoch}`, 'epoch');
    if (!Number.isInteger(input.expectedVersion) || input.expectedVersion < 0) throw bad(`expected_version must be a whole number ≥ 0 (0: the group has no record yet)`, 'expected_version');
    const [rooms, groups] = await Promise.all([this.deps.store.listRooms(), this.deps.store.listGroups()]);
    const members = this.deps.brokers().map(planMemberOf).filter((m) => m.group === input.group);
    if (members.length === 0) {
      throw new RoomqError('BAD_REQUEST', `unknown broker group ${input.group}: no member of it has registered with this router; check the name with roomq group list`, {
        details: { group: input.group },
      });
    }
    const leader = members.find((m) => m.name === input.leader);
    if (!leader) {
      throw new RoomqError('BAD_REQUEST', `${JSON.stringify(input.leader)} is not a member of group ${input.group}; its members are ${members.map((m) => m.name).join(', ')}`, {
        details: { group: input.group, field: 'leader' },
      });
    }
    if (cutRooms(rooms).has(leader.room)) {
      throw new RoomqError('BAD_REQUEST', `${leader.name} cannot lead group ${input.group}: its room ${leader.room} is cut; restore it first with roomq room restore ${leader.room}`, {
        details: { group: input.group, room: leader.room },
      });
    }
    const control = groups.find((g) => g.group === input.group);
    const current = currentLeader(control, members) ?? { name: '', epoch: 1, version: 0 };
    if (input.epoch < current.epoch) throw bad(`group ${input.group} is at epoch ${current.epoch}; epochs never go back (asked for ${input.epoch})`, 'epoch');
    const leaderChanges = input.leader !== current.name;
    if (leaderChanges && input.epoch <= current.epoch) {
      throw bad(`a new leader for group ${input.group} needs a new epoch: ask for epoch ${current.epoch + 1} or more (it is at ${current.epoch})`, 'epoch');
    }
    const action = leaderChanges ? 'group-failback' : input.frozen ? 'group-freeze' : 'group-unfreeze';
    const outcome = await this.deps.store.applyControl({
      groups: [{ group: input.group, epoch: input.epoch, leader: input.leader, frozen: input.frozen, expectedVersion: input.expectedVersion }],
      audit: {
        by: input.by,
        action,
        target: input.group,
        reason: input.reason,
        details: { fromLeader: current.name, toLeader: input.leader, fromEpoch: current.epoch, toEpoch: input.epoch, frozen: input.frozen },
      },
    });
    return { group: outcome.groups[0]!, audit: outcome.audit };
  }

  async listAudit(limit: number): Promise<AuditEntry[]> {
    if (!Number.isInteger(limit) || limit < 0) throw bad(`limit must be a whole number ≥ 0, not ${limit}`, 'limit');
    return this.deps.store.listAudit(limit === 0 ? DEFAULT_AUDIT_LIMIT : limit);
  }

  /** The control state and brokers as one snapshot, and whether `room` is known at all. */
  private async read(room: string): Promise<{ record: RoomControl | undefined; rooms: RoomControl[]; groups: GroupControl[]; members: PlanMember[]; known: Set<string> }> {
    const [rooms, groups, routers] = await Promise.all([this.deps.store.listRooms(), this.deps.store.listGroups(), this.deps.store.listRouters(ROUTER_KNOWN_MS)]);
    const brokers = this.deps.brokers();
    const known = new Set([...brokers.map((b) => b.state.room), ...routers.map((r) => r.room), ...rooms.map((r) => r.room)]);
    if (!known.has(room)) {
      throw new RoomqError(
        'BAD_REQUEST',
        `unknown room ${room}: no broker or router of it has registered (known rooms: ${[...known].sort().join(', ') || 'none'}); check the name with roomq room list`,
        { details: { room } },
      );
    }
    return { record: rooms.find((r) => r.room === room), rooms, groups, members: brokers.map(planMemberOf), known };
  }

  /** Topics homed in `room`, and active-active topics with queues on a broker of `room`. */
  private async movingTopics(room: string): Promise<Array<{ name: string; mode: string }>> {
    const inRoom = new Set<string>();
    for (const b of this.deps.brokers()) if (b.state.room === room) for (const t of b.state.topics) inRoom.add(t.topic);
    const topics = await this.deps.store.listTopics();
    return topics
      .filter((t) => (t.mode.kind === 'home' ? t.mode.room === room : inRoom.has(t.name)))
      .map((t) => ({ name: t.name, mode: t.mode.kind === 'home' ? `home:${t.mode.room}` : 'active-active' }));
  }

  /** Consumers of `room` in the shared member lists, and producers of `room` this router hears. */
  private async movingClients(room: string): Promise<Array<KnownClient & { kind: 'consumer' | 'producer' }>> {
    const seen = new Map<string, KnownClient & { kind: 'consumer' | 'producer' }>();
    const local = this.deps.clients();
    const groups = new Set([...this.deps.consumerGroups(), ...local.filter((c) => c.group).map((c) => c.group)]);
    for (const group of [...groups].sort()) {
      for (const m of await this.deps.store.listMembers(group, CONSUMER_MAX_AGE_MS)) {
        if (m.room === room) seen.set(`${m.clientId}\n${group}`, { clientId: m.clientId, room, group, kind: 'consumer' });
      }
    }
    for (const c of local) {
      if (c.room !== room) continue;
      const key = `${c.clientId}\n${c.group}`;
      if (!seen.has(key)) seen.set(key, { ...c, kind: c.group ? 'consumer' : 'producer' });
    }
    return [...seen.values()].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  }
}

function emptyPlan(room: string, action: 'cut' | 'restore', status: RoomStatus, currentVersion: number): RoomPlan {
  return { room, action, fromStatus: status, toStatus: status, changes: false, currentVersion, groups: [], topics: [], clients: [], notes: [] };
}

function defaultRoom(room: string): RoomControl {
  return { room, status: 'active', version: 0, changedAtMs: 0, changedBy: '', reason: '' };
}

function defaultGroup(group: string, leader: string): GroupControl {
  return { group, epoch: 1, leader, frozen: false, version: 0, changedAtMs: 0, changedBy: '', reason: '' };
}

function validateChange(input: RoomChangeInput): void {
  validateRoomName(input.room);
  validateWho(input.by, input.reason);
  if (!Number.isInteger(input.expectedVersion) || input.expectedVersion < 0) throw bad(`expected_version must be a whole number ≥ 0 (0: no expectation)`, 'expected_version');
}

function validateWho(by: string, reason: string): void {
  if (!by) throw bad('say who asks for the change (by, e.g. ops@host; the CLI takes --by)', 'by');
  if (by.length > MAX_BY_CHARS) throw bad(`by is longer than ${MAX_BY_CHARS} characters`, 'by');
  if (reason.length > MAX_REASON_CHARS) throw bad(`reason is longer than ${MAX_REASON_CHARS} characters; shorten it`, 'reason');
}

function checkExpected(input: RoomChangeInput, currentVersion: number): void {
  if (input.expectedVersion !== 0 && input.expectedVersion !== currentVersion) {
    throw new RoomqError(
      'VERSION_CONFLICT',
      `room ${input.room} is at version ${currentVersion}, not the expected ${input.expectedVersion}; read it again with roomq room list and retry`,
      { details: { record: 'room', name: input.room, room: input.room, currentVersion } },
    );
  }
}

function bad(message: string, field: string): RoomqError {
  return new RoomqError('BAD_REQUEST', message, { details: { field } });
}
