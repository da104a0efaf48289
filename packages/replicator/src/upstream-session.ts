import type { EventEmitter } from 'node:events';
import { FlushedBuffers, RoomqError, toRoomqError, toWireStatus, type Logger } from '@roomq/protocol';
import { checkEpoch } from './epoch-check.js';
import { chunkTail } from './log-chunk.js';
import { nextRecordOffset, resumeOffset } from './log-position.js';
import type { MemberProgress } from './member-progress.js';
import type { OffsetCommit } from './offset-commit.js';
import type { ReplicaLog } from './replica-log.js';
import {
  chunkToWire,
  helloFromWire,
  offsetsFromWire,
  progressFromWire,
  refusalToWire,
  truncateToWire,
  type ReplicaHello,
  type TruncateOrder,
  type WireReplicaMessage,
  type WireUpstreamMessage,
} from './replication-wire.js';

/**
 * One replica's stream as the session uses it (UpstreamSocketCall over TCP). emit('error', err) ends it with
 * that error, which reaches the replica as a refusal.
 */
export type ReplicateCall = Pick<EventEmitter, 'on' | 'off' | 'emit'> & {
  write(message: WireUpstreamMessage): boolean;
  end(): void;
  getPeer(): string;
  /** True when everything written so far has left the process (its buffers may be reused). */
  flushed(): boolean;
};

/** What a session needs from the UpstreamServer that owns it. */
export interface SessionContext {
  log: ReplicaLog;
  group: string;
  member: string;
  chunkBytes: number;
  heartbeatIntervalMs: number;
  helloTimeoutMs: number;
  logger: Logger;
  onProgress(members: MemberProgress[]): void;
  /** The offsets the replica forwarded in its latest report (its own and its downstream's; may be empty). */
  onOffsets(session: UpstreamSession, offsets: OffsetCommit[]): void;
}

/**
 * Serves one downstream replica over one Replicate stream: checks its hello, then streams the log from where
 * the replica's ends, as durable bytes become available, until the stream or the server closes.
 *
 * Invariant: chunks on one stream are contiguous (each starts where the previous one's records end, or at
 * the next segment's base after a closed segment) and hold only bytes durable on this member.
 */
export class UpstreamSession {
  private readonly abort = new AbortController();
  private downstream = '(before hello)';
  private logger: Logger;

  constructor(
    private readonly call: ReplicateCall,
    private readonly ctx: SessionContext,
  ) {
    this.logger = ctx.logger.child({ peer: safePeer(call) });
  }

  /** The replica's member name once its hello arrived. */
  replica(): string {
    return this.downstream;
  }

  /** Ends the session; the stream closes with UNAVAILABLE so the replica reconnects elsewhere or later. */
  stop(reason: string): void {
    if (this.abort.signal.aborted) return;
    this.abort.abort(new RoomqError('UNAVAILABLE', reason));
    this.fail(new RoomqError('UNAVAILABLE', `${this.ctx.member} stopped serving replication: ${reason}; the replica reconnects`));
  }

  async run(): Promise<void> {
    const signal = this.abort.signal;
    const closed = (): void => this.abort.abort(new RoomqError('ABORTED', 'the replica closed the stream'));
    this.call.on('cancelled', closed);
    this.call.on('error', closed);
    this.call.on('end', closed);
    try {
      const hello = await this.receiveHello(signal);
      this.downstream = hello.member;
      this.logger = this.logger.child({ replica: hello.member });
      const order = this.truncation(hello);
      if (order) {
        this.logger.warn({ ...order, replicaEndOffset: hello.logEndOffset, replicaEpoch: hello.lastEpoch }, 'replica holds bytes past the end of its epoch; told to truncate');
        this.call.write(truncateToWire(order));
        this.call.end();
        return;
      }
      const refusal = await this.check(hello);
      if (refusal) {
        this.logger.error({ code: refusal.code, offset: refusal.details.offset }, refusal.message);
        this.call.write(refusalToWire(toWireStatus(refusal)));
        this.call.end();
        return;
      }
      this.logger.info({ fromOffset: hello.logEndOffset }, 'replica connected; streaming the log');
      await this.stream(hello.logEndOffset, signal);
    } catch (err) {
      if (signal.aborted) return;
      const error = toRoomqError(err, 'INTERNAL', `replication stream to ${this.downstream}`);
      this.logger.warn({ err: error, code: error.code }, 'replication stream failed; the replica will reconnect');
      this.fail(error);
    } finally {
      this.abort.abort();
      this.logger.info({}, 'replication stream closed');
    }
  }

