import type { Durability } from './peers/peer.js';

/**
 * The side-by-side figures as data: which metrics, roomq's advantage over each peer, and the targets
 * judged on ratios measured in the same run. Pure, so the verdicts are unit-tested.
 */

export type MetricKey = 'publish' | 'syncP50' | 'syncP99' | 'syncP999' | 'e2eP50' | 'e2eP99' | 'e2eMax' | 'consume';

export interface MetricSpec {
  key: MetricKey;
  scenario: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
}

export const METRICS: readonly MetricSpec[] = [
  { key: 'publish', scenario: 'async publish, 1,000 in flight', metric: 'throughput', unit: 'msg/s', better: 'higher' },
  { key: 'syncP50', scenario: 'sync publish, 1 in flight', metric: 'p50', unit: 'ms', better: 'lower' },
  { key: 'syncP99', scenario: 'sync publish, 1 in flight', metric: 'p99', unit: 'ms', better: 'lower' },
  { key: 'syncP999', scenario: 'sync publish, 1 in flight', metric: 'p99.9', unit: 'ms', better: 'lower' },
  { key: 'e2eP50', scenario: 'end-to-end at a fixed rate', metric: 'p50', unit: 'ms', better: 'lower' },
  { key: 'e2eP99', scenario: 'end-to-end at a fixed rate', metric: 'p99', unit: 'ms', better: 'lower' },
  { key: 'e2eMax', scenario: 'end-to-end at a fixed rate', metric: 'max', unit: 'ms', better: 'lower' },
  { key: 'consume', scenario: 'backlog consume', metric: 'throughput', unit: 'msg/s', better: 'higher' },
];

/** What one subject (roomq or a peer variant) measured; a scenario that failed has no value and a note. */
export interface SubjectResult {
  id: string;
  label: string;
  shortLabel: string;
  durability: Durability;
  values: Partial<Record<MetricKey, number>>;
  notes: string[];
  /** The machine's 1-minute load average when the subject started: other work on the cores skews figures. */
  loadAverage?: number;
}

/**
 * How many times better roomq is: roomq ÷ peer for throughput, peer ÷ roomq for latency, so > 1 always means
 * roomq is ahead. Undefined when either side is missing or zero.
 */
export function advantage(spec: Pick<MetricSpec, 'better'>, roomq: number | undefined, peer: number | undefined): number | undefined {
  if (roomq === undefined || peer === undefined || roomq <= 0 || peer <= 0) return undefined;
  return spec.better === 'higher' ? roomq / peer : peer / roomq;
}

export interface ComparisonRow extends MetricSpec {
  roomq: number | undefined;
  /** roomq with async flush, when it ran: shown beside, the ratios stay against `roomq`. */
  roomqAsync: number | undefined;
  peers: Array<{ id: string; value: number | undefined; advantage: number | undefined }>;
}

export function comparisonRows(roomq: SubjectResult, peers: readonly SubjectResult[], roomqAsync?: SubjectResult): ComparisonRow[] {
  return METRICS.map((spec) => ({
    ...spec,
    roomq: roomq.values[spec.key],
    roomqAsync: roomqAsync?.values[spec.key],
    peers: peers.map((p) => ({ id: p.id, value: p.values[spec.key], advantage: advantage(spec, roomq.values[spec.key], p.values[spec.key]) })),
  }));
}

export type TargetStatus = 'met' | 'missed' | 'not evaluated';

export interface TargetVerdict {
  target: string;
  metric: MetricKey;
  /** Which roomq was judged: its label (undefined when that roomq did not run). */
  roomqLabel: string | undefined;
  roomq: number | undefined;
  /** The peer the target is judged against, picked as the issue says (the best durable peer, Redis, …). */
  against: { id: string; label: string; value: number } | undefined;
  /** roomq's advantage over `against` (see `advantage`). */
  ratio: number | undefined;
  /** The ratio needed. */
  needed: number;
  status: TargetStatus;
  /** Why a target could not be judged, or what it was judged against. */
  note: string;
}

