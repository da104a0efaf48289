import {
  DEFAULT_BACKOFF,
  RoomqError,
  SILENT_LOGGER,
  backoffDelayMs,
  fromWireStatus,
  parseConfig,
  sleep,
  toRoomqError,
  type Logger,
} from '@roomq/protocol';
import { z } from 'zod';
import { chunkTail } from './log-chunk.js';
import { nextRecordOffset, resumeOffset } from './log-position.js';
import type { MemberProgress } from './member-progress.js';
import { mergeOffsetCommits, type OffsetCommit } from './offset-commit.js';
import { endpointSchema, loggerSchema, nameSchema, replicaLogSchema } from './options.js';
import {
  chunkFromWire,
  helloToWire,
  progressToWire,
  truncateFromWire,
  type LogChunk,
  type TruncateOrder,
  type WireUpstreamMessage,
} from './replication-wire.js';
import { ReplicaSocketStream } from './replica-socket-stream.js';
/** Chunks appended ahead of their durability; bounds memory when the disk is slower than the link. */
const MAX_PIPELINED_CHUNKS = 64;

/** Default interval of progress reports to the upstream (one is also sent after every durable append). */
export const DEFAULT_PROGRESS_INTERVAL_MS = 100;
/**
 * Default time without any message from the upstream after which the stream is presumed dead and reopened.
 * The upstream sends an empty chunk at least every heartbeat interval (1 s by default) while caught up.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 5_000;

const backoffSchema = z
  .object({
    initialDelayMs: z.number().int().positive().default(DEFAULT_BACKOFF.initialDelayMs),
    maxDelayMs: z.number().int().positive().default(DEFAULT_BACKOFF.maxDelayMs),
    multiplier: z.number().min(1).default(DEFAULT_BACKOFF.multiplier),
    jitter: z.number().min(0).max(1).default(DEFAULT_BACKOFF.jitter),
  })
  .default(DEFAULT_BACKOFF);

export const replicaFollowerOptionsSchema = z.object({
  /** This member's log; the broker passes its MessageStore. */
  log: replicaLogSchema,
  group: nameSchema,
  /** This member's name, e.g. `broker-a/1@dc2`. */
  member: nameSchema,
  room: nameSchema,
  /** The member before this one in the chain, `host:port` of its gRPC server. */
  upstream: endpointSchema,
  logger: loggerSchema.default(SILENT_LOGGER),
  /** Pacing of reconnects after errors and stream ends. */
  reconnectBackoff: backoffSchema,
  progressIntervalMs: z.number().int().positive().default(DEFAULT_PROGRESS_INTERVAL_MS),
  /**
   * Report after every durable append (true), or only every progressIntervalMs (false): for a member whose
   * progress no sync write waits for (async mode, or the second replica of a sync:1 chain), where a report per
   * flush group would cost it, each member above it and the link between them a message for nothing.
   */
  promptReports: z.boolean().default(true),
  idleTimeoutMs: z.number().int().positive().default(DEFAULT_IDLE_TIMEOUT_MS),
  /**
   * Progress of the members downstream of this one (a middle member passes its UpstreamServer's
   * `downstreamProgress`), forwarded up the chain in every report. Entries naming this member are ignored.
   */
  downstreamProgress: z.custom<() => MemberProgress[]>((value) => typeof value === 'function', 'expected a function returning MemberProgress[]').default(() => () => []),
  /**
   * Consumer offsets to forward up the chain in every report, until the upstream's log brings them back: the
   * broker passes its store's overlay entries (offsets committed here while a replica) and, on a middle member,
   * its UpstreamServer's `downstreamOffsets()`. Entries for the same queue merge to the highest.
   */
  offsetCommits: z.custom<() => OffsetCommit[]>((value) => typeof value === 'function', 'expected a function returning OffsetCommit[]').default(() => () => []),
  /**
   * Carries out the upstream's order to cut this log back (after a promotion replaced the epoch the log ends
   * in). The broker keeps the cut bytes in quarantine before truncating; the default only truncates.
   */
  truncate: z
    .custom<(order: TruncateOrder) => Promise<void>>((value) => typeof value === 'function', 'expected a function (order) => Promise<void>')
    .optional(),
});

export type ReplicaFollowerOptions = z.input<typeof replicaFollowerOptionsSchema>;

/**
 * - `connecting`: opening a stream to the upstream (also between reconnect attempts)
 * - `streaming`: receiving the log, behind the upstream
 * - `caught-up`: holds everything the upstream had durable when it sent the latest chunk
 * - `diverged`: the upstream refused this log (different bytes at the same offset); stopped for good
 * - `stopped`: closed
 */
