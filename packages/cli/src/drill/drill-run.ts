import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Admin, type ClusterStatus } from '@roomq/client';
import { RoomqError, sleep } from '@roomq/protocol';
import { groupLeaders, replicationIdle, rolesNormal } from './cluster-view.js';
import { GrpcOffsetReader } from './committed-offsets.js';
import { DeliveryLedger, RoomConsumer } from './consumers.js';
import { cutRoom, restoreRoom, type CutOutcome, type RestoreOutcome } from './cut-modes.js';
import { DrillCluster } from './drill-cluster.js';
import { PROGRESS_EVERY_MS, type Clock, type DrillEvents } from './drill-events.js';
import { otherRoom, type DrillOptions } from './drill-options.js';
import { RoomLoad } from './load.js';
import { compareGroupLogs, type GroupLogs } from './log-identity.js';
import { OffsetWatch } from './offset-watch.js';
import { quarantinedKeys } from './quarantine-keys.js';
import { judge } from './verdict.js';
import type { DrillReport } from './report.js';
import { errorWindow, isolatedAcks } from './rto.js';
import { waitUntil } from './wait-until.js';

/** How long the cluster may take until both routers see every broker alive. */
const CLUSTER_READY_TIMEOUT_MS = 30_000;
/** After the failback, load keeps running this long so producers and consumers settle back into their rooms. */
const SETTLE_AFTER_RESTORE_MS = 2_000;
/** How long consumers may take to hold only their own room's queues again once roles are back. */
const CONSUMERS_HOME_TIMEOUT_MS = 15_000;
/** How long replication may take to catch up before member logs are compared. */
const REPLICATION_IDLE_TIMEOUT_MS = 30_000;
/** Keys listed in a report (all are counted). */
const MAX_LISTED = 20;

export interface DrillIo {
  events: DrillEvents;
  clock: Clock;
  /** Aborts the drill (Ctrl-C); cleanup still runs. */
  signal: AbortSignal;
  /** Called with the cluster as soon as it exists, so a signal handler can kill it even mid-start. */
  onCluster?: (cluster: DrillCluster) => void;
}

/**
 * The drill: a fresh two-room cluster, steady load and a consumer group in both rooms, a committed-offset
 * watch; then the cut, a time under it, the restore and failback; then the drain and the checks. Whatever
 * happens, everything it started is stopped before it returns or throws.
 */
