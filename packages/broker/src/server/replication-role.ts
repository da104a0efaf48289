import type { Logger } from 'pino';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ReplicaFollower, SyncGate, UpstreamServer, parseReplicationMode, type MemberProgress } from '@roomq/replicator';
import type { ReplicaLagMsg } from '@roomq/protocol';
import type { MessageStore } from '../store/index.js';
import { brokerName, type BrokerConfig } from './broker-config.js';

/**
 * This member's part in its group's chain. Every member serves its log to the member after it (UpstreamServer);
 * a slave also copies from the member before it (ReplicaFollower) and passes its downstream's progress up, so
 * the master sees every member; in `sync:N` the master acknowledges a write once the first N replicas hold it.
 */
export class ReplicationRole {
  readonly upstreamServer: UpstreamServer;
  private readonly follower: ReplicaFollower | undefined;
  private readonly gate: SyncGate | undefined;
  readonly mode: string;
  private readonly startedAtMs = Date.now();

  constructor(
    private readonly config: BrokerConfig,
    private readonly store: MessageStore,
    private readonly logger: Logger,
  ) {
    const member = brokerName(config);
    const mode = parseReplicationMode(config.replicationMode, 'replicationMode');
    this.mode = config.replicationMode;
    this.upstreamServer = new UpstreamServer({ log: store, group: config.group, member, room: config.room, logger: logger.child({ component: 'replication-upstream' }) });
    if (config.role === 'slave') {
      store.setRole('replica');
      this.follower = new ReplicaFollower({
        log: store,
        group: config.group,
        member,
        room: config.room,
        upstream: config.upstream!,
        logger: logger.child({ component: 'replica-follower', upstream: config.upstream }),
        downstreamProgress: () => this.upstreamServer.downstreamProgress(),
        // Offsets consumers committed here (the store's overlay) or behind us travel up with every report until
        // the master's OFFSET_COMMIT records replicate back.
        offsetCommits: () => [...store.overlayOffsets(), ...this.upstreamServer.downstreamOffsets()],
      });
      // The tail's progress travels up at once, so the master's sync gate is not held by a timer.
      this.upstreamServer.onProgress(() => this.follower?.reportProgress());
    } else {
      // Offsets committed at replicas while this master was away: applied (max semantics) on the first report.
      this.upstreamServer.onOffsetCommits((offsets, from) => {
        store.applyForwardedOffsets(offsets).catch((err: unknown) => logger.warn({ err, replica: from }, 'could not apply offsets forwarded by a replica; it sends them again'));
      });
    }
    if (config.role !== 'slave' && mode.kind === 'sync') {
      this.gate = new SyncGate({ group: config.group, replicas: mode.replicas, chain: config.chain, source: this.upstreamServer, logger: logger.child({ component: 'sync-gate' }) });
    }
  }

  handlers(): UntypedServiceImplementation {
    return this.upstreamServer.handlers();
  }

  async start(): Promise<void> {
    await this.follower?.start();
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
      own.push({ member: brokerName(this.config), room: this.config.room, durable_offset: this.store.durableOffset(), lag_bytes: lag.bytes, lag_ms: lag.ms, status: this.follower.status() });
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
    // A configured member that never reported is as far behind as the whole log: say so rather than omit it.
    for (const member of this.config.role === 'master' ? this.config.chain : []) {
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