export type FollowerStatus = 'connecting' | 'streaming' | 'caught-up' | 'diverged' | 'stopped';

export interface ReplicationLag {
  /** Bytes the upstream had that this member lacked, as of the latest chunk. */
  bytes: number;
  /** How old the newest record held here is, while behind; 0 when caught up. */
  ms: number;
}

type ReplicateStream = ReplicaSocketStream;

/**
 * The replica side of chain replication: keeps this member's log a byte-for-byte copy of its upstream's,
 * at the same offsets. Connects, says where its log ends (with the CRC of its last record, so the upstream
 * can tell a diverged log), appends each chunk in order and reports its durable progress (and that of the
 * members behind it) upstream. Reconnects with jittered backoff after anything but a divergence refusal,
 * which stops it for good: a diverged log must be truncated or rebuilt by an operator, never extended.
 */
export class ReplicaFollower {
  private readonly options: z.output<typeof replicaFollowerOptionsSchema>;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private currentStatus: FollowerStatus = 'connecting';
  private reason: string | undefined;
  private readonly statusListeners = new Set<(status: FollowerStatus, reason: string | undefined) => void>();
  private latest: { upstreamEndOffset: number; masterTimeMs: number } | undefined;
  private stream: ReplicateStream | undefined;
  private blocked = false;
  private reportScheduled = false;
  private promptReports: boolean;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(options: ReplicaFollowerOptions) {
    this.options = parseConfig(replicaFollowerOptionsSchema, options, 'invalid ReplicaFollower options');
    this.promptReports = this.options.promptReports;
    const { group, member, room, upstream } = this.options;
    this.logger = this.options.logger.child({ component: 'replica-follower', group, broker: member, room, upstream });
  }

  /** Starts following the upstream in the background. Idempotent. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      this.logger.info({}, 'following upstream');
      this.loop = this.run();
    })();
    return this.starting;
  }

  /** Stops following and waits until the current append is done. Idempotent; a diverged follower stays `diverged`. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort(new RoomqError('CLOSED', 'the replica follower is closing'));
      try {
        this.stream?.cancel();
      } catch {
        // already gone
      }
      await this.loop;
      if (this.currentStatus !== 'diverged') this.setStatus('stopped', 'closed');
      this.statusListeners.clear();
    })();
    return this.closing;
  }

  status(): FollowerStatus {
    return this.currentStatus;
  }

  /** Why the follower is in its status (the refusal for `diverged`, the last error while `connecting`). */
  statusReason(): string | undefined {
    return this.reason;
  }

