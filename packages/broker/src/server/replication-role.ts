import type { Logger } from 'pino';
import { ReplicaFollower, SyncGate, UpstreamServer, parseReplicationMode, type MemberProgress, type ReplicationMode, type TruncateOrder } from '@roomq/replicator';
import type { ReplicaLagMsg, SniffedProtocol } from '@roomq/protocol';
import type { MessageStore } from '../store/index.js';
import { brokerName, type BrokerConfig } from './broker-config.js';
import { readLogRange } from './log-range.js';
import type { Quarantine } from './quarantine.js';

/**
 * This member's part in its group's replication. Every member serves its log to whoever follows it
 * (UpstreamServer). A follower copies from one upstream (ReplicaFollower) and passes its downstream's progress
 * up, so the leader sees every member; a leader in `sync:N` acknowledges a write once the first N members of its
 * chain hold it. Which of the two a member is, and whom it follows, changes at run time (leadership.ts): after a
 * room cut an acting master leads and the others follow it; after failback the configured chain returns.
 */
export class ReplicationRole {
  readonly upstreamServer: UpstreamServer;
  private follower: ReplicaFollower | undefined;
  private following: string | undefined;
  private gate: SyncGate | undefined;
  private chain: string[] = [];
  private readonly modeSpec: ReplicationMode;
  readonly mode: string;
  private readonly startedAtMs = Date.now();

  constructor(
    private readonly config: BrokerConfig,
    private readonly store: MessageStore,
    private readonly quarantine: Quarantine,
    private readonly logger: Logger,
  ) {
    const member = brokerName(config);
    this.modeSpec = parseReplicationMode(config.replicationMode, 'replicationMode');
    this.mode = config.replicationMode;
    this.upstreamServer = new UpstreamServer({ log: store, group: config.group, member, room: config.room, logger: logger.child({ component: 'replication-upstream' }) });
    // In sync:N with N ≥ 2 the leader's gate may wait for a member behind this one: its progress travels up at
    // once. Otherwise it rides with this member's own reports (one per durable append, and one each
    // progressIntervalMs): under load that is as soon, and the upstream is not woken once more per report.
    if (this.modeSpec.kind === 'sync' && this.modeSpec.replicas >= 2) this.upstreamServer.onProgress(() => this.follower?.reportProgress());
    // Offsets committed at replicas while this member did not lead: applied (max semantics) once it leads.
    this.upstreamServer.onOffsetCommits((offsets, from) => {
      if (this.store.role !== 'master') return;
      store.applyForwardedOffsets(offsets).catch((err: unknown) => logger.warn({ err, replica: from }, 'could not apply offsets forwarded by a replica; it sends them again'));
    });
  }

  /** Replication as a protocol of the broker's port (listenSniffing). */
  protocol(): SniffedProtocol {
    return this.upstreamServer.protocol();
  }

  /** The upstream this member copies from now, if it follows. */
  get upstream(): string | undefined {
    return this.following;
  }

  /**
   * Takes the group's writes: stops following, makes the store a master and waits in sync:N for the first N of
   * `chain` (fewer when the chain is shorter: an acting master whose other members are all in a cut room
   * acknowledges on its own disk, and says so).
   */
  async lead(chain: string[]): Promise<void> {
    await this.stopFollowing();
    this.store.setRole('master');
    this.gate?.close();
    this.gate = undefined;
    this.store.holdVisibilityForReplication(false);
    this.setChain(chain);
  }

  /** Changes the members a leader's sync:N writes wait for, keeping writes already waiting. */
  setChain(chain: string[]): void {
    this.chain = [...chain];
    if (this.modeSpec.kind !== 'sync') return;
    const replicas = Math.min(this.modeSpec.replicas, chain.length);
    if (replicas < this.modeSpec.replicas) {
      this.logger.warn({ mode: this.mode, chain }, `only ${chain.length} member(s) outside cut rooms: writes wait for ${replicas} replica(s) until the group is whole again`);
    }
    if (this.gate) {
      // Writes already waiting keep waiting for the new set, or go through when it is empty (all cut).
      this.gate.reconfigure(chain, replicas);
    } else if (replicas > 0) {
      this.gate = new SyncGate({ group: this.config.group, replicas, chain, source: this.upstreamServer, logger: this.logger.child({ component: 'sync-gate' }) });
      // Consumers see what the mode acknowledges: only what the replicas hold.
      this.store.holdVisibilityForReplication(true);
      this.gate.onSynced((offset) => this.store.replicatedTo(offset));
      this.store.replicatedTo(this.gate.syncedOffset());
    }
  }

