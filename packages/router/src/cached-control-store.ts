import { RoomqError, type TopicMode } from '@roomq/protocol';
import type { Logger } from 'pino';
import { compareText, diffControlStates, emptyControlState, listMembersOf, listRoutersOf, type ControlState } from './control-state.js';
import type {
  AuditEntry,
  ControlChange,
  ControlStore,
  ControlTransition,
  ControlTransitionOutcome,
  CreateTopicOutcome,
  GroupControl,
  GroupMember,
  MigrationChange,
  MigrationChangeOutcome,
  NewTopic,
  RoomControl,
  RouterRecord,
  StoreHealth,
  TopicConfig,
  TopicMigration,
} from './control-store.js';
import { cloneMigration } from './migration-transition.js';

type Status = 'closed' | 'opening' | 'open' | 'closing';

/**
 * What every ControlStore serving reads from a local cache has in common: the cached state and the reads on it,
 * the listeners, health, and the open/close lifecycle. A backend supplies loading and releasing, the writes, and
 * the read past the cache on a miss.
 *
 * Health and status change only here, and every health transition is logged once. Once open, the file and Redis
 * stores change `state` through replaceState() so listeners hear each difference (a wholesale reload after an
 * outage is followed by `reload` instead); the memory store, whose cache is its backend, emits its own events.
 */
export abstract class CachedControlStore implements ControlStore {
  abstract readonly description: string;
  protected abstract readonly logger: Logger;
  /** How often refresh() runs while open; undefined when the backend has nothing to poll. */
  protected abstract readonly refreshIntervalMs: number | undefined;
  protected state: ControlState = emptyControlState();
  /** Work that replaces part of the cache runs in this chain, so an older read never overwrites a newer one. */
  private chain: Promise<unknown> = Promise.resolve();
  private status: Status = 'closed';
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private healthValue: StoreHealth = { state: 'healthy' };
  private readonly listeners = new Set<(change: ControlChange) => void>();

  /** Loads or connects and fills `state`; throws a RoomqError saying what to fix when the state cannot be read. */
  protected abstract load(): Promise<void>;
  /** Frees what load() took. Runs after a failed load, and on close once the chain has drained. */
  protected abstract release(): void;
  /** Runs every refreshIntervalMs while open: picks up other processes' changes and retries after an outage. */
  protected abstract refresh(): void;
  /** One topic as the backend holds it now, past the cache; undefined when absent or unreadable (never throws). */
  protected abstract readTopic(name: string): Promise<TopicConfig | undefined>;
  /** The error that refuses a change while degraded; `reason` is the health's. */
  protected abstract unavailableError(reason: string): RoomqError;

  abstract createTopicIfAbsent(topic: NewTopic): Promise<CreateTopicOutcome>;
  abstract setTopicMode(name: string, mode: TopicMode, expectedVersion: number): Promise<TopicConfig>;
  abstract heartbeatRouter(router: RouterRecord): Promise<void>;
  abstract publishMembers(router: string, group: string, members: GroupMember[]): Promise<void>;
  abstract applyControl(change: ControlTransition): Promise<ControlTransitionOutcome>;
  abstract applyMigration(change: MigrationChange): Promise<MigrationChangeOutcome>;

