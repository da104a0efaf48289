/**
 * applyMigration as a pure function on a ControlState, shared by the memory and file stores (the Redis store runs
 * the same checks in its APPLY_MIGRATION script). Checks every expectation before changing anything.
 */
import { formatTopicMode, RoomqError } from '@roomq/protocol';
import type { AuditEntry, MigrationChange, MigrationChangeOutcome, TopicConfig, TopicMigration } from './control-store.js';
import type { ControlState } from './control-state.js';
import { AUDIT_RETAIN_ENTRIES } from './control-transition.js';

export function migrationConflict(topic: string, currentVersion: number, expectedVersion: number): RoomqError {
  return new RoomqError(
    'VERSION_CONFLICT',
    `the migration of topic ${topic} changed meanwhile (version ${currentVersion}, expected ${expectedVersion}); look at it again (roomq topic status ${topic}) and retry`,
    { details: { record: 'migration', name: topic, topic, currentVersion } },
  );
}

export function validateMigrationChange(change: MigrationChange): void {
  const bad = (message: string, field: string): never => {
    throw new RoomqError('BAD_REQUEST', `invalid migration change: ${message}`, { details: { field, topic: change.topic } });
  };
  if (!change.topic) bad('no topic named', 'topic');
  if (change.next.topic !== change.topic) bad('the record names another topic', 'next.topic');
  if (!Number.isInteger(change.expectedVersion) || change.expectedVersion < 0) bad('expectedVersion must be a whole number ≥ 0', 'expectedVersion');
  if (!change.audit.by) bad('the audit entry must say who made the change', 'audit.by');
  if (!change.audit.action) bad('the audit entry must name the action', 'audit.action');
}

/** The record as stored: `next` with the version, time and author of this change. */
export function storedMigration(change: MigrationChange, nowMs: number): TopicMigration {
  return { ...change.next, version: change.expectedVersion + 1, changedAtMs: nowMs, changedBy: change.audit.by, reason: change.audit.reason };
}

/** The audit entry of a migration change, but its sequence number (the store assigns that). */
export function migrationAudit(change: MigrationChange, migration: TopicMigration, nowMs: number): Omit<AuditEntry, 'seq'> {
  return {
    atMs: nowMs,
    by: change.audit.by,
    action: change.audit.action,
    target: change.topic,
    reason: change.audit.reason,
    version: migration.version,
    details: { ...(change.audit.details ?? {}), phase: migration.phase, ...(change.topicMode ? { mode: formatTopicMode(change.topicMode.mode) } : {}) },
  };
}

/** Applies `change` to `draft` (mutating it) or throws without touching it. */
export function applyMigrationTransition(draft: ControlState, change: MigrationChange, nowMs: number, retain = AUDIT_RETAIN_ENTRIES): MigrationChangeOutcome {
  validateMigrationChange(change);
  const current = draft.migrations.get(change.topic)?.version ?? 0;
  if (current !== change.expectedVersion) throw migrationConflict(change.topic, current, change.expectedVersion);
  let topic: TopicConfig | undefined;
  if (change.topicMode) {
    const existing = draft.topics.get(change.topic);
    if (!existing) throw new RoomqError('TOPIC_NOT_FOUND', `topic ${change.topic} does not exist`, { details: { topic: change.topic } });
    if (existing.version !== change.topicMode.expectedVersion) {
      throw new RoomqError('VERSION_CONFLICT', `topic ${change.topic} changed meanwhile (version ${existing.version}, expected ${change.topicMode.expectedVersion}); read it again and retry`, {
        details: { record: 'topic', topic: change.topic, currentVersion: existing.version },
      });
    }
    topic = { ...existing, mode: change.topicMode.mode, version: existing.version + 1 };
  }
  const migration = storedMigration(change, nowMs);
  draft.migrations.set(change.topic, migration);
  if (topic) draft.topics.set(change.topic, topic);
  draft.auditSeq += 1;
  const audit: AuditEntry = { seq: draft.auditSeq, ...migrationAudit(change, migration, nowMs) };
  draft.audit = [...draft.audit, audit].slice(-retain);
  return { migration: cloneMigration(migration), topic: topic && { ...topic }, audit: { ...audit, details: { ...audit.details } } };
}

export function cloneMigration(m: TopicMigration): TopicMigration {
  return {
    ...m,
    groups: [...m.groups],
    movedGroups: [...m.movedGroups],
    gates: m.gates.map((g) => ({
      ...g,
      cappedRooms: [...g.cappedRooms],
      caps: g.caps.map((c) => ({ ...c })),
      barrierRooms: [...g.barrierRooms],
      barrier: g.barrier?.map((c) => ({ ...c })),
      released: [...g.released],
    })),
  };
}
