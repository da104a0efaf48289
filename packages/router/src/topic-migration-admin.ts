import { formatTopicMode, parseTopicMode, RoomqError, validateGroupName, validateTopicName, type TopicMode } from '@roomq/protocol';
import type { AuditEntry, MigrationGate, QueueOffset, TopicConfig, TopicMigration } from './control-store.js';
import { MigrationClients, type MigrationClient } from './migration-clients.js';
import { liveQueues } from './room-routing.js';
import type { RouterContext } from './router-context.js';
import { ALL_GROUPS, isActiveMigration, isAdmitted, MIGRATION_CLIENTS_PREFIX, offsetsInRooms, phaseOf, switchRooms } from './topic-migration.js';

export type MigrationAction = 'start' | 'admit' | 'barrier' | 'release' | 'finish' | 'pause' | 'resume' | 'rollback';
const ACTIONS: readonly MigrationAction[] = ['start', 'admit', 'barrier', 'release', 'finish', 'pause', 'resume', 'rollback'];

export interface MigrationChangeInput {
  topic: string;
  action: string;
  toMode: string;
  groups: string[];
  offsets: QueueOffset[];
  expectedVersion: number;
  gateSeq: number;
  by: string;
  reason: string;
  dryRun: boolean;
}

export interface MigrationChangeResult {
  migration: TopicMigration;
  topic: TopicConfig;
  applied: boolean;
  audit: AuditEntry | undefined;
  message: string;
}

export interface MigrationView {
  topic: TopicConfig;
  migration: TopicMigration | undefined;
  clients: MigrationClient[];
  rooms: string[];
}

const perRouter = new WeakMap<RouterContext, { clients: MigrationClients; admin: MigrationAdmin }>();

/**
 * The migration parts of one router, made once per router context and shared by its services: the client
 * registry (fed by ClientHeartbeat, read by GetMigration) and the admin. Also turns migration changes of any
 * router into route and assignment hints, since they change producer routes and consumer read limits.
 */
export function migrationsOf(ctx: RouterContext): { clients: MigrationClients; admin: MigrationAdmin } {
  let found = perRouter.get(ctx);
  if (!found) {
    const clients = new MigrationClients(ctx.store, ctx.name, ctx.logger);
    found = { clients, admin: new MigrationAdmin(ctx, clients) };
    perRouter.set(ctx, found);
    ctx.store.onChange((change) => {
      if (change.kind !== 'migration') return;
      ctx.events.publish({ kind: 'route', topic: change.topic });
      ctx.events.publish({ kind: 'assignment' });
    });
  }
  return found;
}

/**
 * The migration state machine's transitions, one compare-and-set each, every one audited. The operator's
 * command (the SDK's migration driver) decides when to take a step and reads broker offsets; the router checks
 * each step is allowed now (producers settled before a barrier, gates released in order, nothing while paused).
 */
export class MigrationAdmin {
  constructor(
    private readonly ctx: RouterContext,
    private readonly clients: MigrationClients,
  ) {}

  async view(name: string): Promise<MigrationView> {
    const topic = await this.ctx.topics.require(name, false, 'migration');
    const [migration, clients] = await Promise.all([this.ctx.store.getMigration(name), this.clients.list(name)]);
    return { topic, migration, clients, rooms: [...this.rooms()].sort() };
  }

  list(): Promise<TopicMigration[]> {
    return this.ctx.store.listMigrations();
  }

