/**
 * applyControl as a pure function on a ControlState, shared by the memory and file stores (the Redis store runs
 * the same rules in its APPLY_CONTROL script). Checks every expectation before changing anything, so a
 * conflict leaves the state as it was.
 */
import { RoomqError } from '@roomq/protocol';
import type { AuditEntry, ControlTransition, ControlTransitionOutcome, GroupControl, RoomControl } from './control-store.js';
import type { ControlState } from './control-state.js';

/** The store keeps this many newest audit entries and drops older ones. */
export const AUDIT_RETAIN_ENTRIES = 1000;

/** BAD_REQUEST for a malformed transition (empty names, a record named twice, bad numbers); nothing is applied. */
export function validateTransition(change: ControlTransition): void {
  const bad = (message: string, field: string): never => {
    throw new RoomqError('BAD_REQUEST', `invalid control change: ${message}`, { details: { field } });
  };
  const rooms = change.rooms ?? [];
  const groups = change.groups ?? [];
  const seenRooms = new Set<string>();
  for (const r of rooms) {
    if (!r.room) bad('a room change has no room name', 'rooms.room');
    if (r.status !== 'active' && r.status !== 'cut') bad(`room ${r.room}: status must be active or cut, not ${JSON.stringify(r.status)}`, 'rooms.status');
    if (!Number.isInteger(r.expectedVersion) || r.expectedVersion < 0) bad(`room ${r.room}: expectedVersion must be a whole number ≥ 0`, 'rooms.expectedVersion');
    if (seenRooms.has(r.room)) bad(`room ${r.room} is changed twice in one transition`, 'rooms.room');
    seenRooms.add(r.room);
  }
  const seenGroups = new Set<string>();
  for (const g of groups) {
    if (!g.group) bad('a group change has no group name', 'groups.group');
    if (!g.leader) bad(`group ${g.group}: the leader must be named`, 'groups.leader');
    if (!Number.isInteger(g.epoch) || g.epoch < 1) bad(`group ${g.group}: epoch must be a whole number ≥ 1`, 'groups.epoch');
    if (!Number.isInteger(g.expectedVersion) || g.expectedVersion < 0) bad(`group ${g.group}: expectedVersion must be a whole number ≥ 0`, 'groups.expectedVersion');
    if (seenGroups.has(g.group)) bad(`group ${g.group} is changed twice in one transition`, 'groups.group');
    seenGroups.add(g.group);
  }
  if (!change.audit.by) bad('the audit entry must say who made the change', 'audit.by');
  if (!change.audit.action) bad('the audit entry must name the action', 'audit.action');
}

/** The VERSION_CONFLICT every store throws, so callers see one shape whichever store they run on. */
export function versionConflict(record: 'room' | 'group', name: string, currentVersion: number, expectedVersion: number): RoomqError {
  return new RoomqError(
    'VERSION_CONFLICT',
    `${record} ${name} changed meanwhile (version ${currentVersion}, expected ${expectedVersion}); read it again (roomq room list / roomq group list) and retry`,
    { details: { record, name, currentVersion, ...(record === 'room' ? { room: name } : { group: name }) } },
  );
}

/** Applies `change` to `draft` (mutating it) or throws without touching it. */
export function applyTransition(draft: ControlState, change: ControlTransition, nowMs: number, retain = AUDIT_RETAIN_ENTRIES): ControlTransitionOutcome {
  validateTransition(change);
  const rooms = change.rooms ?? [];
  const groups = change.groups ?? [];
  for (const r of rooms) {
    const current = draft.rooms.get(r.room)?.version ?? 0;
    if (current !== r.expectedVersion) throw versionConflict('room', r.room, current, r.expectedVersion);
  }
  for (const g of groups) {
    const current = draft.groups.get(g.group)?.version ?? 0;
    if (current !== g.expectedVersion) throw versionConflict('group', g.group, current, g.expectedVersion);
  }
  const by = change.audit.by;
  const reason = change.audit.reason;
  const storedRooms: RoomControl[] = rooms.map((r) => ({ room: r.room, status: r.status, version: r.expectedVersion + 1, changedAtMs: nowMs, changedBy: by, reason }));
  const storedGroups: GroupControl[] = groups.map((g) => ({
    group: g.group,
    epoch: g.epoch,
    leader: g.leader,
    frozen: g.frozen,
    version: g.expectedVersion + 1,
    changedAtMs: nowMs,
    changedBy: by,
    reason,
  }));
  for (const r of storedRooms) draft.rooms.set(r.room, r);
  for (const g of storedGroups) draft.groups.set(g.group, g);
  draft.auditSeq += 1;
  const audit: AuditEntry = {
    seq: draft.auditSeq,
    atMs: nowMs,
    by,
    action: change.audit.action,
    target: change.audit.target,
    reason,
    version: storedRooms[0]?.version ?? storedGroups[0]?.version ?? 0,
    details: change.audit.details ?? {},
  };
  draft.audit = [...draft.audit, audit].slice(-retain);
  return { rooms: storedRooms.map((r) => ({ ...r })), groups: storedGroups.map((g) => ({ ...g })), audit: { ...audit } };
}
