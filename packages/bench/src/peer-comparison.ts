import { loadavg } from 'node:os';
import { percentiles } from '@roomq/cli';
import type { PeerSelection } from './bench-options.js';
import { comparisonRows, evaluateTargets, type ComparisonRow, type MetricKey, type SubjectResult, type TargetVerdict } from './comparison.js';
import type { SkippedPeer } from './comparison-markdown.js';
import type { Subject } from './peers/peer.js';
import { tcpReachable } from './peers/tcp-probe.js';
import { formatValue, progress } from './report.js';
import { RoomqSubject } from './roomq-subject.js';
import { settle } from './settle.js';
import { asyncPublish, backlogConsume, endToEndLatency, syncPublishLatency } from './subject-scenarios.js';

/** Counts and windows of the side-by-side scenarios; bounded so a full run takes minutes. */
export interface ComparisonSettings {
  /**
   * Published and consumed on a queue of its own before anything is timed, by every system alike: the peers
   * are daemons that have run for hours, roomq's broker was started for the run seconds before, and a fresh
   * process pays for every page of memory it touches the first time (on this VM ~1.5 ms per MB).
   */
  warmupCount: number;
  /** Published with `inFlight` unacknowledged, then consumed back as a backlog. */
  count: number;
  /**
   * Rounds of the async publish, each into a fresh queue; the median is reported. One round of a few seconds
   * swings by a fifth on this shared machine (roomq 139-203k msg/s in one morning), more than a target's margin.
   */
  publishRounds: number;
  inFlight: number;
  /** Publishes timed one at a time. */
  latencyCount: number;
  /**
   * Untimed one-at-a-time publishes before them, on the same queue. One-at-a-time takes code paths the
   * throughput scenarios never warm (a small group written and fdatasynced on the event loop): a broker started
   * for the run gets to where a long-running one is (p50 ~15% lower here after 3,000 than after 200).
   */
  latencyWarmupCount: number;
  e2eRatePerSec: number;
  e2eSeconds: number;
  e2eWarmupSeconds: number;
  /** How long a backlog or the end-to-end tail may take to arrive before the scenario counts as failed. */
  timeoutMs: number;
}

export function comparisonSettings(quick: boolean): ComparisonSettings {
  return quick
    ? { warmupCount: 5_000, count: 20_000, publishRounds: 1, inFlight: 1000, latencyCount: 500, latencyWarmupCount: 500, e2eRatePerSec: 5000, e2eSeconds: 1.5, e2eWarmupSeconds: 0.5, timeoutMs: 60_000 }
    : { warmupCount: 100_000, count: 200_000, publishRounds: 3, inFlight: 1000, latencyCount: 5000, latencyWarmupCount: 3000, e2eRatePerSec: 5000, e2eSeconds: 10, e2eWarmupSeconds: 1, timeoutMs: 180_000 };
}

export interface ComparisonResult {
  settings: ComparisonSettings;
  setup: string;
  /** roomq as it ships: sync flush, every ack fsynced. */
  roomq: SubjectResult;
  /** roomq with async flush, the like of the peers that ack before fsync; absent when it could not start. */
  roomqAsync: SubjectResult | undefined;
  peers: SubjectResult[];
  skipped: SkippedPeer[];
  rows: ComparisonRow[];
  targets: TargetVerdict[];
}

/** How long the reachability probe waits for a peer's port before it is skipped. */
const PROBE_TIMEOUT_MS = 1_000;
/** At 5k msg/s every message should be in well within this after the last send. */
const E2E_DRAIN_TIMEOUT_MS = 15_000;

/**
 * roomq first (sync flush, then async flush), then each picked peer that answers, one at a time so none steals
 * the others' cores.
 */
