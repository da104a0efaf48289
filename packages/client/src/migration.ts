/**
 * Topic migration from the operator's side: the record as the SDK shows it, and the driver that walks a
 * migration through its phases using only admin RPCs and broker offset queries (see docs/design.md, "Topic
 * migration"):
 *
 *   preparing         → admit: read every queue's end offset (the caps), switch admitted producer groups
 *   moving-producers  → wait until every live producer settled on the switch, read the end offsets again (barrier)
 *   draining          → release each consumer group whose committed offsets reached the barrier, oldest gate first
 *   done              → once every group is admitted and every live consumer group released: the topic's mode flips
 *
 * A rollback is one more switch (every producer back to the old mode) walked the same way, ending in rolled-back.
 * Every step is one compare-and-set on the router, so a driver killed half-way is resumed by running it again.
 */
import {
  RoomqError,
  abortedError,
  type GetMigrationReplyMsg,
  type MigrationGate,
  type MigrationGateMsg,
  type MigrationPhase,
  type QueueOffset,
  type QueueOffsetMsg,
  type TopicMigration,
  type TopicMigrationMsg,
} from '@roomq/protocol';
import { z } from 'zod';
import type { QueueRef } from './topic-route.js';

export type { MigrationGate, MigrationPhase, QueueOffset, TopicMigration };

export const DEFAULT_MIGRATION_TIMEOUT_MS = 120_000;
export const DEFAULT_MIGRATION_POLL_INTERVAL_MS = 200;
/**
 * How long after a switch the driver lets clients report before it trusts the list of live producers and
 * consumers: a client heartbeats its router every second, and routers share what they hear within another, so a
 * client that was sending when the switch happened is listed by then. Sooner, a migration started right after
 * clients connected could take its barrier (or finish) without waiting for them.
 */
export const CLIENT_REPORT_WINDOW_MS = 3000;

export interface MigrationClient {
  clientId: string;
  room: string;
  kind: 'producer' | 'consumer';
  group: string;
  /** Producers: the switch they settled on. */
  settled: number;
  /** Producers: routed by the new mode now. Consumers: released from every gate. */
  onNewRoute: boolean;
  router: string;
  lastSeenMs: number;
}

export interface ConsumerGroupProgress {
  group: string;
  rooms: string[];
  admitted: boolean;
  /** Gates the group is still held by, oldest first. */
  heldBy: number[];
  /** Messages not yet committed, per room of the queue (end offset − committed offset). */
  backlogByRoom: Record<string, number>;
}

export interface MigrationStatus {
  topic: string;
  mode: string;
  migration: TopicMigration | undefined;
  /** Messages stored per room (sum of queue end offsets). */
  storedByRoom: Record<string, number>;
  producers: MigrationClient[];
  consumerGroups: ConsumerGroupProgress[];
  /** Producer groups / consumer groups still on the old route. */
  oldRoute: { producerGroups: string[]; consumerGroups: string[] };
  /** What the migration waits for now, in words. */
  waitingFor: string;
}

export function migrationFromWire(m: TopicMigrationMsg): TopicMigration {
  return {
    topic: m.topic,
    from: m.from_mode,
    to: m.to_mode,
    phase: m.phase as MigrationPhase,
    paused: m.paused ?? false,
    rollingBack: m.rolling_back ?? false,
    groups: m.groups ?? [],
    movedGroups: m.moved_groups ?? [],
    switchSeq: m.switch_seq ?? 0,
    gates: (m.gates ?? []).map(gateFromWire),
    version: m.version ?? 0,
    startedAtMs: m.started_at_ms ?? 0,
    changedAtMs: m.changed_at_ms ?? 0,
    changedBy: m.changed_by ?? '',
    reason: m.reason ?? '',
  };
}

function gateFromWire(g: MigrationGateMsg): MigrationGate {
  return {
    seq: g.seq ?? 0,
    cappedRooms: g.capped_rooms ?? [],
    caps: (g.caps ?? []).map(offsetFromWire),
    barrierRooms: g.barrier_rooms ?? [],
    barrier: g.barrier_set ? (g.barrier ?? []).map(offsetFromWire) : undefined,
    released: g.released ?? [],
    openedAtMs: g.opened_at_ms ?? 0,
  };
}

function offsetFromWire(o: QueueOffsetMsg): QueueOffset {
  return { broker: o.broker ?? '', queueId: o.queue_id ?? 0, offset: o.offset ?? 0, room: o.room ?? '' };
}

export function offsetToWire(o: QueueOffset): QueueOffsetMsg {
  return { broker: o.broker, queue_id: o.queueId, offset: o.offset, room: o.room };
}