  private fail(error: RoomqError): void {
    try {
      this.call.emit('error', error);
    } catch {
      // the stream may already be gone; nothing left to tell the replica
    }
  }

  /** The first message must be the hello; progress reports after it are handed to the server. */
  private receiveHello(signal: AbortSignal): Promise<ReplicaHello> {
    return new Promise<ReplicaHello>((resolve, reject) => {
      let hello: ReplicaHello | undefined;
      const timer = setTimeout(() => reject(new RoomqError('TIMEOUT', `no hello within ${this.ctx.helloTimeoutMs} ms`)), this.ctx.helloTimeoutMs);
      timer.unref?.();
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.call.on('data', (message: WireReplicaMessage) => {
        if (hello === undefined) {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          if (message.kind !== 'hello' || !message.hello) {
            reject(new RoomqError('BAD_REQUEST', 'a replica must send ReplicaHello first'));
            return;
          }
          hello = helloFromWire(message.hello);
          // Named at once: the report sent with the hello can arrive in the same read, before run() resumes.
          this.downstream = hello.member;
          resolve(hello);
          return;
        }
        if (message.kind === 'progress') {
          const members = progressFromWire(message.progress?.members);
          this.logger.trace({ members }, 'replica progress');
          this.ctx.onProgress(members);
          this.ctx.onOffsets(this, offsetsFromWire(message.progress?.offsets));
        }
      });
    });
  }

  /** The cut a replica must make before it may continue (a promotion replaced the epoch it ends in), if any. */
  private truncation(hello: ReplicaHello): TruncateOrder | undefined {
    const verdict = checkEpoch(this.ctx.log.epochHistory(), hello.lastEpoch, hello.logEndOffset);
    if (verdict.kind !== 'truncate') return undefined;
    return {
      offset: verdict.offset,
      epoch: verdict.upstreamEpoch,
      leader: this.ctx.member,
      reason: `${hello.member}'s log runs to ${hello.logEndOffset} in epoch ${hello.lastEpoch}, which ends at ${verdict.offset} on ${this.ctx.member} (epoch ${verdict.upstreamEpoch}); the bytes past it were never kept by the group`,
    };
  }

  /** Why this replica must not be served, or undefined when it may continue from its log end. */
  private async check(hello: ReplicaHello): Promise<RoomqError | undefined> {
    const { log, group, member } = this.ctx;
    const details = { group, broker: hello.member, upstream: member };
    if (hello.group !== group) {
      return new RoomqError('CONFIG_INVALID', `replica ${hello.member} belongs to group ${hello.group}, but ${member} serves group ${group}; point the replica at a member of its own group`, { details });
    }
    if (hello.segmentSizeBytes !== log.segmentSizeBytes()) {
      return new RoomqError(
        'CONFIG_INVALID',
        `replica ${hello.member} uses ${hello.segmentSizeBytes}-byte segments but ${member} uses ${log.segmentSizeBytes()}; every member of group ${group} must use the same segmentSizeBytes so records land at the same offsets`,
        { details },
      );
    }
    const epoch = checkEpoch(log.epochHistory(), hello.lastEpoch, hello.logEndOffset);
    if (epoch.kind === 'stale-upstream') {
      return new RoomqError(
        'UNAVAILABLE',
        `replica ${hello.member} has seen epoch ${hello.lastEpoch} but ${member} is only at epoch ${epoch.upstreamEpoch}: ${member} is a stale member and must not feed it; the replica waits for its group's leader`,
        { details: { ...details, epoch: hello.lastEpoch } },
      );
    }
    const own = await resumeOffset(log);
    const rebuild = `replica ${hello.member} must not continue: truncate its log to a point both hold or rebuild it from empty`;
    if (hello.logEndOffset > own.offset) {
      return new RoomqError(
        'REPLICA_DIVERGED',
        `replica ${hello.member}'s log ends at ${hello.logEndOffset}, past the end of ${member}'s log (${own.offset}): it holds bytes its upstream lacks; ${rebuild}`,
        { details: { ...details, offset: own.offset, replicaEndOffset: hello.logEndOffset } },
      );
    }
    if (hello.lastRecordOffset < 0) {
      if (hello.logEndOffset === 0) return undefined;
      return new RoomqError('BAD_REQUEST', `replica ${hello.member} reports an empty log ending at ${hello.logEndOffset}`, { details });
    }
    const crc = await log.recordCrcAt(hello.lastRecordOffset);
    if (crc === undefined || crc !== hello.lastRecordCrc) {
      const upstreamSide = crc === undefined ? `no record starts there on ${member}` : `${member}'s record there has CRC ${hex(crc)}`;
      return new RoomqError(
        'REPLICA_DIVERGED',
        `replica ${hello.member} diverged from ${member} at log offset ${hello.lastRecordOffset}: its record there has CRC ${hex(hello.lastRecordCrc)}, ${upstreamSide}; ${rebuild}`,
        { details: { ...details, offset: hello.lastRecordOffset } },
      );
    }
    return undefined;
  }