  async change(input: MigrationChangeInput): Promise<MigrationChangeResult> {
    validateTopicName(input.topic);
    if (!ACTIONS.includes(input.action as MigrationAction)) {
      throw new RoomqError('BAD_REQUEST', `migration action ${JSON.stringify(input.action)} is unknown; use one of ${ACTIONS.join(', ')}`, { details: { field: 'action', topic: input.topic } });
    }
    for (const g of input.groups) if (g !== ALL_GROUPS) validateGroupName(g);
    const action = input.action as MigrationAction;
    const topic = await this.ctx.topics.require(input.topic, false, 'migration');
    const current = await this.ctx.store.getMigration(input.topic);
    if (input.expectedVersion !== 0 && (current?.version ?? 0) !== input.expectedVersion) {
      throw new RoomqError('VERSION_CONFLICT', `the migration of topic ${input.topic} changed meanwhile (version ${current?.version ?? 0}, expected ${input.expectedVersion}); look again with roomq topic status ${input.topic}`, {
        details: { record: 'migration', topic: input.topic, currentVersion: current?.version ?? 0 },
      });
    }
    const plan = action === 'start' ? this.planStart(topic, current, input) : await this.planStep(action, topic, requireActive(current, input.topic, action), input);
    if (plan === undefined) return { migration: current!, topic, applied: false, audit: undefined, message: 'nothing to change' };
    const next = { ...plan.next, phase: phaseOf(plan.next) } as TopicMigration;
    if (input.dryRun) return { migration: { ...next, version: current?.version ?? 0 }, topic, applied: false, audit: undefined, message: `dry run: ${plan.message}` };
    const by = input.by || 'unknown';
    const outcome = await this.ctx.store.applyMigration({
      topic: input.topic,
      expectedVersion: current?.version ?? 0,
      next,
      ...(plan.topicMode ? { topicMode: { mode: plan.topicMode, expectedVersion: topic.version } } : {}),
      audit: { by, action: `migration-${action}`, reason: input.reason, details: { ...plan.details, from: next.from, to: next.to, switchSeq: next.switchSeq, movedGroups: next.movedGroups, groups: next.groups } },
    });
    this.ctx.logger.info({ topic: input.topic, action, phase: outcome.migration.phase, version: outcome.migration.version, switchSeq: outcome.migration.switchSeq, by }, `topic migration: ${plan.message}`);
    return { migration: outcome.migration, topic: outcome.topic ?? topic, applied: true, audit: outcome.audit, message: plan.message };
  }

  private planStart(topic: TopicConfig, current: TopicMigration | undefined, input: MigrationChangeInput): Plan {
    if (isActiveMigration(current)) {
      throw new RoomqError(
        'BAD_REQUEST',
        `topic ${topic.name} is already migrating to ${current.to} (phase ${current.phase}); admit more groups (roomq topic admit ${topic.name} --groups G), --resume, --pause or --rollback it`,
        { details: { topic: topic.name, field: 'action' } },
      );
    }
    const to = parseTopicMode(input.toMode);
    const from = formatTopicMode(topic.mode);
    if (formatTopicMode(to) === from) throw new RoomqError('BAD_REQUEST', `topic ${topic.name} is in mode ${from} already; nothing to migrate`, { details: { topic: topic.name, field: 'to_mode' } });
    this.checkTargetWritable(topic, to);
    const nowMs = Date.now();
    const groups = input.groups.length === 0 ? [ALL_GROUPS] : uniqueSorted(input.groups);
    return {
      next: { topic: topic.name, from, to: formatTopicMode(to), phase: 'preparing', paused: false, rollingBack: false, groups, movedGroups: [], switchSeq: 0, gates: [], startedAtMs: nowMs },
      message: `migration of ${topic.name} from ${from} to ${formatTopicMode(to)} started; queues exist in the target rooms`,
      details: {},
    };
  }