export function isAdmitted(groups: readonly string[], group: string): boolean {
  return groups.includes('*') || (group !== '' && groups.includes(group));
}

export function isActive(m: TopicMigration | undefined): m is TopicMigration {
  return m !== undefined && m.phase !== 'done' && m.phase !== 'rolled-back';
}

/** What a driver needs from the admin client: the router's migration RPCs and broker offsets. */
export interface MigrationBackend {
  getMigrationRaw(topic: string): Promise<GetMigrationReplyMsg>;
  changeMigration(options: ChangeMigrationOptions): Promise<{ migration: TopicMigration; applied: boolean; message: string }>;
  /** Every queue of the topic, with where it is served. */
  topicQueues(topic: string): Promise<QueueRef[]>;
  endOffset(queue: QueueRef): Promise<number>;
  /** The group's committed offset; undefined when it has none. */
  committedOffset(queue: QueueRef, group: string): Promise<number | undefined>;
}

export interface ChangeMigrationOptions {
  topic: string;
  action: 'start' | 'admit' | 'barrier' | 'release' | 'finish' | 'pause' | 'resume' | 'rollback';
  toMode?: string;
  groups?: string[];
  offsets?: QueueOffset[];
  expectedVersion?: number;
  gateSeq?: number;
  by?: string;
  reason?: string;
  dryRun?: boolean;
}

export interface MigrationProgress {
  topic: string;
  phase: MigrationPhase;
  rollingBack: boolean;
  switchSeq: number;
  message: string;
}

export const driveMigrationOptionsSchema = z
  .object({
    /** Bound of the whole run; on expiry the migration stays where it is (resume it by running again). */
    timeoutMs: z.number().int().positive().default(DEFAULT_MIGRATION_TIMEOUT_MS),
    pollIntervalMs: z.number().int().positive().default(DEFAULT_MIGRATION_POLL_INTERVAL_MS),
    onProgress: z.custom<(p: MigrationProgress) => void>((v) => typeof v === 'function', 'expected a function').optional(),
    by: z.string().min(1).max(256).optional(),
    reason: z.string().max(1024).default(''),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'expected an AbortSignal').optional(),
    /** Admit these groups first (producer groups move by a new switch; `*` admits all). */
    admit: z.array(z.string().min(1)).optional(),
    /** Roll back: once the newest switch settled, every producer goes back to the old mode. */
    rollback: z.boolean().default(false),
  })
  .strict();

export type DriveMigrationOptions = z.input<typeof driveMigrationOptionsSchema>;

export interface DriveResult {
  migration: TopicMigration | undefined;
  /** done | rolled-back | paused | partial (the admitted groups are through; others are not admitted) */
  outcome: 'done' | 'rolled-back' | 'paused' | 'partial';
  tookMs: number;
}

/** Reads every queue's end offset (the driver's caps and barriers). */
export async function readEndOffsets(backend: MigrationBackend, topic: string): Promise<QueueOffset[]> {
  const queues = uniqueQueues(await backend.topicQueues(topic));
  return Promise.all(queues.map(async (q) => ({ broker: q.broker, queueId: q.queueId, room: q.room, offset: await backend.endOffset(q) })));
}

/** One queue per (broker group, queue id): the route lists each once per serving member. */
function uniqueQueues(queues: readonly QueueRef[]): QueueRef[] {
  const byKey = new Map<string, QueueRef>();
  for (const q of queues) {
    const key = `${q.broker}#${q.queueId}`;
    const seen = byKey.get(key);
    if (!seen || q.brokerId < seen.brokerId) byKey.set(key, q);
  }
  return [...byKey.values()];
}

/**
 * Walks the migration of `topic` as far as it can go: until done or rolled back, until it is paused, or until
 * the admitted groups are through and other groups are not admitted yet (`partial`). Throws TIMEOUT (the
 * migration stays in its phase) when a wait outlasts `timeoutMs`.
 */
