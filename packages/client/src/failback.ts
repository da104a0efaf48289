/**
 * Failback: hands a broker group's leadership back to its configured master once that master has rejoined
 * and caught up, using only admin RPCs and cluster status, so any operator tool can run it:
 *
 *   1. wait until the configured master M is alive, ready, in an active room, and reports the group's epoch
 *      (it rejoined as a replica of the acting leader A and holds A's epoch marker);
 *   2. freeze A (same epoch, frozen): A refuses writes, so its log stops growing;
 *   3. wait until A reports fence `frozen` with everything flushed, and M holds all of A's log;
 *   4. hand over: epoch + 1, leader M, not frozen;
 *   5. wait until M acts as master under the new epoch and accepts writes.
 *
 * If step 3 does not finish in time A is unfrozen (writes resume there) and the failback fails saying who was
 * behind by how much. Every change is a compare-and-set on the group record, so two failbacks cannot interleave.
 */
import { RoomqError } from '@roomq/protocol';
import { z } from 'zod';
import type { BrokerStatus, ClusterStatus } from './admin.js';
import { replicationTrouble } from './replication-trouble.js';
import type { AuditEntry, GroupControl, RoomListing, SetGroupControlOptions } from './room-control.js';

/** How long each wait of a failback may take by default. */
export const DEFAULT_FAILBACK_TIMEOUT_MS = 120_000;
/** How often a failback polls cluster status. */
export const DEFAULT_FAILBACK_POLL_INTERVAL_MS = 200;

export type FailbackPhase = 'waiting-for-master' | 'freezing' | 'draining' | 'handing-over' | 'waiting-for-new-leader' | 'unfreezing' | 'done';

export interface FailbackProgress {
  group: string;
  phase: FailbackPhase;
  /** The acting leader handing over, and the configured master taking over. */
  leader: string;
  master: string;
  epoch: number;
  /** Bytes of the leader's log the master does not hold yet (draining), when known. */
  behindBytes?: number;
  message: string;
}

export const failbackOptionsSchema = z
  .object({
    /** Bound of each wait (master rejoining, draining, new leader taking over). */
    timeoutMs: z.number().int().positive().default(DEFAULT_FAILBACK_TIMEOUT_MS),
    pollIntervalMs: z.number().int().positive().default(DEFAULT_FAILBACK_POLL_INTERVAL_MS),
    onProgress: z.custom<(progress: FailbackProgress) => void>((v) => typeof v === 'function', 'expected a function').optional(),
    by: z.string().min(1).max(256).optional(),
    reason: z.string().max(1024).default('failback to the configured master'),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'expected an AbortSignal').optional(),
  })
  .strict();

export type FailbackOptions = z.input<typeof failbackOptionsSchema>;

export interface FailbackResult {
  group: string;
  /** False when the configured master was leading already. */
  changed: boolean;
  fromLeader: string;
  toLeader: string;
  epoch: number;
  tookMs: number;
  message: string;
}

/** What failback needs from an Admin. */
export interface FailbackApi {
  listRooms(): Promise<RoomListing>;
  clusterStatus(): Promise<ClusterStatus>;
  setGroupControl(options: SetGroupControlOptions): Promise<{ group: GroupControl; audit: AuditEntry }>;
}