  private async stream(startOffset: number, signal: AbortSignal): Promise<void> {
    const { log, chunkBytes } = this.ctx;
    // Chunks are read into buffers reused once the socket has sent them (FlushedBuffers says why). There is one
    // session per replica, so they are kept while caught up too: under load the log end is reached every group.
    const buffers = new FlushedBuffers(chunkBytes, () => this.call.flushed());
    const segmentSizeBytes = log.segmentSizeBytes();
    let from = startOffset;
    let masterTimeMs = 0;
    let caughtUpSent = false;
    /** Nothing became durable for a heartbeat interval: the marker goes out whatever the log end says. */
    let heartbeatDue = false;
    let emptyWithDurable = 0;
    while (!signal.aborted) {
      const into = buffers.take();
      let records: Buffer;
      try {
        records = await log.readLog(from, chunkBytes, into);
      } finally {
        buffers.handed(into);
      }
      if (signal.aborted) return;
      if (records.length > 0) {
        emptyWithDurable = 0;
        caughtUpSent = false;
        const tail = chunkTail(records);
        masterTimeMs = tail.lastStoreTimestampMs || masterTimeMs;
        await this.send(chunkToWire({ offset: from, records, upstreamEndOffset: log.logEndOffset(), masterTimeMs }), signal);
        this.logger.trace({ offset: from, bytes: records.length }, 'chunk sent');
        from = nextRecordOffset(from + records.length, from + tail.lastRecordAt, segmentSizeBytes);
        continue;
      }
      if (log.durableOffset() > from && ++emptyWithDurable >= 3) {
        throw new RoomqError('INTERNAL', `the log returns nothing at ${from} though it is durable up to ${log.durableOffset()}; is ${from} a record boundary?`, { details: { offset: from } });
      }
      // Caught up: say so once (an empty chunk carries the upstream's end, so the replica knows its lag is 0),
      // then again as a heartbeat whenever nothing new became durable for heartbeatIntervalMs. Under load the
      // next group is usually being written already (the log ends past `from`): its chunk follows within a
      // flush and says as much, so no marker is sent then; one per flush group would double the messages.
      if (!caughtUpSent && (heartbeatDue || log.logEndOffset() <= from)) {
        await this.send(chunkToWire({ offset: from, records: Buffer.alloc(0), upstreamEndOffset: log.logEndOffset(), masterTimeMs }), signal);
        caughtUpSent = true;
        heartbeatDue = false;
      }
      if (!(await this.waitForDurable(from, signal))) {
        caughtUpSent = false;
        heartbeatDue = true;
      }
    }
  }

  /** True when something new is durable, false when the heartbeat interval passed first. */
  private async waitForDurable(after: number, signal: AbortSignal): Promise<boolean> {
    const wait = new AbortController();
    const onAbort = (): void => wait.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let heartbeat = false;
    const timer = setTimeout(() => {
      heartbeat = true;
      wait.abort(new RoomqError('TIMEOUT', 'heartbeat'));
    }, this.ctx.heartbeatIntervalMs);
    try {
      await this.ctx.log.waitForDurable(after, wait.signal);
      return true;
    } catch (err) {
      if (heartbeat && !signal.aborted) return false;
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Writes one message, waiting for 'drain' when the stream's buffer is full. */
  private async send(message: WireUpstreamMessage, signal: AbortSignal): Promise<void> {
    if (this.call.write(message)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.call.off('drain', done);
        signal.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = (): void => {
        this.call.off('drain', done);
        reject(signal.reason);
      };
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      this.call.on('drain', done);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }
}

function hex(crc: number): string {
  return `0x${(crc >>> 0).toString(16).padStart(8, '0')}`;
}

function safePeer(call: ReplicateCall): string {
  try {
    return call.getPeer();
  } catch {
    return 'unknown';
  }
}