  private async planStep(action: MigrationAction, topic: TopicConfig, m: TopicMigration, input: MigrationChangeInput): Promise<Plan | undefined> {
    const base = { topic: m.topic, from: m.from, to: m.to, phase: m.phase, paused: m.paused, rollingBack: m.rollingBack, groups: m.groups, movedGroups: m.movedGroups, switchSeq: m.switchSeq, gates: m.gates, startedAtMs: m.startedAtMs };
    const last = m.gates[m.gates.length - 1];
    switch (action) {
      case 'pause':
        if (m.paused) return undefined;
        return { next: { ...base, paused: true }, message: `paused in phase ${m.phase}: routes and read limits stay as they are`, details: {} };
      case 'resume':
        if (!m.paused) return undefined;
        return { next: { ...base, paused: false }, message: `resumed in phase ${m.phase}`, details: {} };
      case 'admit': {
        this.assertNotPaused(m, action);
        if (m.rollingBack) throw failed(m, 'it is rolling back; nothing can be admitted');
        const groups = input.groups.includes(ALL_GROUPS) ? [ALL_GROUPS] : uniqueSorted([...m.groups, ...input.groups]);
        const moves = !sameList(groups, m.movedGroups);
        if (!moves && sameList(groups, m.groups)) return undefined;
        if (!moves) return { next: { ...base, groups }, message: `admitted ${input.groups.join(', ')}`, details: {} };
        this.assertSettledGate(m, 'admit more groups');
        const gate = this.newGate(m.switchSeq + 1, parseTopicMode(m.from), parseTopicMode(m.to), input.offsets);
        return {
          next: { ...base, groups, movedGroups: groups, switchSeq: gate.seq, gates: [...m.gates, gate] },
          message: `switch ${gate.seq}: producer groups ${groups.join(', ')} now write by ${m.to} (into ${gate.cappedRooms.join(', ') || 'no other room'})`,
          details: { gate: gate.seq, cappedRooms: gate.cappedRooms, barrierRooms: gate.barrierRooms },
        };
      }
      case 'rollback': {
        if (m.switchSeq === 0) return { next: { ...base, paused: false, rollingBack: true, phase: 'rolled-back', gates: [] }, message: 'rolled back before any producer moved', details: {} };
        if (m.rollingBack) return undefined;
        this.assertSettledGate(m, 'roll back');
        const gate = this.newGate(m.switchSeq + 1, parseTopicMode(m.to), parseTopicMode(m.from), input.offsets);
        return {
          next: { ...base, paused: false, rollingBack: true, movedGroups: [], switchSeq: gate.seq, gates: [...m.gates, gate] },
          message: `rolling back: switch ${gate.seq} routes every producer by ${m.from} again (into ${gate.cappedRooms.join(', ') || 'no other room'})`,
          details: { gate: gate.seq, cappedRooms: gate.cappedRooms, barrierRooms: gate.barrierRooms },
        };
      }
      case 'barrier': {
        this.assertNotPaused(m, action);
        if (!last || last.seq !== input.gateSeq) throw failed(m, `gate ${input.gateSeq} is not the newest switch (${last?.seq ?? 'none'})`);
        if (last.barrier !== undefined) return undefined;
        const unsettled = (await this.clients.list(m.topic)).filter((c) => c.kind === 'producer' && c.settled < m.switchSeq);
        if (unsettled.length > 0) {
          throw new RoomqError('UNAVAILABLE', `producers of ${m.topic} still have messages of the old route in flight: ${unsettled.map((c) => c.clientId).join(', ')}; retry once they settled`, {
            retriable: true,
            details: { topic: m.topic, clients: unsettled.map((c) => c.clientId) },
          });
        }
        const barrier = offsetsInRooms(input.offsets, last.barrierRooms);
        this.assertCovers(m, last.barrierRooms, barrier, 'barrier');
        const gates = m.gates.map((g) => (g === last ? { ...g, barrier } : g));
        return { next: { ...base, gates }, message: `switch ${last.seq} settled: consumers drain ${last.barrierRooms.join(', ')} to the barrier before reading past the caps in ${last.cappedRooms.join(', ')}`, details: { gate: last.seq, barrier } };
      }
      case 'release': {
        this.assertNotPaused(m, action);
        const gate = m.gates.find((g) => g.seq === input.gateSeq);
        if (!gate) throw failed(m, `it has no gate ${input.gateSeq}`);
        if (gate.barrier === undefined) throw failed(m, `gate ${gate.seq} has no barrier yet (producers have not settled)`);
        const groups = input.groups.filter((g) => !gate.released.includes(g));
        if (groups.length === 0) return undefined;
        for (const g of groups) {
          if (!m.rollingBack && !isAdmitted(m.groups, g)) throw failed(m, `consumer group ${g} is not admitted; admit it first (roomq topic admit ${m.topic} --groups ${g})`);
          const earlier = m.gates.find((e) => e.seq < gate.seq && !e.released.includes(g));
          if (earlier) throw failed(m, `consumer group ${g} must be released from gate ${earlier.seq} first`);
        }
        const gates = m.gates.map((g) => (g === gate ? { ...g, released: uniqueSorted([...g.released, ...groups]) } : g));
        return { next: { ...base, gates }, message: `released ${groups.join(', ')} from gate ${gate.seq}: they drained ${gate.barrierRooms.join(', ')} to its barrier`, details: { gate: gate.seq, released: groups } };
      }
      case 'finish': {
        this.assertNotPaused(m, action);
        if (!m.rollingBack && !m.movedGroups.includes(ALL_GROUPS)) throw failed(m, `not every group is admitted yet (admitted: ${m.groups.join(', ')}); admit all with roomq topic admit ${m.topic} --groups '*'`);
        const pending = m.gates.filter((g) => g.barrier === undefined);
        if (pending.length > 0) throw failed(m, `switch ${pending[0]!.seq} has not settled`);
        const live = new Set((await this.clients.list(m.topic)).filter((c) => c.kind === 'consumer').map((c) => c.group));
        for (const g of m.gates) {
          const waiting = [...live].filter((c) => !g.released.includes(c));
          if (waiting.length > 0) throw failed(m, `consumer groups ${waiting.join(', ')} have not drained to the barrier of gate ${g.seq}`);
        }
        const done = m.rollingBack ? 'rolled-back' : 'done';
        return {
          next: { ...base, phase: done, paused: false, gates: [] },
          ...(m.rollingBack ? {} : { topicMode: parseTopicMode(m.to) }),
          message: m.rollingBack ? `rolled back: ${m.topic} stays ${m.from}` : `done: ${m.topic} is ${m.to}`,
          details: {},
        };
      }
      default:
        return undefined;
    }
  }

