import { Admin, Producer } from '@roomq/client';
import { ReplicatedGroup, percentiles } from '@roomq/cli';
import { RecordType, forEachRecord } from '@roomq/protocol';
import { createTopic, publishThroughput } from './client-path.js';
import { BenchCluster } from './local-servers.js';
import { withCpuPerUnit, type CpuSubject, type CpuTime } from './process-cpu.js';
import { rawSubscribe } from './raw-subscriber.js';

const BODY = Buffer.alloc(1024, 0x63);

/**
 * Messages published, untimed, before a throughput run (`--quick`: QUICK_WARM_UP_MESSAGES), on the same fresh
 * processes: the figures are meant to be steady state, what a broker that runs for days gives, so the one-time
 * costs of a start are left out, for the single broker and the chains alike.
 * - Fixed memory: every member cycles its fixed memory once (a replica's 32 MiB receive arena, each store's
 *   16 MiB tail cache). A fresh process touches such memory page by page, and a page fault cost 17 µs here (a
 *   2-core VM; about 0.2 µs on bare metal): in a timed run of 100k messages that was 1–2 µs per message per member.
 * - Compilation: V8 optimises a function once it has run enough, and much of a chain member's work runs once
 *   per flush group or chunk, not per message, so it gets there late. After 50,000 messages each member was
 *   still starting 15–50 TurboFan compilations a second (`--trace-opt`), and compiler threads held 11–18% of
 *   the members' CPU samples in the timed window (`perf`); after 400,000, 9–14 a second and 8–11%.
 * - Segment rolls: 300,000 (about 340 MB) rather than more, so that the timed run (another ~110 MB with the
 *   full count) holds no roll of the bench's 256 MiB segments, the second of which comes at ~475,000 messages
 *   of 1,129-byte records.
 *   A roll in a window of 100,000 messages would weigh several times what it does in a broker with the default
 *   1 GiB segments, which rolls about once a million messages.
 */
export const WARM_UP_MESSAGES = 300_000;
export const QUICK_WARM_UP_MESSAGES = 50_000;

export interface PublishRun {
  msgsPerSec: number;
  /** CPU µs per message of each process while it ran: the bench's client first, then the servers. */
  cpuPerMessage: Map<string, CpuTime>;
  /** Share of the machine's CPU that was busy while it ran (0..1), where /proc/stat tells. */
  machineBusy?: number | undefined;
}

/** Publish throughput through a chain of three (master dc1 → slave dc1 → slave dc2 over a room link). */
export async function chainPublish(parent: string, mode: string, count: number, warmUp = WARM_UP_MESSAGES): Promise<PublishRun> {
  const group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: mode, logLevel: 'warn', parentDir: parent, segmentSizeBytes: 256 * 1024 * 1024 });
  try {
    await createTopic(group.routerEndpoint, 'chain', 4);
    await publishThroughput(group.routerEndpoint, 'chain', warmUp, 1000);
    // The room link to the last replica is a proxy inside the bench process: its copies count as the client's.
    const subjects: CpuSubject[] = [{ name: 'client + room link' }, { name: 'master', pid: group.members[0]!.child.pid }, { name: 'replica 1', pid: group.members[1]!.child.pid }, { name: 'replica 2', pid: group.members[2]!.child.pid }];
    const { result, cpuPerUnit, machineBusy } = await withCpuPerUnit(subjects, count, () => publishThroughput(group.routerEndpoint, 'chain', count, 1000));
    return { msgsPerSec: result.msgsPerSec, cpuPerMessage: cpuPerUnit, machineBusy };
  } finally {
    await group.stop();
  }
}

/** Publish throughput of one broker (sync flush) with the same client, for the chains to be compared with. */
async function singlePublish(parent: string, count: number, warmUp: number): Promise<PublishRun> {
  const cluster = await BenchCluster.start(parent, 'sync');
  try {
    await createTopic(cluster.routerEndpoint, 'single', 4);
    await publishThroughput(cluster.routerEndpoint, 'single', warmUp, 1000);
    const subjects: CpuSubject[] = [{ name: 'client' }, { name: 'broker', pid: cluster.brokers[0]!.child.pid }];
    const { result, cpuPerUnit, machineBusy } = await withCpuPerUnit(subjects, count, () => publishThroughput(cluster.routerEndpoint, 'single', count, 1000));
    return { msgsPerSec: result.msgsPerSec, cpuPerMessage: cpuPerUnit, machineBusy };
  } finally {
    await cluster.stop();
  }
}

export interface PairedChainResult {
  /** Single-broker publish of each round. */
  single: PublishRun[];
  /** Per mode, the chain's publish of each round. */
  chains: Map<string, PublishRun[]>;
}

/**
 * Single-broker publish and chain publish, measured in turns: each round runs a fresh single broker, then a
 * fresh chain per mode, the same count each. A ratio is taken within a round, so a noisy minute on this shared
 * machine moves both sides of it; the median over rounds is what a target is judged on.
 */
export async function pairedChainPublish(parent: string, modes: readonly string[], count: number, rounds: number, warmUp = WARM_UP_MESSAGES): Promise<PairedChainResult> {
  const result: PairedChainResult = { single: [], chains: new Map(modes.map((m) => [m, []])) };
  for (let round = 0; round < rounds; round++) {
    result.single.push(await singlePublish(parent, count, warmUp));
    for (const mode of modes) result.chains.get(mode)!.push(await chainPublish(parent, mode, count, warmUp));
  }
  return result;
}