export async function runComparison(workDir: string, selection: PeerSelection, settings: ComparisonSettings): Promise<ComparisonResult> {
  const roomq = await measureRoomq(workDir, 'sync', settings);
  const skipped: SkippedPeer[] = [];
  let roomqAsync: SubjectResult | undefined;
  try {
    roomqAsync = await measureRoomq(workDir, 'async', settings);
  } catch (err) {
    skipped.push({ peer: 'roomq', variant: 'async', reason: describe(err) });
  }
  const peers: SubjectResult[] = [];
  for (const { peer, variants } of selection.picks) {
    if (!(await tcpReachable(peer.endpoint, PROBE_TIMEOUT_MS))) {
      skipped.push({ peer: peer.name, reason: `nothing answers on ${peer.endpoint}${selection.explicit ? '' : ' (not running here; --peers picks which to run)'}` });
      progress(`  ${peer.name}: skipped, nothing answers on ${peer.endpoint}`);
      continue;
    }
    for (const variant of variants) {
      let subject: Subject;
      const opening = performance.now();
      try {
        subject = await peer.open(variant);
        progress(`  ${subject.shortLabel}: ready in ${((performance.now() - opening) / 1000).toFixed(1)} s`);
      } catch (err) {
        skipped.push({ peer: peer.name, variant, reason: describe(err) });
        progress(`  ${peer.name}:${variant}: skipped, ${describe(err)}`);
        continue;
      }
      try {
        peers.push(await measure(subject, settings));
      } finally {
        await subject.close().catch((err: unknown) => skipped.push({ peer: peer.name, variant, reason: `ran, but closing failed: ${describe(err)}` }));
      }
    }
  }
  return { settings, setup: describeSetup(settings), roomq, roomqAsync, peers, skipped, rows: comparisonRows(roomq, peers, roomqAsync), targets: evaluateTargets(roomq, peers, roomqAsync) };
}

async function measureRoomq(workDir: string, flushMode: 'sync' | 'async', settings: ComparisonSettings): Promise<SubjectResult> {
  const subject = await RoomqSubject.start(workDir, flushMode);
  try {
    return await measure(subject, settings);
  } finally {
    await subject.close();
  }
}

