import type { Admin } from '@roomq/client';
import type { DrillCluster } from './drill-cluster.js';
import { PROGRESS_EVERY_MS, type Clock, type DrillEvents } from './drill-events.js';
import type { DrillMode } from './drill-options.js';

/** Who the drill's control changes are audited as. */
export const DRILL_ACTOR = 'roomq drill';
/** How long one group's failback may take (catch-up included) before the drill gives up on it. */
export const FAILBACK_TIMEOUT_MS = 60_000;

export interface CutContext {
  mode: DrillMode;
  /** The room cut. */
  room: string;
  cluster: DrillCluster;
  /** An admin client of the surviving room's router: the cut room's router may be dead or isolated. */
  admin: Admin;
  clock: Clock;
  events: DrillEvents;
  signal?: AbortSignal;
}

/** What the cut did, on the drill's clock. */
export interface CutOutcome {
  mode: DrillMode;
  room: string;
  /** When the room was taken away: the kill, the partition, or the cut command for a clean cut. */
  atMs: number;
  /** When cutRoom returned (undefined for mode none). */
  commandDoneAtMs: number | undefined;
  killed: Array<{ name: string; pid: number }>;
  /** Groups that got an acting master in the surviving room, as the cut reported them. */
  movedGroups: string[];
}

/**
 * Takes the room away the way the mode says, then cuts it through the surviving router: in every mode but a
 * clean cut the room is gone before any operator acts, as in a real failure.
 */
export async function cutRoom(ctx: CutContext): Promise<CutOutcome> {
  const { mode, room, cluster, admin, clock, events } = ctx;
  const outcome: CutOutcome = { mode, room, atMs: clock(), commandDoneAtMs: undefined, killed: [], movedGroups: [] };
  if (mode === 'none') {
    events.emit('cut', { mode, room }, 'mode none: no cut, load keeps running');
    return outcome;
  }
  if (mode === 'kill') {
    outcome.killed = await cluster.killRoom(room);
    events.emit('room-killed', { room, processes: outcome.killed }, `kill -9 ${outcome.killed.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
  } else if (mode === 'partition') {
    cluster.links.cutAll();
    events.emit('room-partitioned', { room, links: cluster.links.list().map((l) => l.name) }, `blackholed ${cluster.links.size} links between the rooms`);
  }
  const result = await admin.cutRoom({ room, reason: `roomq drill (${mode})`, by: DRILL_ACTOR });
  outcome.commandDoneAtMs = clock();
  outcome.movedGroups = (result.plan?.groups ?? []).filter((g) => g.moves).map((g) => `${g.group}: ${g.fromLeader} -> ${g.toLeader} (epoch ${g.toEpoch})`);
  events.emit(
    'room-cut',
    { room, tookMs: round1(outcome.commandDoneAtMs - outcome.atMs), applied: result.applied, moved: outcome.movedGroups },
    `room ${room} cut in ${round1(outcome.commandDoneAtMs - outcome.atMs)} ms${outcome.movedGroups.length > 0 ? `; ${outcome.movedGroups.join('; ')}` : ''}`,
  );
  return outcome;
}

export interface FailbackSummary {
  group: string;
  tookMs: number;
  /** False when the configured master led already. */
  changed: boolean;
  fromLeader: string;
  toLeader: string;
  epoch: number;
  progressEvents: number;
}

export interface RestoreOutcome {
  startedAtMs: number;
  /** The room's processes run again / its links are open again. */
  reconnectedAtMs: number;
  /** restoreRoom returned. */
  restoredAtMs: number;
  /** Every group of the room led by its configured master again. */
  failedBackAtMs: number;
  restarted: Array<{ name: string; pid: number }>;
  failbacks: FailbackSummary[];
}

/** Brings the room back (restart, reopen links), restores it, and fails back every group configured to lead there. */
export async function restoreRoom(ctx: CutContext): Promise<RestoreOutcome> {
  const { mode, room, cluster, admin, clock, events } = ctx;
  const startedAtMs = clock();
  const outcome: RestoreOutcome = { startedAtMs, reconnectedAtMs: startedAtMs, restoredAtMs: startedAtMs, failedBackAtMs: startedAtMs, restarted: [], failbacks: [] };
  if (mode === 'none') return outcome;
  if (mode === 'kill') {
    outcome.restarted = await cluster.restartRoom(room);
    events.emit('room-restarted', { room, processes: outcome.restarted }, `restarted ${outcome.restarted.map((p) => `${p.name} (pid ${p.pid})`).join(', ')} on their data dirs`);
  } else if (mode === 'partition') {
    cluster.links.restoreAll();
    events.emit('room-links-restored', { room }, 'links between the rooms open again');
  }
  outcome.reconnectedAtMs = clock();
  const result = await admin.restoreRoom({ room, reason: `roomq drill (${mode})`, by: DRILL_ACTOR });
  outcome.restoredAtMs = clock();
  events.emit('room-restored', { room, applied: result.applied, tookMs: round1(outcome.restoredAtMs - outcome.reconnectedAtMs) }, `room ${room} restored; failing back its groups`);

  // As `roomq room restore` does: every group whose configured master is in the room leads from there again.
  for (const { group } of cluster.groups().filter((g) => g.master.room === room)) {
    const t0 = clock();
    let progressEvents = 0;
    let lastPhase = '';
    let lastEmitMs = -Infinity;
    const result = await admin.failbackGroup(group, {
      timeoutMs: FAILBACK_TIMEOUT_MS,
      by: DRILL_ACTOR,
      reason: `roomq drill (${mode}): failback after restore`,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress: (progress) => {
        progressEvents++;
        // Failback reports every poll; show phase changes, and otherwise about once a second.
        if (progress.phase === lastPhase && clock() - lastEmitMs < PROGRESS_EVERY_MS) return;
        lastPhase = progress.phase;
        lastEmitMs = clock();
        events.emit('failback-progress', { group, phase: progress.phase, behindBytes: progress.behindBytes, message: progress.message }, `failback ${group}: ${progress.phase}: ${progress.message}`);
      },
    });
    const tookMs = round1(clock() - t0);
    outcome.failbacks.push({ group, tookMs, changed: result.changed, fromLeader: result.fromLeader, toLeader: result.toLeader, epoch: result.epoch, progressEvents });
    events.emit('failed-back', { group, tookMs, changed: result.changed, epoch: result.epoch }, result.message);
  }
  outcome.failedBackAtMs = clock();
  return outcome;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