  open(): Promise<void> {
    if (this.status === 'open') return Promise.resolve();
    if (this.opening) return this.opening;
    if (this.status === 'closing') return Promise.reject(new RoomqError('CLOSED', `the control store ${this.subject} is closing`));
    this.setStatus('opening');
    this.opening = this.load().then(
      () => {
        this.opening = undefined;
        this.setStatus('open');
        if (this.refreshIntervalMs === undefined) return;
        this.refreshTimer = setInterval(() => this.refresh(), this.refreshIntervalMs);
        this.refreshTimer.unref();
      },
      (err: unknown) => {
        this.opening = undefined;
        this.release();
        this.setStatus('closed');
        throw err;
      },
    );
    return this.opening;
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.status === 'closed') return Promise.resolve();
    this.closing = (async () => {
      await this.opening?.catch(() => undefined);
      this.setStatus('closing');
      if (this.refreshTimer) clearInterval(this.refreshTimer);
      this.refreshTimer = undefined;
      await this.chain.catch(() => undefined);
      this.release();
      this.setStatus('closed');
    })().finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }

  health(): StoreHealth {
    return this.healthValue;
  }

  onChange(listener: (change: ControlChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async getTopic(name: string): Promise<TopicConfig | undefined> {
    this.assertOpen();
    const topic = this.state.topics.get(name);
    return topic && { ...topic };
  }

  async lookupTopic(name: string): Promise<TopicConfig | undefined> {
    const cached = await this.getTopic(name);
    if (cached || this.isDegraded()) return cached;
    return this.readTopic(name);
  }

  async listTopics(): Promise<TopicConfig[]> {
    this.assertOpen();
    return [...this.state.topics.values()].map((t) => ({ ...t })).sort((a, b) => compareText(a.name, b.name));
  }

  async listRouters(maxAgeMs: number): Promise<RouterRecord[]> {
    this.assertOpen();
    return listRoutersOf(this.state, maxAgeMs, Date.now());
  }

  async listMembers(group: string, maxAgeMs: number): Promise<GroupMember[]> {
    this.assertOpen();
    return listMembersOf(this.state, group, maxAgeMs, Date.now());
  }

  async listRooms(): Promise<RoomControl[]> {
    this.assertOpen();
    return [...this.state.rooms.values()].map((r) => ({ ...r })).sort((a, b) => compareText(a.room, b.room));
  }

  async listGroups(): Promise<GroupControl[]> {
    this.assertOpen();
    return [...this.state.groups.values()].map((g) => ({ ...g })).sort((a, b) => compareText(a.group, b.group));
  }

  async listAudit(limit: number): Promise<AuditEntry[]> {
    this.assertOpen();
    const count = Math.max(0, Math.floor(limit));
    if (count === 0) return [];
    return this.state.audit
      .slice(-count)
      .reverse()
      .map((e) => ({ ...e, details: { ...e.details } }));
  }

  async getMigration(topic: string): Promise<TopicMigration | undefined> {
    this.assertOpen();
    const m = this.state.migrations.get(topic);
    return m && cloneMigration(m);
  }

  async listMigrations(): Promise<TopicMigration[]> {
    this.assertOpen();
    return [...this.state.migrations.values()].map(cloneMigration).sort((a, b) => compareText(a.topic, b.topic));
  }

  /** How the store names itself in CLOSED errors. */
  protected get subject(): string {
    return `(${this.description})`;
  }

  protected isOpen(): boolean {
    return this.status === 'open';
  }

  protected isDegraded(): boolean {
    return this.healthValue.state === 'degraded';
  }

  /** For load(): the state is about to be read afresh, so an outage from before close() no longer applies. */
  protected forgetOutage(): void {
    this.healthValue = { state: 'healthy' };
  }

  /** Heartbeats and member reports are dropped rather than refused when this is false. */
  protected acceptsReports(): boolean {
    return this.isOpen() && !this.isDegraded();
  }

  /** Keeps the start of an outage when it is already degraded; only the reason moves on. */
  protected degrade(reason: string): void {
    if (this.healthValue.state === 'degraded') {
      this.healthValue = { ...this.healthValue, reason };
      return;
    }
    this.healthValue = { state: 'degraded', reason, sinceMs: Date.now() };
    this.logger.warn({ reason }, 'control store degraded: serving the last known state, refusing changes');
  }

  /** Listeners get `reload`: anything may have changed while the store could not tell them. */
  protected recover(message = 'control store healthy again'): void {
    if (this.healthValue.state !== 'degraded') return;
    this.logger.info({ degradedMs: Date.now() - this.healthValue.sinceMs }, message);
    this.healthValue = { state: 'healthy' };
    this.emit({ kind: 'reload' });
  }

  protected serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Swaps the cache for `next` and tells listeners what differs. */
  protected replaceState(next: ControlState): void {
    const previous = this.state;
    this.state = next;
    for (const change of diffControlStates(previous, next)) this.emit(change);
  }

  /** A failing listener must not stop the others nor fail the write that caused the change. */
  protected emit(change: ControlChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.logger.error({ err, change }, 'control change listener failed');
      }
    }
  }

  protected assertOpen(): void {
    if (this.status !== 'open') throw new RoomqError('CLOSED', `the control store ${this.subject} is not open; the router is not running`);
  }

  protected assertWritable(): void {
    this.assertOpen();
    if (this.healthValue.state === 'degraded') throw this.unavailableError(this.healthValue.reason);
  }

  private setStatus(status: Status): void {
    if (this.status === status) return;
    this.logger.debug({ from: this.status, to: status }, 'control store status');
    this.status = status;
  }
}