export async function runDrill(options: DrillOptions, io: DrillIo): Promise<DrillReport> {
  const { events, clock, signal } = io;
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const cutRoomName = options.room;
  const survivingRoom = otherRoom(cutRoomName);
  const topic = `drill-${runId}`;
  const consumerGroup = `drill-${runId}-group`;
  const dataDir = await prepareDataDir(options.dataDir);

  let cluster: DrillCluster | undefined;
  const admins: Admin[] = [];
  const loads: RoomLoad[] = [];
  const consumers: RoomConsumer[] = [];
  const reader = new GrpcOffsetReader();
  let watch: OffsetWatch | undefined;
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(loads.map((l) => l.stop()));
    await Promise.allSettled(consumers.map((c) => c.close()));
    await watch?.stop();
    reader.close();
    await Promise.allSettled(admins.map((a) => a.close()));
    await cluster?.stop();
    if (!keepDir) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  };
  // A drill that failed keeps its cluster's logs and data for the post-mortem; an interrupted one does not.
  let keepDir = options.keep;

  try {
    events.emit('starting', { mode: options.mode, room: cutRoomName, dataDir, replication: options.replication }, `starting a two-room cluster in ${dataDir} (${options.replication})`);
    cluster = await DrillCluster.start({
      dataDir,
      replicationMode: options.replication,
      leaseMs: options.leaseMs,
      partition: options.mode === 'partition' ? { isolatedRoom: cutRoomName, redisUrl: options.redisUrl, keyPrefix: `roomq-drill-${runId}:` } : undefined,
    });
    io.onCluster?.(cluster);
    signal.throwIfAborted();
    // A crashed server makes waiting for it (failback, catch-up) pointless: those waits end early instead.
    const crashed = new AbortController();
    cluster.onUnexpectedExit((exit) => {
      events.emit('server-exited', { ...exit }, `${exit.name} (pid ${exit.pid}) exited unexpectedly (${exit.signal ?? `code ${exit.code}`}); see ${exit.log}`);
      crashed.abort(new RoomqError('UNAVAILABLE', `${exit.name} exited unexpectedly (${exit.signal ?? `code ${exit.code}`}); see ${exit.log}`));
    });
    const members = cluster.members();
    // The surviving room's router carries the drill: the cut room's may be dead or isolated.
    const admin = new Admin({ router: cluster.routerEndpoint(survivingRoom), room: survivingRoom });
    admins.push(admin);
    const status = (): Promise<ClusterStatus> => admin.clusterStatus();
    for (const room of cluster.rooms()) {
      const roomAdmin = room === survivingRoom ? admin : new Admin({ router: cluster.routerEndpoint(room), room });
      if (roomAdmin !== admin) admins.push(roomAdmin);
      await waitUntil(`router of ${room} to see all ${members.length} brokers alive`, CLUSTER_READY_TIMEOUT_MS, async () => (await roomAdmin.clusterStatus()).brokers.filter((b) => b.alive).length >= members.length, { signal });
    }
    events.emit(
      'cluster-ready',
      { routers: Object.fromEntries(cluster.rooms().map((r) => [r, cluster!.routerEndpoint(r)])), brokers: members.map((m) => ({ name: m.name, endpoint: m.endpoint, pid: m.pid })), links: cluster.links.list().map((l) => l.name) },
      `cluster ready: ${members.length} brokers, routers ${cluster.rooms().map((r) => `${r} ${cluster!.routerEndpoint(r)}`).join(', ')}${cluster.links.size > 0 ? `, ${cluster.links.size} room links proxied` : ''}`,
    );

    await admin.createTopic(topic, { mode: 'active-active', queuesPerBroker: options.queues });
    const ledger = new DeliveryLedger();
    for (const room of cluster.rooms()) {
      const consumer = new RoomConsumer({ room, routers: await cluster.routersFor(room), group: consumerGroup, topic, ledger, clock });
      consumers.push(consumer);
      await consumer.start();
    }
    for (const room of cluster.rooms()) {
      const load = new RoomLoad({ room, routers: await cluster.routersFor(room), topic, ratePerSec: options.ratePerSec, messageBytes: options.messageBytes, keyPrefix: runId, clock });
      loads.push(load);
      await load.start();
    }
    watch = new OffsetWatch({ consumerGroup, topic, queues: options.queues, intervalMs: options.offsetPollMs, reader, clock, leaders: async () => groupLeaders(await status()) });
    watch.start();
    events.emit('load-started', { topic, consumerGroup, ratePerSec: options.ratePerSec }, `load running: ${options.ratePerSec} msg/s from each room to ${topic}, consumer group ${consumerGroup} in both rooms`);

    await hold(options.warmupS * 1000, 'warmup', loads, ledger, io);

    const cut: CutOutcome = await cutRoom({ mode: options.mode, room: cutRoomName, cluster, admin, clock, events, signal });
    await hold(Math.max(0, options.cutS * 1000 - (clock() - cut.atMs)), 'cut', loads, ledger, io);

    let restore: RestoreOutcome;
    let restoreError: string | undefined;
    try {
      restore = await restoreRoom({ mode: options.mode, room: cutRoomName, cluster, admin, clock, events, signal: AbortSignal.any([signal, crashed.signal]) });
    } catch (err) {
      if (signal.aborted) throw err;
      // The drill still drains and checks: what was lost or duplicated matters most when the restore fails.
      restoreError = err instanceof Error ? err.message : String(err);
      const at = clock();
      restore = { startedAtMs: at, reconnectedAtMs: at, restoredAtMs: at, failedBackAtMs: at, restarted: [], failbacks: [] };
      events.emit('restore-failed', { error: restoreError }, `restore failed: ${restoreError}`);
    }
    await hold(SETTLE_AFTER_RESTORE_MS, 'settle', loads, ledger, io);

    // Consumers back home is checked while they still run; the load stops first so nothing new moves them.
    const loadStoppedAtMs = clock();
    await Promise.all(loads.map((l) => l.stop()));
    const acked = loads.flatMap((l) => l.acknowledged());
    events.emit('load-stopped', { acknowledged: acked.length }, `load stopped: ${acked.length} acknowledged; draining`);
    const drained = await waitUntil('every acknowledged key to be delivered', options.drainTimeoutS * 1000, () => acked.every((r) => ledger.has(r.key)), { signal }).then(
      () => true,
      (err: unknown) => {
        if (signal.aborted) throw err;
        return false;
      },
    );
    const drainMs = round1(clock() - loadStoppedAtMs);
    events.emit('drained', { drained, drainMs, deliveries: ledger.deliveries }, drained ? `every acknowledged key delivered (${drainMs} ms)` : `drain timed out after ${drainMs} ms`);

    const consumerProblems = await waitUntil('consumers to hold only their own room\'s queues', CONSUMERS_HOME_TIMEOUT_MS, () => {
      const problems = consumersAway(consumers);
      return problems.length === 0 ? [] : false;
    }, { signal }).catch((err: unknown) => {
      if (signal.aborted) throw err;
      return consumersAway(consumers);
    });

    await Promise.all(consumers.map((c) => c.close()));
    // One more look at the offsets after the consumers' last commits.
    await sleep(options.offsetPollMs * 2, signal);
    await watch.stop();

    const idle = await waitUntil('every member of every group to hold the same log', REPLICATION_IDLE_TIMEOUT_MS, async () => replicationIdle(await status(), members).idle, {
      signal,
      explain: () => 'see roomq cluster status',
    }).then(
      () => true,
      (err: unknown) => {
        if (signal.aborted) throw err;
        return false;
      },
    );
    const final = await status();
    const roles = rolesNormal(final, members);
    const logs: GroupLogs[] = [];
    for (const { group, members: groupMembers } of cluster.groups()) logs.push(await compareGroupLogs(group, groupMembers.map((m) => ({ name: m.name, dataDir: m.dataDir }))));
    events.emit('verified', { replicationIdle: idle, logsIdentical: logs.every((g) => g.identical), rolesNormal: roles.normal }, `logs ${logs.every((g) => g.identical) ? 'identical' : 'DIFFER'}; roles ${roles.normal ? 'normal' : 'NOT normal'}`);

    const quarantined = quarantineTotals(final);
    const quarantine = await quarantinedKeys(members.map((m) => m.dataDir), topic);
    const notDelivered = acked.filter((r) => !ledger.has(r.key));
    const lost = notDelivered.filter((r) => !quarantine.keys.has(r.key));
    const windows = Object.fromEntries(loads.map((l) => [l.room, errorWindow(l.records, l.room, cut.atMs, restore.startedAtMs)]));
    const isolated = isolatedAcks(acked, cutRoomName, cut.atMs, restore.startedAtMs);
    const report: DrillReport = {
      mode: options.mode,
      room: cutRoomName,
      survivingRoom,
      replication: options.replication,
      leaseMs: cluster.effectiveLeaseMs(),
      ratePerSec: options.ratePerSec,
      warmupS: options.warmupS,
      cutS: options.cutS,
      topic,
      consumerGroup,
      dataDir: undefined,
      ok: false,
      checks: [],
      produced: Object.fromEntries(loads.map((l) => [l.room, { sent: l.records.length, acknowledged: l.acknowledged().length, failed: l.records.length - l.acknowledged().length }])),
      acknowledged: acked.length,
      lostAcknowledged: lost.length,
      lostKeys: lost.slice(0, MAX_LISTED).map((r) => r.key),
      quarantinedAcknowledged: notDelivered.length - lost.length,
      quarantined,
      deliveries: ledger.deliveries,
      duplicatesDelivered: ledger.duplicates,
      bodiesMismatched: ledger.bodiesMismatched,
      offsetsBackwards: watch.regressions.length,
      offsetRegressions: watch.regressions.slice(0, MAX_LISTED),
      offsetReads: watch.reads,
      rtoMs: windows[survivingRoom]?.windowMs ?? 0,
      survivingRoomRtoMs: windows[survivingRoom]?.windowMs ?? 0,
      cutRoomRtoMs: windows[cutRoomName]?.windowMs ?? 0,
      errorWindows: windows,
      isolatedAckMs: isolated.lastAfterCutMs,
      isolatedAcks: isolated,
      cutAtMs: cut.atMs,
      cutCommandMs: cut.commandDoneAtMs === undefined ? undefined : round1(cut.commandDoneAtMs - cut.atMs),
      catchUpMs: round1(restore.failedBackAtMs - restore.startedAtMs),
      restoreCommandMs: round1(restore.restoredAtMs - restore.reconnectedAtMs),
      failbacks: restore.failbacks,
      drainMs,
      drained,
      logsIdentical: idle && logs.every((g) => g.identical),
      logs,
      rolesNormal: roles.normal,
      roleProblems: roles.problems,
      consumersInRooms: consumerProblems.length === 0,
      consumerProblems,
      restoreError,
      unexpectedExits: cluster.unexpectedExits,
      durationMs: round1(clock()),
    };
    report.checks = judge(report);
    report.ok = report.checks.every((c) => c.ok);
    if (!report.ok) keepDir = true;
    report.dataDir = keepDir ? dataDir : undefined;
    return report;
  } catch (err) {
    if (!signal.aborted) {
      keepDir = true;
      events.emit('failed', { error: err instanceof Error ? err.message : String(err), dataDir }, `drill failed; cluster logs and data kept in ${dataDir}`);
    }
    throw err;
  } finally {
    events.emit('stopping', {}, 'stopping the cluster');
    await cleanup();
  }
}