export async function failbackGroup(api: FailbackApi, group: string, options: z.output<typeof failbackOptionsSchema> & { by: string }): Promise<FailbackResult> {
  const startedMs = Date.now();
  const listing = await api.listRooms();
  const control = listing.groups.find((g) => g.group === group);
  if (!control) {
    throw new RoomqError('BAD_REQUEST', `unknown broker group ${group}: no member of it is registered; check the name with roomq group list`, { details: { group } });
  }
  const status = await api.clusterStatus();
  const master = status.brokers.find((b) => b.group === group && b.configuredRole === 'master')?.name || control.configuredMaster;
  if (!master) {
    throw new RoomqError('UNAVAILABLE', `group ${group} has no registered configured master; start it, then retry the failback`, { details: { group } });
  }
  const leader = control.leader;
  const epoch = control.epoch;
  const report = (phase: FailbackPhase, message: string, behindBytes?: number) =>
    options.onProgress?.({ group, phase, leader, master, epoch, ...(behindBytes === undefined ? {} : { behindBytes }), message });
  if (leader === master && !control.frozen) {
    const message = `${master} leads group ${group} already (epoch ${epoch}); nothing to do`;
    report('done', message);
    return { group, changed: false, fromLeader: leader, toLeader: master, epoch, tookMs: Date.now() - startedMs, message };
  }
  const wait = (phase: FailbackPhase, what: string, check: (status: ClusterStatus, listing: RoomListing) => { done: boolean; message: string; behindBytes?: number }) =>
    waitUntil(api, options, what, (s, l) => {
      const verdict = check(s, l);
      report(phase, verdict.message, verdict.behindBytes);
      return verdict;
    });

  // 1. The master has rejoined under the current epoch.
  await wait('waiting-for-master', `${master} to rejoin group ${group} at epoch ${epoch}`, (s, l) => {
    const m = member(s, master);
    const room = m && l.rooms.find((r) => r.room === m.room);
    if (!m || !m.alive) return { done: false, message: `${master} is not alive yet` };
    if (room?.status === 'cut') return { done: false, message: `${master}'s room ${m.room} is cut; run roomq room restore ${m.room}` };
    if (m.status !== 'ready') return { done: false, message: `${master} is ${m.status}` };
    if (m.epoch !== epoch) {
      const trouble = replicationTrouble(m);
      return { done: false, message: `${master} is at epoch ${m.epoch ?? '?'}, waiting for ${epoch}${trouble ? ` (${trouble})` : ''}` };
    }
    return { done: true, message: `${master} rejoined at epoch ${epoch}` };
  });

  // 2. Freeze the acting leader.
  report('freezing', `freezing ${leader} so its log stops growing`);
  const frozen = await api.setGroupControl({ group, epoch, leader, frozen: true, expectedVersion: control.version, by: options.by, reason: options.reason });

  // 3. Drain: the master holds everything the frozen leader has.
  try {
    await wait('draining', `${master} to catch up with ${leader}`, (s) => {
      const a = member(s, leader);
      const m = member(s, master);
      if (!a || !m) return { done: false, message: `${!a ? leader : master} is not registered` };
      const behindBytes = Math.max(0, (a.logEndOffset ?? 0) - (m.flushedOffset ?? 0));
      if (a.fence !== 'frozen') return { done: false, message: `${leader} has not confirmed the freeze yet (fence ${JSON.stringify(a.fence ?? '')})`, behindBytes };
      if ((a.logEndOffset ?? 0) !== (a.flushedOffset ?? 0)) return { done: false, message: `${leader} is flushing`, behindBytes };
      if (behindBytes > 0) return { done: false, message: `${master} is ${behindBytes} bytes behind ${leader}`, behindBytes };
      return { done: true, message: `${master} holds all of ${leader}'s log (${a.logEndOffset ?? 0} bytes)`, behindBytes: 0 };
    });
  } catch (err) {
    report('unfreezing', `failback did not drain in time; unfreezing ${leader}`);
    let unfrozen = false;
    try {
      await api.setGroupControl({ group, epoch, leader, frozen: false, expectedVersion: frozen.group.version, by: options.by, reason: `failback aborted: ${options.reason}` });
      unfrozen = true;
    } catch (unfreezeErr) {
      throw new RoomqError(
        'UNAVAILABLE',
        `failback of group ${group} did not drain in time and unfreezing ${leader} failed (${(unfreezeErr as Error).message}); ${leader} still refuses writes: unfreeze it with roomq group failback ${group} or set the group control by hand`,
        { cause: unfreezeErr, details: { group } },
      );
    }
    if (unfrozen && err instanceof RoomqError && err.code === 'TIMEOUT') {
      const s = await api.clusterStatus().catch(() => undefined);
      const a = s && member(s, leader);
      const m = s && member(s, master);
      const behind = a && m ? Math.max(0, (a.logEndOffset ?? 0) - (m.flushedOffset ?? 0)) : undefined;
      throw new RoomqError(
        'TIMEOUT',
        `failback of group ${group} timed out after ${options.timeoutMs} ms while draining: ${master} was ${behind ?? '?'} bytes behind ${leader}${a && a.fence !== 'frozen' ? ` and ${leader} never confirmed the freeze (fence ${JSON.stringify(a.fence ?? '')})` : ''}; ${leader} accepts writes again; retry when ${master} has caught up, or give a longer --timeout-ms`,
        { cause: err, details: { group, broker: master, behindBytes: behind } },
      );
    }
    throw err;
  }

  // 4. Hand over under a new epoch.
  const nextEpoch = epoch + 1;
  report('handing-over', `${master} leads group ${group} from epoch ${nextEpoch}`);
  await api.setGroupControl({ group, epoch: nextEpoch, leader: master, frozen: false, expectedVersion: frozen.group.version, by: options.by, reason: options.reason });

  // 5. The master acts as master under the new epoch and accepts writes.
  await wait('waiting-for-new-leader', `${master} to act as master of group ${group} at epoch ${nextEpoch}`, (s) => {
    const m = member(s, master);
    if (!m) return { done: false, message: `${master} is not registered` };
    if (m.role !== 'master' || m.epoch !== nextEpoch) return { done: false, message: `${master} acts as ${m.role} at epoch ${m.epoch ?? '?'}` };
    if (m.fence) return { done: false, message: `${master} refuses writes (${m.fence}${m.fenceReason ? `: ${m.fenceReason}` : ''})` };
    return { done: true, message: `${master} is master at epoch ${nextEpoch} and writable` };
  });
  const tookMs = Date.now() - startedMs;
  const message = `group ${group} failed back from ${leader} to ${master} at epoch ${nextEpoch} in ${tookMs} ms`;
  report('done', message);
  return { group, changed: true, fromLeader: leader, toLeader: master, epoch: nextEpoch, tookMs, message };
}

function member(status: ClusterStatus, name: string): BrokerStatus | undefined {
  return status.brokers.find((b) => b.name === name);
}

/** Polls until `check` says done; TIMEOUT after timeoutMs, ABORTED when the signal fires. */
async function waitUntil(
  api: FailbackApi,
  options: { timeoutMs: number; pollIntervalMs: number; signal?: AbortSignal | undefined },
  what: string,
  check: (status: ClusterStatus, listing: RoomListing) => { done: boolean; message: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    if (options.signal?.aborted) throw new RoomqError('ABORTED', `failback aborted while waiting for ${what}`, { cause: options.signal.reason });
    try {
      const [status, listing] = await Promise.all([api.clusterStatus(), api.listRooms()]);
      const verdict = check(status, listing);
      if (verdict.done) return;
      last = verdict.message;
    } catch (err) {
      // A router restarting mid-failback is no reason to give up: keep polling until the deadline.
      if (!(err instanceof RoomqError) || !err.retriable) throw err;
      last = err.message;
    }
    if (Date.now() >= deadline) {
      throw new RoomqError('TIMEOUT', `timed out after ${options.timeoutMs} ms waiting for ${what}: ${last}`, { details: {} });
    }
    await sleep(options.pollIntervalMs, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
