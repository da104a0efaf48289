import type { Socket } from 'node:net';
import { RoomqError, SILENT_LOGGER, parseConfig, type SniffedProtocol } from '@roomq/protocol';
import { z } from 'zod';
import type { MemberProgress, ProgressSource } from './member-progress.js';
import { mergeOffsetCommits, type OffsetCommit } from './offset-commit.js';
import { loggerSchema, nameSchema, replicaLogSchema } from './options.js';
import { REPLICATION_PREFACE } from './replication-frames.js';
import { UpstreamSession, type ReplicateCall } from './upstream-session.js';
import { UpstreamSocketCall } from './upstream-socket-call.js';

/** Default most bytes per LogChunk (a single record bigger than this still travels alone). */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** Default pause after which a caught-up stream gets an empty chunk, so the replica knows the link is alive. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
/** Default time a new stream has to send its ReplicaHello. */
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000;

export const upstreamServerOptionsSchema = z.object({
  /** This member's log; the broker passes its MessageStore. */
  log: replicaLogSchema,
  /** Broker group, e.g. `broker-a`; replicas of another group are refused. */
  group: nameSchema,
  /** This member's name, e.g. `broker-a/0@dc1`. */
  member: nameSchema,
  room: nameSchema,
  logger: loggerSchema.default(SILENT_LOGGER),
  chunkBytes: z.number().int().min(1024).default(DEFAULT_CHUNK_BYTES),
  heartbeatIntervalMs: z.number().int().positive().default(DEFAULT_HEARTBEAT_INTERVAL_MS),
  helloTimeoutMs: z.number().int().positive().default(DEFAULT_HELLO_TIMEOUT_MS),
});

export type UpstreamServerOptions = z.input<typeof upstreamServerOptionsSchema>;

/**
 * The serving side of chain replication, run by the master and by every replica that has a downstream:
 * the ReplicationService handlers the broker adds to its gRPC server. It streams this member's durable log
 * to each connected replica and collects the progress they report (each report lists a replica and every
 * member behind it), so the master knows how far the whole chain holds the log.
 */
export class UpstreamServer implements ProgressSource {
  private readonly options: z.output<typeof upstreamServerOptionsSchema>;
  private readonly logger;
  private readonly sessions = new Set<UpstreamSession>();
  private readonly reported = new Map<string, MemberProgress>();
  private readonly listeners = new Set<(progress: MemberProgress[]) => void>();
  /** Offsets each connected replica forwarded in its latest report. */
  private readonly forwarded = new Map<UpstreamSession, OffsetCommit[]>();
  private readonly offsetListeners = new Set<(offsets: OffsetCommit[], from: string) => void>();
  private closing: Promise<void> | undefined;

  constructor(options: UpstreamServerOptions) {
    this.options = parseConfig(upstreamServerOptionsSchema, options, 'invalid UpstreamServer options');
    const { group, member, room } = this.options;
    this.logger = this.options.logger.child({ component: 'replication-upstream', group, broker: member, room });
  }

  /**
   * Replication as a protocol of the broker's port (listenSniffing): connections that open with the
   * replication preface are served here (replication-frames.ts).
   */
  protocol(): SniffedProtocol {
    return { preface: REPLICATION_PREFACE, accept: (socket, rest) => this.acceptSocket(socket, rest) };
  }

  /** Serves one replica connection whose preface was read; `rest` holds the bytes after it. */
  acceptSocket(socket: Socket, rest: Buffer): void {
    void this.serve(new UpstreamSocketCall(socket, rest));
  }

  /** This member first, then every downstream member from its latest report (chain order as reported). */
  progress(): MemberProgress[] {
    const { log, member, room } = this.options;
    return [{ member, room, durableOffset: log.durableOffset(), logEndOffset: log.logEndOffset(), reportedAtMs: Date.now() }, ...this.downstreamProgress()];
  }

  /** Every downstream member's latest report; what a middle member forwards up the chain. */
  downstreamProgress(): MemberProgress[] {
    return [...this.reported.values()];
  }

  /** Called after every progress report from a downstream replica; returns the unsubscribe function. */
  onProgress(listener: (progress: MemberProgress[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Consumer offsets forwarded by the connected replicas (committed at them or behind them), merged to the
   * highest per queue: what a middle member forwards up the chain.
   */
  downstreamOffsets(): OffsetCommit[] {
    return mergeOffsetCommits(...this.forwarded.values());
  }

  /**
   * Called with the offsets of every report that carries some, and the replica that sent it; the master
   * applies them to its log (max semantics). Returns the unsubscribe function.
   */
  onOffsetCommits(listener: (offsets: OffsetCommit[], from: string) => void): () => void {
    this.offsetListeners.add(listener);
    return () => this.offsetListeners.delete(listener);
  }

  /** Number of replicas streaming from this member now. */
  connectedReplicas(): number {
    return this.sessions.size;
  }

  /**
   * Ends every open stream; the replicas reconnect and go through the handshake again. Used when this member's
   * log is about to change under them (it is cut back on rejoin) or its role changes.
   */
  restartSessions(reason: string): void {
    for (const session of this.sessions) session.stop(reason);
  }

  /** Ends every stream (the replicas reconnect later) and refuses new ones. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const session of this.sessions) session.stop('the broker is closing');
      this.listeners.clear();
      this.offsetListeners.clear();
      this.logger.info({}, 'replication upstream closed');
    })();
    return this.closing;
  }

  private async serve(call: ReplicateCall): Promise<void> {
    if (this.closing) {
      call.emit('error', new RoomqError('UNAVAILABLE', `${this.options.member} is closing; replicate from it once it is back`));
      return;
    }
    const session = new UpstreamSession(call, {
      log: this.options.log,
      group: this.options.group,
      member: this.options.member,
      chunkBytes: this.options.chunkBytes,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      helloTimeoutMs: this.options.helloTimeoutMs,
      logger: this.logger,
      onProgress: (members) => this.record(members),
      onOffsets: (from, offsets) => this.recordOffsets(from, offsets),
    });
    this.sessions.add(session);
    try {
      await session.run();
    } finally {
      this.sessions.delete(session);
      // The replica keeps its offsets durably and sends them again when it reconnects.
      this.forwarded.delete(session);
    }
  }

  private recordOffsets(session: UpstreamSession, offsets: OffsetCommit[]): void {
    if (offsets.length === 0) {
      this.forwarded.delete(session);
      return;
    }
    this.forwarded.set(session, offsets);
    const from = session.replica();
    for (const listener of this.offsetListeners) {
      try {
        listener(offsets, from);
      } catch (err) {
        this.logger.error({ err }, 'offset listener threw');
      }
    }
  }

  private record(members: MemberProgress[]): void {
    // The latest report about a member wins, also when it goes backwards (a member cut back after a promotion).
    for (const m of members) if (m.member !== this.options.member && m.member !== '') this.reported.set(m.member, m);
    const progress = this.progress();
    for (const listener of this.listeners) {
      try {
        listener(progress);
      } catch (err) {
        this.logger.error({ err }, 'progress listener threw');
      }
    }
  }
}