  onStatus(listener: (status: FollowerStatus, reason: string | undefined) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Changes whether progress goes up after every durable append (see the option); a report goes out now. */
  setPromptReports(prompt: boolean): void {
    if (prompt === this.promptReports) return;
    this.promptReports = prompt;
    this.reportProgress();
  }

  /** Lag behind the upstream as of the latest chunk (the last known value while reconnecting). */
  lag(): ReplicationLag {
    if (!this.latest) return { bytes: 0, ms: 0 };
    const bytes = Math.max(0, this.latest.upstreamEndOffset - this.options.log.logEndOffset());
    const ms = bytes > 0 && this.latest.masterTimeMs > 0 ? Math.max(0, Date.now() - this.latest.masterTimeMs) : 0;
    return { bytes, ms };
  }

  /**
   * Sends a progress report at the end of this turn of the event loop, e.g. when an append became durable or
   * the downstream reported; a no-op while not connected. Calls in the same turn share one report: a flush
   * group completes several pipelined appends at once, and each report costs both ends a protobuf round.
   */
  reportProgress(): void {
    if (this.reportScheduled) return;
    this.reportScheduled = true;
    setImmediate(() => {
      this.reportScheduled = false;
      this.sendProgress();
    });
  }

  /** Sends a progress report now; a no-op while not connected. */
  private sendProgress(): void {
    const stream = this.stream;
    if (!stream || this.blocked) return;
    const { log, member, room } = this.options;
    const own: MemberProgress = { member, room, durableOffset: log.durableOffset(), logEndOffset: log.logEndOffset(), reportedAtMs: Date.now() };
    let downstream: MemberProgress[] = [];
    try {
      downstream = this.options.downstreamProgress().filter((m) => m.member !== member);
    } catch (err) {
      this.logger.warn({ err }, 'downstreamProgress() threw; reporting this member only');
    }
    let offsets: OffsetCommit[] = [];
    try {
      offsets = mergeOffsetCommits(this.options.offsetCommits());
    } catch (err) {
      this.logger.warn({ err }, 'offsetCommits() threw; reporting progress without forwarded offsets');
    }
    try {
      if (!stream.write(progressToWire([own, ...downstream], offsets))) {
        // Reports are snapshots: skip them while the stream is full and send a fresh one on drain.
        this.blocked = true;
        stream.once('drain', () => {
          this.blocked = false;
          this.sendProgress();
        });
      }
    } catch (err) {
      this.logger.debug({ err }, 'progress report not sent');
    }
  }

  private setStatus(status: FollowerStatus, reason?: string): void {
    if (this.currentStatus === status) return;
    const from = this.currentStatus;
    this.currentStatus = status;
    this.reason = reason;
    const fields = { from, to: status, reason };
    if (status === 'diverged') this.logger.error(fields, 'replica diverged from its upstream; stopped for good');
    // streaming <-> caught-up flips with every chunk under a steady load: debug, not info.
    else if ((from === 'streaming' && status === 'caught-up') || (from === 'caught-up' && status === 'streaming')) this.logger.debug(fields, 'replication status');
    else this.logger.info(fields, 'replication status');
    for (const listener of this.statusListeners) {
      try {
        listener(status, reason);
      } catch (err) {
        this.logger.error({ err }, 'status listener threw');
      }
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      this.setStatus('connecting', this.reason);
      try {
        await this.session(signal);
      } catch (caught) {
        const progressed = caught instanceof SessionError && caught.progressed;
        const err = caught instanceof SessionError ? caught.error : toRoomqError(caught);
        if (signal.aborted) return;
        if (caught instanceof TruncateRequested) {
          if (await this.applyTruncate(caught.order, signal)) {
            failures = 0;
            continue;
          }
          return;
        }
        if (err.code === 'REPLICA_DIVERGED') {
          this.setStatus('diverged', err.message);
          return;
        }
        failures = progressed ? 1 : failures + 1;
        const delayMs = backoffDelayMs(this.options.reconnectBackoff, failures);
        const level = err.code === 'CONFIG_INVALID' || err.code === 'MESSAGE_CORRUPTED' || err.code === 'BAD_REQUEST' || err.code === 'INVALID_OFFSET' ? 'error' : 'warn';
        this.logger[level]({ err, code: err.code, attempt: failures, delayMs }, 'replication stream ended; reconnecting from the log end');
        this.reason = err.message;
        try {
          await sleep(delayMs, signal);
        } catch {
          return;
        }
      }
    }
  }

  /** One stream: hello, then chunks until it fails. Always throws a SessionError. */
  private async session(signal: AbortSignal): Promise<never> {
    const { log, group, member, upstream } = this.options;
    let progressed = false;
    let idle: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    let idleFired = false;
    /** Appends not yet durable, oldest first; the first failure ends the session. */
    const pipelined: Promise<void>[] = [];
    let appendError: unknown;
    // Plain TCP to the upstream's broker port (replication-frames.ts says why not gRPC).
    const stream = new ReplicaSocketStream(upstream);
    // Until the read loop below starts, nothing else listens: an upstream that refuses the connection must end
    // this session (the loop reports it), not crash the process with an unhandled 'error' event.
    let earlyError: unknown;
    const onEarlyError = (err: unknown): void => {
      earlyError ??= err;
    };
    stream.on('error', onEarlyError);
    this.stream = stream;
    this.blocked = false;
    const resetIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        idleFired = true;
        stream.cancel();
      }, this.options.idleTimeoutMs);
      idle.unref?.();
    };
    try {
      if (signal.aborted) throw signal.reason;
      const resume = await resumeOffset(log);
      let expected = resume.offset;
      const segmentSizeBytes = log.segmentSizeBytes();
      stream.write(
        helloToWire({
          group,
          member,
          logEndOffset: expected,
          lastRecordOffset: resume.lastRecord?.offset ?? -1,
          lastRecordCrc: resume.lastRecord?.crc ?? 0,
          segmentSizeBytes,
          lastEpoch: lastEpochOf(log),
        }),
      );
      this.logger.debug({ fromOffset: expected }, 'hello sent');
      // The first report goes with the hello: offsets committed here while the upstream was away reach it at once.
      this.sendProgress();
      resetIdle();
      timer = setInterval(() => this.reportProgress(), this.options.progressIntervalMs);
      timer.unref?.();
      if (earlyError !== undefined) throw earlyError;
      for await (const message of stream as AsyncIterable<WireUpstreamMessage>) {
        resetIdle();
        if (message.kind === 'truncate' && message.truncate) throw new TruncateRequested(truncateFromWire(message.truncate));
        if (message.kind === 'refusal') {
          throw fromWireStatus(message.refusal, { endpoint: upstream }) ?? new RoomqError('UNAVAILABLE', 'the upstream refused without a reason');
        }
        if (message.kind !== 'chunk' || !message.chunk) continue;
        const chunk = chunkFromWire(message.chunk);
        if (chunk.offset !== expected) {
          throw new RoomqError('INVALID_OFFSET', `upstream sent a chunk at ${chunk.offset} but this log continues at ${expected}`, { details: { offset: chunk.offset } });
        }
        if (appendError !== undefined) throw appendError;
        if (chunk.records.length > 0) {
          // Pipelined: the next chunk is appended while this one waits for its fdatasync, so the store's group
          // commit covers several chunks at once; durability (and progress reports) still follow log order.
          const records = chunk.records;
          const appended = log.appendReplicated(chunk.offset, records).then(
            () => {
              stream.releaseChunk(records);
              progressed = true;
              if (this.promptReports) this.reportProgress();
            },
            (err: unknown) => {
              appendError ??= err;
              stream.cancel();
            },
          );
          pipelined.push(appended);
          const tail = chunkTail(chunk.records);
          expected = nextRecordOffset(chunk.offset + chunk.records.length, chunk.offset + tail.lastRecordAt, segmentSizeBytes);
          this.logger.trace({ offset: chunk.offset, bytes: chunk.records.length }, 'chunk appended');
          if (pipelined.length >= MAX_PIPELINED_CHUNKS) await pipelined.shift();
        }
        this.accept(chunk);
      }
      throw new RoomqError('UNAVAILABLE', `the upstream ${upstream} ended the stream`);
    } catch (thrown) {
      // A failed append cancels the stream; report the append's error, not the cancellation.
      const caught = appendError ?? thrown;
      if (caught instanceof TruncateRequested && !signal.aborted) throw caught;
      let error: RoomqError;
      if (signal.aborted) error = toRoomqError(signal.reason, 'CLOSED');
      else if (idleFired) error = new RoomqError('TIMEOUT', `nothing from the upstream ${upstream} for ${this.options.idleTimeoutMs} ms (idleTimeoutMs)`);
      else error = toRoomqError(caught, 'UNAVAILABLE', `replication from ${upstream}`);
      throw new SessionError(error, progressed);
    } finally {
      clearTimeout(idle);
      clearInterval(timer);
      this.stream = undefined;
      stream.cancel();
    }
  }

  /** True when the log was cut as ordered and following may go on; false when stopped (closed or diverged). */
  private async applyTruncate(order: TruncateOrder, signal: AbortSignal): Promise<boolean> {
    const { log } = this.options;
    const before = log.logEndOffset();
    this.logger.warn({ offset: order.offset, logEndOffset: before, epoch: order.epoch, leader: order.leader, reason: order.reason }, 'truncating the log as the upstream ordered');
    try {
      if (this.options.truncate) await this.options.truncate(order);
      else await log.truncate(order.offset);
    } catch (err) {
      if (signal.aborted) return false;
      const error = toRoomqError(err);
      this.setStatus('diverged', `could not truncate to ${order.offset} as ${order.leader} ordered: ${error.message}`);
      return false;
    }
    this.logger.info({ offset: order.offset, removedBytes: before - order.offset, epoch: order.epoch }, 'log truncated; reconnecting to follow the new epoch');
    return !signal.aborted;
  }

  private accept(chunk: LogChunk): void {
    const masterTimeMs = chunk.masterTimeMs || this.latest?.masterTimeMs || 0;
    this.latest = { upstreamEndOffset: chunk.upstreamEndOffset, masterTimeMs };
    const behind = chunk.upstreamEndOffset > this.options.log.logEndOffset();
    this.setStatus(behind ? 'streaming' : 'caught-up');
  }
}

/** The newest epoch in `log`: where the upstream looks up how far this log may be kept. */
function lastEpochOf(log: { epochHistory(): Array<{ epoch: number }> }): number {
  const history = log.epochHistory();
  return history.length === 0 ? 1 : history[history.length - 1]!.epoch;
}

/** The upstream ordered a truncation; the run loop carries it out and reconnects. */
class TruncateRequested extends Error {
  constructor(readonly order: TruncateOrder) {
    super(order.reason);
  }
}

class SessionError extends Error {
  constructor(
    readonly error: RoomqError,
    readonly progressed: boolean,
  ) {
    super(error.message);
  }
}