export async function driveMigration(backend: MigrationBackend, topic: string, options: z.output<typeof driveMigrationOptionsSchema>): Promise<DriveResult> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const by = options.by ?? 'unknown';
  const report = (m: TopicMigration, message: string): void => options.onProgress?.({ topic, phase: m.phase, rollingBack: m.rollingBack, switchSeq: m.switchSeq, message });
  let lastWait = '';
  for (;;) {
    options.signal?.throwIfAborted();
    const reply = await backend.getMigrationRaw(topic);
    const m = reply.migration ? migrationFromWire(reply.migration) : undefined;
    if (!isActive(m)) return { migration: m, outcome: (m as TopicMigration | undefined)?.phase === 'rolled-back' ? 'rolled-back' : 'done', tookMs: Date.now() - started };
    if (m.paused) {
      report(m, 'paused');
      return { migration: m, outcome: 'paused', tookMs: Date.now() - started };
    }
    const step = await nextStep(backend, topic, m, reply, options);
    if (step.kind === 'change') {
      const done = await backend.changeMigration({ ...step.change, topic, expectedVersion: m.version, by, reason: options.reason }).catch((err: unknown) => {
        // Another driver (or the operator) moved first: look again.
        if (err instanceof RoomqError && (err.code === 'VERSION_CONFLICT' || err.code === 'UNAVAILABLE')) return undefined;
        throw err;
      });
      if (done) report(done.migration, done.message);
      lastWait = '';
      continue;
    }
    if (step.kind === 'partial') {
      report(m, step.message);
      return { migration: m, outcome: 'partial', tookMs: Date.now() - started };
    }
    if (step.message !== lastWait) report(m, step.message);
    lastWait = step.message;
    if (Date.now() >= deadline) {
      throw new RoomqError('TIMEOUT', `migration of ${topic} still waits after ${options.timeoutMs} ms: ${step.message}; it stays in phase ${m.phase} (run the command again to go on, or --rollback)`, {
        details: { topic, phase: m.phase },
      });
    }
    await pollWait(options.pollIntervalMs, options.signal);
  }
}

type Step = { kind: 'change'; change: Omit<ChangeMigrationOptions, 'topic'> } | { kind: 'wait'; message: string } | { kind: 'partial'; message: string };

async function nextStep(backend: MigrationBackend, topic: string, m: TopicMigration, reply: GetMigrationReplyMsg, wish: { admit?: string[] | undefined; rollback?: boolean } = {}): Promise<Step> {
  const last = m.gates[m.gates.length - 1];
  const clients = reply.clients ?? [];
  const settled = !last || last.barrier !== undefined;
  if (wish.rollback && !m.rollingBack && settled) return { kind: 'change', change: { action: 'rollback', offsets: await readEndOffsets(backend, topic) } };
  if (wish.admit && !m.rollingBack && settled) {
    const wanted = wish.admit.includes('*') ? ['*'] : [...new Set([...m.groups, ...wish.admit])].sort();
    if (!sameList(wanted, m.groups)) return { kind: 'change', change: { action: 'admit', groups: wish.admit, offsets: await readEndOffsets(backend, topic) } };
  }
  // 1. The newest switch settles: every live producer follows it with nothing older in flight.
  if (last && last.barrier === undefined) {
    const reporting = last.openedAtMs + CLIENT_REPORT_WINDOW_MS - Date.now();
    if (reporting > 0) return { kind: 'wait', message: `switch ${m.switchSeq}: letting every live client report (${Math.ceil(reporting / 1000)} s)` };
    const unsettled = clients.filter((c) => c.kind === 'producer' && (c.settled_version ?? 0) < m.switchSeq);
    if (unsettled.length > 0) return { kind: 'wait', message: `switch ${m.switchSeq}: waiting for ${unsettled.length} producer(s) to settle (${unsettled.map((c) => c.client_id).slice(0, 3).join(', ')})` };
    return { kind: 'change', change: { action: 'barrier', gateSeq: last.seq, offsets: await readEndOffsets(backend, topic) } };
  }
  // 2. Producers still to move: the admitted groups differ from those switched.
  if (!m.rollingBack && !sameList(m.groups, m.movedGroups)) {
    return { kind: 'change', change: { action: 'admit', groups: m.groups, offsets: await readEndOffsets(backend, topic) } };
  }
  // 3. Consumer groups drain to the barrier of their oldest gate.
  const live = [...new Set(clients.filter((c) => c.kind === 'consumer').map((c) => c.group ?? ''))].filter((g) => g).sort();
  // Live consumer groups only: admitted names may be producer groups, and a group with no live consumer has nobody
  // to drain (docs/design.md says what that costs it).
  const candidates = live.filter((g) => m.rollingBack || isAdmitted(m.groups, g));
  const queues = uniqueQueues(await backend.topicQueues(topic));
  const waiting: string[] = [];
  for (const group of candidates) {
    const gate = m.gates.find((g) => !g.released.includes(group));
    if (!gate || gate.barrier === undefined) continue;
    const behind = await behindBarrier(backend, queues, gate.barrier, group);
    if (behind === 0) return { kind: 'change', change: { action: 'release', gateSeq: gate.seq, groups: [group] } };
    waiting.push(`${group} (${behind} behind in ${gate.barrierRooms.join(', ')})`);
  }
  if (waiting.length > 0) return { kind: 'wait', message: `draining: waiting for ${waiting.join(', ')}` };
  const liveHeld = live.filter((g) => m.gates.some((gate) => !gate.released.includes(g)));
  if (m.rollingBack || m.movedGroups.includes('*')) {
    if (liveHeld.length > 0) return { kind: 'wait', message: `waiting for consumer groups ${liveHeld.join(', ')} (not admitted)` };
    return { kind: 'change', change: { action: 'finish' } };
  }
  return { kind: 'partial', message: `admitted groups ${m.groups.join(', ')} are through; others keep the ${m.from} route until admitted (roomq topic admit ${topic} --groups G, or '*' for all)` };
}