/** Each process's CPU per message, averaged over runs; a process missing from a run is averaged over the rest. */
export function meanCpuPerMessage(runs: readonly PublishRun[]): Map<string, CpuTime> {
  const sums = new Map<string, { total: number; kernel: number; n: number }>();
  for (const run of runs) {
    for (const [name, time] of run.cpuPerMessage) {
      const sum = sums.get(name) ?? { total: 0, kernel: 0, n: 0 };
      sum.total += time.total;
      sum.kernel += time.kernel;
      sum.n++;
      sums.set(name, sum);
    }
  }
  return new Map([...sums].map(([name, { total, kernel, n }]) => [name, { total: total / n, kernel: kernel / n }]));
}

/** The machine's busy share averaged over the runs that measured it, or undefined when none did. */
export function meanMachineBusy(runs: readonly PublishRun[]): number | undefined {
  const shares = runs.map((run) => run.machineBusy).filter((share): share is number => share !== undefined);
  return shares.length === 0 ? undefined : shares.reduce((a, b) => a + b, 0) / shares.length;
}

/**
 * Replication lag at a steady rate: an async master → replica over a room link with `delayMs` each way; a
 * subscriber on the replica's data path measures, for every message, replica arrival time minus the master's
 * store time.
 */
export async function steadyLag(parent: string, ratePerSec: number, seconds: number, delayMs: number): Promise<Record<string, number>> {
  const group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: 'async', linkDelayMs: delayMs, logLevel: 'warn', parentDir: parent, segmentSizeBytes: 256 * 1024 * 1024 });
  const lags: number[] = [];
  const subscriptions: Array<() => void> = [];
  try {
    await createTopic(group.routerEndpoint, 'lag', 4);
    const producer = new Producer({ routers: [group.routerEndpoint], topics: ['lag'] });
    await producer.start();
    await producer.send({ topic: 'lag', body: BODY });
    for (let queueId = 0; queueId < 4; queueId++) {
      const request = { group: 'bench-lag', topic: 'lag', queue_id: queueId, offset: 0, max_batch_messages: 0, max_batch_bytes: 0 };
      subscriptions.push(
        rawSubscribe(group.endpoint(1), request, (frame) => {
          const now = Date.now();
          if (frame.records) forEachRecord(frame.records, (r) => r.type === RecordType.MESSAGE && lags.push(now - r.storeTimestampMs));
        }),
      );
    }
    // Steady load: a burst every 10 ms sized for the target rate.
    const perTick = Math.max(1, Math.round(ratePerSec / 100));
    const deadline = Date.now() + seconds * 1000;
    const sends: Promise<unknown>[] = [];
    while (Date.now() < deadline) {
      const tick = Date.now();
      sends.push(producer.sendMany(Array.from({ length: perTick }, () => ({ topic: 'lag', body: BODY }))));
      const wait = 10 - (Date.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.allSettled(sends);
    await new Promise((r) => setTimeout(r, 500));
    await producer.close();
    return percentiles(lags.slice(Math.floor(lags.length / 10)), [50, 99, 99.9]);
  } finally {
    for (const close of subscriptions) close();
    await group.stop();
  }
}

/** How fast an empty replica catches up with `megabytes` of log: its link is cut while the master fills. */
export async function catchUp(parent: string, megabytes: number): Promise<{ mbPerSec: number; seconds: number; bytes: number }> {
  const group = await ReplicatedGroup.start({ members: [{ room: 'dc1' }, { room: 'dc2', viaLink: true }], replicationMode: 'async', flushMode: 'async', logLevel: 'warn', parentDir: parent, segmentSizeBytes: 256 * 1024 * 1024 });
  try {
    await createTopic(group.routerEndpoint, 'fill', 4);
    await group.links.get(1)!.cut({ mode: 'blackhole' });
    const producer = new Producer({ routers: [group.routerEndpoint], topics: ['fill'], maxInFlightMessages: 2000 });
    await producer.start();
    const batch = Array.from({ length: 256 }, () => ({ topic: 'fill', body: BODY }));
    const batches = Math.ceil((megabytes * 1024 * 1024) / (256 * 1100));
    const inFlight = new Set<Promise<unknown>>();
    for (let b = 0; b < batches; b++) {
      const p: Promise<unknown> = producer.sendMany(batch).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 8) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await producer.close();
    const admin = new Admin({ router: group.routerEndpoint });
    const lagOf = async (): Promise<{ lagBytes: number; end: number } | undefined> => {
      const master = (await admin.clusterStatus()).brokers.find((b) => b.name === 'broker-a/0@dc1');
      const replica = master?.replication.find((r) => r.member === 'broker-a/1@dc2');
      return replica && master ? { lagBytes: replica.lagBytes, end: master.logEndOffset ?? 0 } : undefined;
    };
    // The replica must be seen empty-behind before the clock starts.
    let before = await lagOf();
    while (!before || before.lagBytes === 0) {
      await new Promise((r) => setTimeout(r, 100));
      before = await lagOf();
    }
    const started = performance.now();
    await group.links.get(1)!.restore();
    for (;;) {
      const now = await lagOf();
      if (now && now.lagBytes === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    admin.close();
    return { mbPerSec: before.lagBytes / 1e6 / seconds, seconds, bytes: before.lagBytes };
  } finally {
    await group.stop();
  }
}
