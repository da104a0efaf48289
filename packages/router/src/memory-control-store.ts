import { RoomqError, type TopicMode } from '@roomq/protocol';
import { pino } from 'pino';
import { CachedControlStore } from './cached-control-store.js';
import { copyControlState } from './control-state.js';
import type { ControlTransition, ControlTransitionOutcome, CreateTopicOutcome, GroupMember, MigrationChange, MigrationChangeOutcome, NewTopic, RouterRecord, TopicConfig } from './control-store.js';
import { applyMigrationTransition } from './migration-transition.js';
import { applyTransition } from './control-transition.js';

/**
 * A ControlStore in memory, for unit tests. Its state outlives close()/open(), like a file would. Tests may
 * share one instance between two routers to stand for a shared store, and flip `degraded` to simulate an
 * unreachable backend.
 *
 * The cache is the backend here, so there is nothing to load, poll or read past it.
 */
export class MemoryControlStore extends CachedControlStore {
  readonly description = 'memory';
  protected readonly logger = pino({ level: 'silent' });
  protected readonly refreshIntervalMs = undefined;

  /** Test hook: pretend the backend became unreachable (reason) or came back (undefined). */
  setDegraded(reason: string | undefined): void {
    if (reason === undefined) this.recover();
    else this.degrade(reason);
  }

  async createTopicIfAbsent(topic: NewTopic): Promise<CreateTopicOutcome> {
    this.assertWritable();
    const existing = this.state.topics.get(topic.name);
    if (existing) return { created: false, topic: { ...existing } };
    const stored: TopicConfig = { ...topic, version: 1 };
    this.state.topics.set(topic.name, stored);
    this.emit({ kind: 'topic', topic: topic.name });
    return { created: true, topic: { ...stored } };
  }

  async setTopicMode(name: string, mode: TopicMode, expectedVersion: number): Promise<TopicConfig> {
    this.assertWritable();
    const existing = this.state.topics.get(name);
    if (!existing) throw new RoomqError('TOPIC_NOT_FOUND', `topic ${name} does not exist`, { details: { topic: name } });
    if (existing.version !== expectedVersion) {
      throw new RoomqError('VERSION_CONFLICT', `topic ${name} changed meanwhile (version ${existing.version}, expected ${expectedVersion}); read it again and retry`, {
        details: { topic: name, currentVersion: existing.version },
      });
    }
    const updated: TopicConfig = { ...existing, mode, version: existing.version + 1 };
    this.state.topics.set(name, updated);
    this.emit({ kind: 'topic', topic: name });
    return { ...updated };
  }

  async applyControl(change: ControlTransition): Promise<ControlTransitionOutcome> {
    this.assertWritable();
    const draft = copyControlState(this.state);
    const outcome = applyTransition(draft, change, Date.now());
    this.replaceState(draft);
    return outcome;
  }

  async applyMigration(change: MigrationChange): Promise<MigrationChangeOutcome> {
    this.assertWritable();
    const draft = copyControlState(this.state);
    const outcome = applyMigrationTransition(draft, change, Date.now());
    this.replaceState(draft);
    return outcome;
  }

  async heartbeatRouter(router: RouterRecord): Promise<void> {
    if (this.isDegraded()) return;
    const known = this.state.routers.has(router.name);
    this.state.routers.set(router.name, { ...router });
    if (!known) this.emit({ kind: 'routers' });
  }

  async publishMembers(router: string, group: string, members: GroupMember[]): Promise<void> {
    if (this.isDegraded()) return;
    const byRouter = this.state.members.get(group) ?? new Map<string, GroupMember[]>();
    const before = (byRouter.get(router) ?? []).map((m) => m.clientId).sort().join('\n');
    byRouter.set(router, members.map((m) => ({ ...m })));
    this.state.members.set(group, byRouter);
    const after = members.map((m) => m.clientId).sort().join('\n');
    if (before !== after) this.emit({ kind: 'members', group });
  }

  protected async load(): Promise<void> {}

  protected release(): void {}

  protected refresh(): void {}

  protected async readTopic(): Promise<TopicConfig | undefined> {
    return undefined;
  }

  protected unavailableError(reason: string): RoomqError {
    return new RoomqError('UNAVAILABLE', `control store unreachable (${reason}); the router serves the last known state and refuses changes until it is back`);
  }
}