/** Messages of the barrier the group has not committed yet; 0 when it reached the barrier everywhere. */
async function behindBarrier(backend: MigrationBackend, queues: readonly QueueRef[], barrier: readonly QueueOffset[], group: string): Promise<number> {
  let behind = 0;
  for (const b of barrier) {
    const queue = queues.find((q) => q.broker === b.broker && q.queueId === b.queueId);
    if (!queue) continue;
    const committed = (await backend.committedOffset(queue, group)) ?? 0;
    if (committed < b.offset) behind += b.offset - committed;
  }
  return behind;
}

/** The migration as a person and a script see it: phase, backlog per room, who still uses the old route. */
export async function migrationStatus(backend: MigrationBackend, topic: string): Promise<MigrationStatus> {
  const reply = await backend.getMigrationRaw(topic);
  const m = reply.migration ? migrationFromWire(reply.migration) : undefined;
  const active = isActive(m) ? m : undefined;
  const queues = uniqueQueues(await backend.topicQueues(topic));
  const ends = new Map<QueueRef, number>();
  await Promise.all(queues.map(async (q) => ends.set(q, await backend.endOffset(q).catch(() => 0))));
  const storedByRoom: Record<string, number> = {};
  for (const [q, end] of ends) storedByRoom[q.room] = (storedByRoom[q.room] ?? 0) + end;
  const clients: MigrationClient[] = (reply.clients ?? []).map((c) => {
    const kind = c.kind === 'consumer' ? 'consumer' : 'producer';
    const group = c.group ?? '';
    const onNewRoute = active === undefined ? true : kind === 'producer' ? isAdmitted(active.movedGroups, group) : active.gates.every((g) => g.released.includes(group));
    return { clientId: c.client_id, room: c.room, kind, group, settled: c.settled_version ?? 0, onNewRoute, router: c.router ?? '', lastSeenMs: c.last_seen_ms ?? 0 };
  });
  const consumerGroups: ConsumerGroupProgress[] = [];
  for (const group of [...new Set(clients.filter((c) => c.kind === 'consumer').map((c) => c.group))].sort()) {
    const backlogByRoom: Record<string, number> = {};
    await Promise.all(
      queues.map(async (q) => {
        const committed = (await backend.committedOffset(q, group).catch(() => undefined)) ?? 0;
        backlogByRoom[q.room] = (backlogByRoom[q.room] ?? 0) + Math.max(0, (ends.get(q) ?? 0) - committed);
      }),
    );
    consumerGroups.push({
      group,
      rooms: [...new Set(clients.filter((c) => c.kind === 'consumer' && c.group === group).map((c) => c.room))].sort(),
      admitted: active === undefined || active.rollingBack || isAdmitted(active.groups, group),
      heldBy: active ? active.gates.filter((g) => !g.released.includes(group)).map((g) => g.seq) : [],
      backlogByRoom,
    });
  }
  const producers = clients.filter((c) => c.kind === 'producer');
  const oldRoute = {
    producerGroups: [...new Set(producers.filter((p) => !p.onNewRoute).map((p) => p.group || '(no group)'))].sort(),
    consumerGroups: consumerGroups.filter((g) => g.heldBy.length > 0).map((g) => g.group),
  };
  return { topic, mode: reply.topic?.mode ?? '', migration: m, storedByRoom, producers, consumerGroups, oldRoute, waitingFor: active ? await describeWait(backend, topic, active, reply) : 'nothing' };
}

async function describeWait(backend: MigrationBackend, topic: string, m: TopicMigration, reply: GetMigrationReplyMsg): Promise<string> {
  if (m.paused) return `paused; resume with roomq topic migrate ${topic} --resume`;
  const step = await nextStep(backend, topic, m, reply).catch((err: unknown) => ({ kind: 'wait' as const, message: (err as Error).message }));
  if (step.kind === 'change') return `the driver's next step: ${step.change.action} (run roomq topic migrate ${topic} --resume to take it)`;
  return step.message;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Like sleep(), but keeps the process alive: an operator's command waiting on a migration must not exit. */
function pollWait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