/** Keeps the load running for `ms`, reporting progress about once a second. */
async function hold(ms: number, phase: string, loads: RoomLoad[], ledger: DeliveryLedger, io: DrillIo): Promise<void> {
  const end = io.clock() + ms;
  while (io.clock() < end) {
    await sleep(Math.min(PROGRESS_EVERY_MS, Math.max(0, end - io.clock())), io.signal);
    const perRoom = Object.fromEntries(loads.map((l) => [l.room, { acknowledged: l.acknowledged().length, failed: l.records.length - l.acknowledged().length }]));
    io.events.emit(
      'progress',
      { phase, rooms: perRoom, deliveries: ledger.deliveries },
      `${phase}: ${loads.map((l) => `${l.room} ${perRoom[l.room]!.acknowledged} acked/${perRoom[l.room]!.failed} failed`).join(', ')}, ${ledger.deliveries} delivered`,
    );
  }
}

/** Queues a consumer reads from an instance outside its own room, and rooms whose consumer has none. */
function consumersAway(consumers: RoomConsumer[]): string[] {
  const problems: string[] = [];
  for (const c of consumers) {
    const assignment = c.assignment();
    const away = assignment.filter((q) => q.room !== c.room);
    if (away.length > 0) problems.push(`consumer in ${c.room} reads ${away.map((q) => `${q.broker}/${q.queueId} from ${q.brokerName}`).join(', ')}`);
    if (assignment.length === 0) problems.push(`consumer in ${c.room} holds no queue`);
  }
  return problems;
}

function quarantineTotals(status: ClusterStatus): DrillReport['quarantined'] {
  const byBroker: Record<string, { records: number; bytes: number }> = {};
  let records = 0;
  let bytes = 0;
  for (const b of status.brokers) {
    const r = b.quarantinedRecords ?? 0;
    const n = b.quarantinedBytes ?? 0;
    if (r === 0 && n === 0) continue;
    byBroker[b.name] = { records: r, bytes: n };
    records += r;
    bytes += n;
  }
  return { records, bytes, byBroker };
}

/** A fresh temp dir, or the given one if it is empty (a previous cluster's state would change the drill). */
async function prepareDataDir(dir: string | undefined): Promise<string> {
  if (dir === undefined) return mkdtemp(join(tmpdir(), 'roomq-drill-'));
  const path = resolve(dir);
  const entries = await readdir(path).catch(() => undefined);
  if (entries && entries.length > 0) {
    throw new RoomqError('BAD_REQUEST', `--data-dir ${path} is not empty; give an empty or new directory (the drill starts its own cluster there)`, { details: { field: 'dataDir' } });
  }
  await mkdir(path, { recursive: true });
  return path;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