  /** Every room producers may run in: of live brokers, routers and the configuration. */
  private rooms(): Set<string> {
    const rooms = this.ctx.directory.knownRooms();
    for (const b of this.ctx.routable()) rooms.add(b.state.room);
    return rooms;
  }

  private newGate(seq: number, src: TopicMode, dst: TopicMode, offsets: QueueOffset[]): MigrationGate {
    const { cappedRooms, barrierRooms } = switchRooms(src, dst, this.rooms());
    const caps = offsetsInRooms(offsets, cappedRooms);
    this.assertCovers(undefined, cappedRooms, caps, 'cap');
    const gate: MigrationGate = { seq, cappedRooms, caps, barrierRooms, barrier: undefined, released: [], openedAtMs: Date.now() };
    return gate;
  }

  /** Offsets must name every queue the rooms serve now, or a queue would go ungated. */
  private assertCovers(m: TopicMigration | undefined, rooms: string[], offsets: QueueOffset[], what: string): void {
    const have = new Set(offsets.map((o) => o.broker));
    let served: string[] = [];
    try {
      // One queue per group is enough to learn which groups the rooms serve the topic from now.
      served = liveQueues(this.ctx, { name: m?.topic ?? 'x', queuesPerBroker: 1, mode: { kind: 'active-active' }, createdAtMs: 0, version: 0 })
        .filter((q) => rooms.includes(q.room))
        .map((q) => q.brokerName);
    } catch {
      return;
    }
    const missing = [...new Set(served)].filter((b) => !have.has(b));
    if (missing.length === 0) return;
    const why = `the ${what} offsets name no queue of broker groups ${missing.join(', ')}; read every queue's end offset and retry`;
    if (!m) throw new RoomqError('BAD_REQUEST', why, { details: { field: 'offsets' } });
    throw failed(m, why);
  }

  private assertNotPaused(m: TopicMigration, action: string): void {
    if (m.paused) throw failed(m, `it is paused; resume it first (roomq topic migrate ${m.topic} --resume) to ${action}`);
  }

  /** A new switch waits until the previous one settled: its barrier must lie before the next switch's caps. */
  private assertSettledGate(m: TopicMigration, what: string): void {
    const last = m.gates[m.gates.length - 1];
    if (last && last.barrier === undefined) {
      throw new RoomqError('UNAVAILABLE', `cannot ${what} of ${m.topic} yet: switch ${last.seq} has not settled (producers still send by the old route); retry in a moment`, {
        retriable: true,
        details: { topic: m.topic, gate: last.seq },
      });
    }
  }

  private checkTargetWritable(topic: TopicConfig, to: TopicMode): void {
    if (to.kind !== 'home') return;
    const queues = liveQueues(this.ctx, topic);
    if (!queues.some((q) => q.room === to.room && q.permission === 'READ_WRITE')) {
      throw new RoomqError('BAD_REQUEST', `room ${to.room} has no writable master serving ${topic.name}; start or restore its brokers before migrating to home:${to.room}`, {
        details: { topic: topic.name, room: to.room },
      });
    }
  }
}

interface Plan {
  next: Omit<TopicMigration, 'version' | 'changedAtMs' | 'changedBy' | 'reason'>;
  topicMode?: TopicMode;
  message: string;
  details: Record<string, unknown>;
}

function requireActive(m: TopicMigration | undefined, topic: string, action: string): TopicMigration {
  if (!isActiveMigration(m)) {
    const last = m as TopicMigration | undefined;
    throw new RoomqError('BAD_REQUEST', `topic ${topic} is not migrating${last ? ` (its last migration is ${last.phase})` : ''}; start one with roomq topic migrate ${topic} --to MODE before ${action}`, {
      details: { topic, field: 'action' },
    });
  }
  return m;
}

function failed(m: TopicMigration, why: string): RoomqError {
  return new RoomqError('BAD_REQUEST', `migration of ${m.topic} (phase ${m.phase}): ${why}`, { details: { topic: m.topic, phase: m.phase } });
}

function uniqueSorted(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export { MIGRATION_CLIENTS_PREFIX };
