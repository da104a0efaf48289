import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dropRedisControlState } from '@roomq/router';
import { Admin, type ClusterStatus } from '@roomq/client';
import { RoomqError, sleep } from '@roomq/protocol';
import { groupLeaders, quarantineTotals, replicationIdle, rolesNormal } from './cluster-view.js';
import { GrpcOffsetReader } from './committed-offsets.js';
import { DeliveryLedger, RoomConsumer, consumersAway } from './consumers.js';
import { cutRoom, restoreRoom, type CutOutcome, type RestoreOutcome } from './cut-modes.js';
import { DrillCluster } from './drill-cluster.js';
import { PROGRESS_EVERY_MS, type Clock, type DrillEvents } from './drill-events.js';
import { otherRoom, type DrillOptions } from './drill-options.js';
import { RoomLoad, type SendRecord } from './load.js';
import { compareGroupLogs, type GroupLogs } from './log-identity.js';
import { OffsetWatch } from './offset-watch.js';
import { quarantinedKeys } from './quarantine-keys.js';
import { judge } from './verdict.js';
import { accountForKeys } from './verify.js';
import type { DrillReport, KeyDetail } from './report.js';
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
/** The drain gives up once no message arrived for this long. */
const DRAIN_IDLE_MS = 8_000;
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
  // Active-active: each room's producer writes to its own room's masters. Homed in the cut room: every producer
  // writes there, so the cut must move both rooms' producers.
  // A consumer group per topic (a group's consumers share one subscription).
  const topics = [
    { name: `drill-${runId}`, mode: 'active-active', consumerGroup: `drill-${runId}-group` },
    { name: `drill-${runId}-home`, mode: `home:${cutRoomName}`, consumerGroup: `drill-${runId}-home-group` },
  ];
  const topicNames = topics.map((t) => t.name);
  const topicSet = new Set(topicNames);
  const dataDir = await prepareDataDir(options.dataDir);

  let cluster: DrillCluster | undefined;
  const admins: Admin[] = [];
  const loads: RoomLoad[] = [];
  const consumers: RoomConsumer[] = [];
  const reader = new GrpcOffsetReader();
  let watch: OffsetWatch | undefined;
  // A drill that failed keeps its cluster's logs and data for the post-mortem; an interrupted one does not.
  let keepDir = options.keep;
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(loads.map((l) => l.stop()));
    await Promise.allSettled(consumers.map((c) => c.close()));
    await watch?.stop();
    reader.close();
    await Promise.allSettled(admins.map((a) => a.close()));
    await cluster?.stop();
    if (!keepDir) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    // A partition drill's control state lives in the shared Redis under its own prefix: leave nothing behind.
    if (options.mode === 'partition' && !keepDir) await dropRedisControlState(options.redisUrl, `roomq-drill-${runId}:`).catch(() => undefined);
  };

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
    const waits = { signal, crashed: crashed.signal };
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

    for (const topic of topics) await admin.createTopic(topic.name, { mode: topic.mode, queuesPerBroker: options.queues });
    const ledger = new DeliveryLedger();
    for (const room of cluster.rooms()) {
      for (const topic of topics) {
        const consumer = new RoomConsumer({ room, routers: await cluster.routersFor(room), group: topic.consumerGroup, topic: topic.name, ledger, clock });
        consumers.push(consumer);
        await consumer.start();
      }
    }
    for (const room of cluster.rooms()) {
      const load = new RoomLoad({ room, routers: await cluster.routersFor(room), topics: topicNames, ratePerSec: options.ratePerSec, messageBytes: options.messageBytes, keyPrefix: runId, clock });
      loads.push(load);
      await load.start();
    }
    watch = new OffsetWatch({ subscriptions: topics.map((t) => ({ topic: t.name, consumerGroup: t.consumerGroup })), queues: options.queues, intervalMs: options.offsetPollMs, reader, clock, leaders: async () => groupLeaders(...(await Promise.all([status(), admin.listRooms()]))) });
    watch.start();
    events.emit(
      'load-started',
      { topics, ratePerSec: options.ratePerSec },
      `load running: ${options.ratePerSec} msg/s from each room to ${topics.map((t) => `${t.name} (${t.mode})`).join(' and ')}, a consumer group of each in both rooms`,
    );

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
      if (crashed.signal.aborted) restoreError += ` because ${(crashed.signal.reason as Error).message}`;
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
    // Keys cut into quarantine on rejoin will not arrive: the drain waits for the rest, and gives up early
    // once nothing has arrived for a while (a consumer stuck for that long would stay stuck).
    const quarantinedBeforeDrain = await quarantinedKeys(members.map((m) => m.dataDir), topicSet);
    const drained =
      (await settle(
        'every acknowledged key to be delivered',
        options.drainTimeoutS * 1000,
        () => acked.every((r) => ledger.has(r.key) || quarantinedBeforeDrain.keys.has(r.key)) || (clock() - Math.max(ledger.lastDeliveryAtMs, loadStoppedAtMs) > DRAIN_IDLE_MS ? 'idle' : false),
        waits,
      )) === true;
    const drainMs = round1(clock() - loadStoppedAtMs);
    events.emit('drained', { drained, drainMs, deliveries: ledger.deliveries }, drained ? `every acknowledged key delivered or quarantined (${drainMs} ms)` : `drain gave up after ${drainMs} ms`);

    const consumersHome = await settle("consumers to hold only their own room's queues", CONSUMERS_HOME_TIMEOUT_MS, () => consumersAway(consumers).length === 0, waits);
    const consumerProblems = consumersHome ? [] : consumersAway(consumers);

    await Promise.all(consumers.map((c) => c.close()));
    // One more look at the offsets after the consumers' last commits.
    await sleep(options.offsetPollMs * 2, signal);
    await watch.stop();

    let lag: string[] = [];
    const idle = await settle('every member of every group to hold the same log', REPLICATION_IDLE_TIMEOUT_MS, async () => {
      const view = replicationIdle(await status(), members);
      lag = view.waitingFor;
      return view.idle;
    }, waits);
    const final = await status();
    const roles = rolesNormal(final, await admin.listRooms(), members);
    const logs: GroupLogs[] = [];
    for (const { group, members: groupMembers } of cluster.groups()) logs.push(await compareGroupLogs(group, groupMembers.map((m) => ({ name: m.name, dataDir: m.dataDir }))));
    events.emit('verified', { replicationIdle: idle, logsIdentical: logs.every((g) => g.identical), rolesNormal: roles.normal }, `logs ${logs.every((g) => g.identical) ? 'identical' : 'DIFFER'}; roles ${roles.normal ? 'normal' : 'NOT normal'}`);

    const quarantined = quarantineTotals(final);
    const keys = await accountForKeys(acked, ledger, members.map((m) => m.dataDir), topicSet);
    const committed = watch.highestOffsets();
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
      topics,
      dataDir: undefined,
      ok: false,
      checks: [],
      produced: Object.fromEntries(loads.map((l) => [l.room, { sent: l.records.length, acknowledged: l.acknowledged().length, failed: l.records.length - l.acknowledged().length }])),
      acknowledged: acked.length,
      lostAcknowledged: keys.lost.length,
      lostDetails: keys.lost.slice(0, MAX_LISTED).map((r) => keyDetail(r, committed)),
      quarantinedAcknowledged: keys.quarantined.length,
      undeliveredAcknowledged: keys.undelivered.length,
      undeliveredDetails: keys.undelivered.slice(0, MAX_LISTED).map((r) => keyDetail(r, committed)),
      quarantined,
      deliveries: ledger.deliveries,
      deliveredNotKept: keys.deliveredNotKept.length,
      deliveredNotKeptKeys: keys.deliveredNotKept.slice(0, MAX_LISTED),
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
      catchUpMs: restoreError ? undefined : round1(restore.failedBackAtMs - restore.startedAtMs),
      reconnectMs: restoreError ? undefined : round1(restore.reconnectedAtMs - restore.startedAtMs),
      restoreCommandMs: restoreError ? undefined : round1(restore.restoredAtMs - restore.reconnectedAtMs),
      failbacks: restore.failbacks,
      drainMs,
      drained,
      logsIdentical: idle && logs.every((g) => g.identical),
      replicationLag: lag,
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

/**
 * waitUntil for the checks at the end: false instead of an error when it times out, and at once when a server
 * crashed (waiting for a dead member to catch up is pointless). Ctrl-C still aborts the drill.
 */
async function settle<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  waits: { signal: AbortSignal; crashed: AbortSignal },
): Promise<T | false> {
  if (waits.crashed.aborted) {
    const value = await Promise.resolve(check()).catch(() => undefined);
    return value === undefined ? false : value;
  }
  try {
    return await waitUntil(what, timeoutMs, check, { signal: AbortSignal.any([waits.signal, waits.crashed]) });
  } catch (err) {
    if (waits.signal.aborted) throw err;
    return false;
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

function keyDetail(r: SendRecord, committed: Record<string, number>): KeyDetail {
  const queue = `${r.broker ?? ''}/${r.queueId ?? -1}`;
  return { key: r.key, topic: r.topic, brokerName: r.brokerName ?? '', queue, queueOffset: r.queueOffset ?? -1, ackedAtMs: r.settledAtMs, committedOffset: committed[`${r.topic}:${queue}`] };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