  /**
   * Copies the log from `upstream` (restarting the stream when it changes); `direct` when the upstream is the
   * leader itself. Progress goes up after every durable append only where a sync write may wait for it: sync
   * mode, following the leader directly or sync:N with N ≥ 2. Elsewhere (async, the second replica of a sync:1
   * chain, whose log never runs ahead of the first's) it goes every progressIntervalMs.
   */
  async follow(upstream: string, direct = true): Promise<void> {
    const promptReports = this.modeSpec.kind === 'sync' && (direct || this.modeSpec.replicas >= 2);
    this.gate?.close();
    this.gate = undefined;
    this.chain = [];
    this.store.setRole('replica');
    if (this.follower && this.following === upstream) {
      this.follower.setPromptReports(promptReports);
      return;
    }
    await this.stopFollowing();
    const member = brokerName(this.config);
    this.following = upstream;
    this.follower = new ReplicaFollower({
      log: this.store,
      group: this.config.group,
      member,
      room: this.config.room,
      upstream,
      logger: this.logger.child({ component: 'replica-follower', upstream }),
      promptReports,
      downstreamProgress: () => this.upstreamServer.downstreamProgress(),
      // Offsets consumers committed here (the store's overlay) or behind us travel up with every report until
      // the leader's OFFSET_COMMIT records replicate back.
      offsetCommits: () => [...this.store.overlayOffsets(), ...this.upstreamServer.downstreamOffsets()],
      truncate: (order) => this.truncate(order),
    });
    await this.follower.start();
  }

  /** Stops following without leading (the leader is not known yet). */
  async stopFollowing(): Promise<void> {
    const follower = this.follower;
    this.follower = undefined;
    this.following = undefined;
    await follower?.close();
  }

  /** Keeps the bytes the new epoch does not hold in quarantine, durably, then cuts the log back. */
  private async truncate(order: TruncateOrder): Promise<void> {
    const end = this.store.logEndOffset();
    if (order.offset >= end) return;
    const bytes = await readLogRange(this.store, order.offset, end);
    await this.quarantine.save(order.offset, end, bytes, order);
    // Members downstream of this one may hold the same bytes: they must handshake again after the cut.
    this.upstreamServer.restartSessions(`${brokerName(this.config)} is cutting its log back to ${order.offset}`);
    await this.store.truncate(order.offset);
  }

  /** Resolves once the first N replicas hold the log up to `endOffset` (sync:N); at once in async mode. */
  async replicated(endOffset: number): Promise<void> {
    if (this.gate) await this.gate.waitFor(endOffset, this.config.replicationTimeoutMs);
  }

  /** This member and every member downstream, for heartbeats and `roomq cluster status`. */
  lagView(): ReplicaLagMsg[] {
    const end = this.store.logEndOffset();
    const own: ReplicaLagMsg[] = [];
    if (this.follower) {
      const lag = this.follower.lag();
      const status = this.follower.status();
      own.push({ member: brokerName(this.config), room: this.config.room, durable_offset: this.store.durableOffset(), lag_bytes: lag.bytes, lag_ms: lag.ms, status, reason: status === 'connecting' || status === 'diverged' ? (this.follower.statusReason() ?? '') : '' });
    }
    const downstream: MemberProgress[] = this.upstreamServer.downstreamProgress();
    const now = Date.now();
    const tail = downstream.map((p) => ({
      member: p.member,
      room: p.room,
      durable_offset: p.durableOffset,
      lag_bytes: Math.max(0, end - p.durableOffset),
      lag_ms: p.durableOffset >= end ? 0 : Math.max(0, now - p.reportedAtMs),
      status: p.durableOffset >= end ? 'caught-up' : 'streaming',
    }));
    // A member of the leader's chain that never reported is as far behind as the whole log: say so, not omit it.
    for (const member of this.store.role === 'master' ? this.chain : []) {
      if (tail.some((t) => t.member === member)) continue;
      tail.push({ member, room: member.split('@')[1] ?? '', durable_offset: 0, lag_bytes: end, lag_ms: end > 0 ? now - this.startedAtMs : 0, status: 'not connected' });
    }
    return [...own, ...tail];
  }

  async close(): Promise<void> {
    this.gate?.close();
    await this.follower?.close();
    await this.upstreamServer.close();
  }
}