/** Runs every scenario on one subject; a scenario that fails leaves its figures out and says why in a note. */
async function measure(subject: Subject, s: ComparisonSettings): Promise<SubjectResult> {
  const started = performance.now();
  const loadAverage = Math.round(loadavg()[0]! * 100) / 100;
  const result: SubjectResult = { id: subject.id, label: subject.label, shortLabel: subject.shortLabel, durability: subject.durability, values: {}, notes: [], loadAverage };
  const record = (key: MetricKey, value: number, unit: string, what: string): void => {
    result.values[key] = value;
    progress(`  ${subject.shortLabel} · ${what}: ${formatValue(value)} ${unit}`);
  };
  const attempt = async (what: string, run: () => Promise<void>): Promise<void> => {
    try {
      const settled = await settle();
      if (settled.waitedMs > 2_000) progress(`  ${subject.shortLabel} · waited ${(settled.waitedMs / 1000).toFixed(1)} s for a quiet machine before ${what}`);
      await run();
    } catch (err) {
      result.notes.push(`${what} failed: ${describe(err)}`);
      progress(`  ${subject.shortLabel} · ${what} failed: ${describe(err)}`);
    }
  };

  await attempt('warm-up', async () => {
    const session = await subject.openSession('warmup');
    try {
      const published = await asyncPublish(session, s.warmupCount, s.inFlight);
      await backlogConsume(session, published.stored, s.timeoutMs);
    } finally {
      await session.close();
    }
  });

  await attempt('async publish', async () => {
    const session = await subject.openSession('backlog');
    try {
      const published = await asyncPublish(session, s.count, s.inFlight);
      const rounds = [published.msgsPerSec];
      let failed = published.failed;
      // The first round's queue is the backlog consumed below; the others go to queues of their own.
      for (let round = 1; round < s.publishRounds; round++) {
        await settle();
        const extra = await subject.openSession(`publish-${round}`);
        try {
          const again = await asyncPublish(extra, s.count, s.inFlight);
          rounds.push(again.msgsPerSec);
          failed += again.failed;
        } finally {
          await extra.close();
        }
      }
      // percentiles sorts in place: a copy, so the rounds stay in order for the note.
      record('publish', Math.round(percentiles([...rounds], [50])['p50']!), 'msg/s', `async publish, ${s.inFlight} in flight${rounds.length > 1 ? `, median of ${rounds.length}` : ''}`);
      if (rounds.length > 1) result.notes.push(`async publish rounds: ${rounds.map((r) => formatValue(Math.round(r))).join(', ')} msg/s`);
      if (failed > 0) result.notes.push(`${failed} of ${s.count * rounds.length} publishes failed`);
      await attempt('backlog consume', async () => {
        const consumed = await backlogConsume(session, published.stored, s.timeoutMs);
        record('consume', Math.round(consumed.msgsPerSec), 'msg/s', `backlog consume of ${formatValue(published.stored)}`);
      });
    } finally {
      await session.close();
    }
  });

  await attempt('sync publish', async () => {
    const session = await subject.openSession('latency');
    try {
      const latency = await syncPublishLatency(session, s.latencyCount, s.latencyWarmupCount);
      record('syncP50', latency['p50']!, 'ms', 'sync publish p50');
      record('syncP99', latency['p99']!, 'ms', 'sync publish p99');
      record('syncP999', latency['p99.9']!, 'ms', 'sync publish p99.9');
    } finally {
      await session.close();
    }
  });

  await attempt('end-to-end', async () => {
    const session = await subject.openSession('e2e');
    try {
      const e2e = await endToEndLatency(session, s.e2eRatePerSec, s.e2eSeconds, s.e2eWarmupSeconds, E2E_DRAIN_TIMEOUT_MS);
      record('e2eP50', e2e.latency['p50']!, 'ms', `end-to-end p50 at ${formatValue(s.e2eRatePerSec)} msg/s`);
      record('e2eP99', e2e.latency['p99']!, 'ms', 'end-to-end p99');
      record('e2eMax', e2e.latency['max']!, 'ms', 'end-to-end max');
      if (e2e.achievedRatePerSec < s.e2eRatePerSec * 0.95) result.notes.push(`end-to-end: the publisher held only ${formatValue(Math.round(e2e.achievedRatePerSec))} msg/s of ${formatValue(s.e2eRatePerSec)}`);
    } finally {
      await session.close();
    }
  });
  progress(`  ${subject.shortLabel}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

function describeSetup(s: ComparisonSettings): string {
  return [
    `1 KiB messages. First, untimed, every system publishes and consumes ${formatValue(s.warmupCount)} messages on a queue of its own (a warm-up: the peers are long-running daemons, roomq's broker starts with the run).`,
    `Async publish: ${formatValue(s.count)} messages with ${formatValue(s.inFlight)} unacknowledged, into a fresh queue (roomq: a topic of one queue on one broker; peers: one stream or queue)${s.publishRounds > 1 ? `, ${s.publishRounds} rounds on fresh queues, the median reported` : ''};`,
    'the first round is then consumed back as a backlog by a new group (timed from the first message to the last; acknowledged in batches, as a roomq consumer commits offsets).',
    `Sync publish: ${formatValue(s.latencyCount)} publishes, one in flight, after ${formatValue(s.latencyWarmupCount)} untimed. End-to-end: a publisher on a 1 ms tick at ${formatValue(s.e2eRatePerSec)} msg/s for ${s.e2eSeconds} s after ${s.e2eWarmupSeconds} s of warm-up, a consumer already subscribed; publish call to handler, one clock.`,
    'Every server runs on this machine and disk; every client runs in the bench process, one system at a time.',
    'Before every scenario of every system the bench flushes dirty pages (sync) and waits, up to 20 s, until the CPUs are 85% idle, so no system inherits the writeback or the stopping servers of the one before.',
  ].join(' ');
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