interface TargetSpec {
  target: string;
  metric: MetricKey;
  needed: number;
  /** Which roomq is judged: sync flush (as it ships), or async flush against peers that also ack before fsync. */
  roomq: 'sync' | 'async';
  /** Which peers the target compares with, and a note when none qualifies. */
  candidates: (peers: readonly SubjectResult[]) => SubjectResult[];
  missing: string;
}

const TARGETS: readonly TargetSpec[] = [
  {
    target: 'durable publish ≥ 3× the best durable peer',
    metric: 'publish',
    needed: 3,
    roomq: 'sync',
    candidates: (peers) => peers.filter((p) => p.durability.fsyncedBeforeAck),
    missing: 'no figure from a peer that fsyncs before acknowledging (RabbitMQ quorum, Redis appendfsync always): not run, or the scenario failed',
  },
  {
    target: 'backlog consume ≥ 1.3× Redis Streams',
    metric: 'consume',
    needed: 1.3,
    roomq: 'sync',
    candidates: (peers) => peers.filter((p) => p.id.startsWith('redis:')),
    missing: 'no Redis Streams figure: not run, or the scenario failed',
  },
  {
    target: 'sync publish p50 no slower than Redis appendfsync always',
    metric: 'syncP50',
    needed: 1,
    roomq: 'sync',
    candidates: (peers) => peers.filter((p) => p.id === 'redis:always'),
    missing: 'no figure from Redis with appendfsync always: not run, or the scenario failed',
  },
  // Like with like: an ack that waited for fsync against the peers whose acks wait too, and roomq acking before
  // fsync (async flush) against the peers that do the same. Both must hold for the target to be met.
  {
    target: 'end-to-end p50 at the fixed rate no slower than the best peer, like with like: roomq sync flush vs peers that fsync before ack',
    metric: 'e2eP50',
    needed: 1,
    roomq: 'sync',
    candidates: (peers) => peers.filter((p) => p.durability.fsyncedBeforeAck),
    missing: 'no figure from a peer that fsyncs before acknowledging: not run, or the scenario failed',
  },
  {
    target: 'end-to-end p50 at the fixed rate no slower than the best peer, like with like: roomq async flush vs peers that ack before fsync',
    metric: 'e2eP50',
    needed: 1,
    roomq: 'async',
    candidates: (peers) => peers.filter((p) => !p.durability.fsyncedBeforeAck),
    missing: 'no figure from a peer that acknowledges before fsync (NATS JetStream, Redis everysec): not run, or the scenario failed',
  },
];

/**
 * Judges each target against the best qualifying peer, the strictest reading of "the best peer". `roomqAsync`
 * (async flush) is judged only where the target compares with peers that also ack before fsync.
 */
export function evaluateTargets(roomqSync: SubjectResult, peers: readonly SubjectResult[], roomqAsync?: SubjectResult): TargetVerdict[] {
  return TARGETS.map((t) => {
    const spec = METRICS.find((m) => m.key === t.metric)!;
    const roomq = t.roomq === 'sync' ? roomqSync : roomqAsync;
    const mine = roomq?.values[t.metric];
    const measured = t.candidates(peers).filter((p) => p.values[t.metric] !== undefined);
    const base = { target: t.target, metric: t.metric, roomqLabel: roomq?.label, roomq: mine, needed: t.needed };
    if (!roomq) return { ...base, against: undefined, ratio: undefined, status: 'not evaluated', note: 'roomq with async flush did not run (see the skipped notes)' };
    if (measured.length === 0) return { ...base, against: undefined, ratio: undefined, status: 'not evaluated', note: t.missing };
    const best = measured.reduce((a, b) => {
      const av = a.values[t.metric]!;
      const bv = b.values[t.metric]!;
      return (spec.better === 'higher' ? bv > av : bv < av) ? b : a;
    });
    const value = best.values[t.metric]!;
    const ratio = advantage(spec, mine, value);
    const against = { id: best.id, label: best.label, value };
    if (ratio === undefined) return { ...base, against, ratio, status: 'not evaluated', note: 'roomq has no figure for this scenario (see its notes)' };
    return { ...base, against, ratio, status: ratio >= t.needed ? 'met' : 'missed', note: `against ${best.label}` };
  });
}
