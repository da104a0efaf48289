import { MIGRATION_SWITCH_PROPERTY, RecordType, RoomqError, forEachRecord, fromWireStatus, sleep, toRoomqError, type Logger, type RecordsFrameMsg, type Retrier } from '@roomq/protocol';
import { FifoQueue } from './fifo-queue.js';
import { OffsetTracker } from './offset-tracker.js';
import type { QueueIo, Subscription } from './queue-io.js';
import { receivedFromRecord, type ReceivedMessage } from './received-message.js';
import type { QueueRef } from './topic-route.js';

/** Handlers that run synchronously give the event loop a turn after this many messages. */
const YIELD_EVERY_MESSAGES = 256;

export interface QueueConsumerOptions {
  handler: (message: ReceivedMessage) => Promise<void> | void;
  startFrom: 'first' | 'last';
  maxBufferedMessages: number;
  retrier: Retrier;
  logger: Logger;
  /** Problems the user should hear about (corrupt records, handler failures, unreachable brokers). */
  reportError: (err: RoomqError) => void;
  /** A record was routed by a newer migration switch than this consumer's assignment: fetch it again. */
  onNewerSwitch?: () => void;
}

/**
 * How long a record stamped with a newer migration switch waits for an assignment that has seen it. A router
 * answers within a second; past this the stamp must come from an earlier migration of the topic, and the record
 * is delivered (with a warning) rather than held for good.
 */
const MAX_SWITCH_HOLD_MS = 5000;
/** While a record is held for a newer switch, the assignment is asked again at most this often. */
const SWITCH_REFRESH_INTERVAL_MS = 200;

export interface QueueStats {
  topic: string;
  /** Broker group. */
  broker: string;
  /** The instance read from, e.g. `broker-a/1@dc2`. */
  brokerName: string;
  room: string;
  queueId: number;
  endpoint: string;
  /** Messages handed to the handler successfully. */
  consumed: number;
  /** Messages received from the broker (redeliveries after reconnects included). */
  received: number;
  handlerFailures: number;
  /** Next offset to consume; -1 before the start offset is known. */
  consumedOffset: number;
  /** Offset stored at the broker for the group; -1 when none. */
  committedOffset: number;
  /** Queue end the broker last reported. */
  maxOffset: number;
  buffered: number;
}

/**
 * Consumes one queue: finds where the group left off, subscribes from there, buffers records up to a bound
 * (pausing the stream beyond it) and calls the handler one message at a time in queue order. A message
 * counts as consumed only after its handler resolved; a failing handler gets the same message again.
 */
export class QueueConsumer {
  readonly offsets: OffsetTracker;
  private readonly buffer = new FifoQueue<ReceivedMessage>();
  private readonly abort = new AbortController();
  private subscription: Subscription | undefined;
  private streamEnded: ((err: RoomqError | undefined) => void) | undefined;
  private paused = false;
  /** Next offset to accept from the stream: one past the last message buffered or being handled. */
  private expectedOffset = -1;
  private inProgress: ReceivedMessage | undefined;
  private draining: Promise<void> | undefined;
  private stopping = false;
  private connectLoop: Promise<void> | undefined;
  private commitInFlight: Promise<void> | undefined;
  private failures = 0;
  /** Topic migration: records at or past this offset are not delivered yet (undefined: no limit). */
  private readLimit: number | undefined;
  /** The stream brought records past the read limit, which were dropped; lifting the limit re-subscribes. */
  private heldBack = false;
  /** The migration switch whose read limits this consumer has (undefined: its assignment source does not say). */
  private knownSwitch: number | undefined;
  /** A record stamped with a newer switch is held: that switch, and since when. */
  private switchHold: { stamp: number; sinceMs: number } | undefined;
  private switchRefresh: { lastMs: number; timer: NodeJS.Timeout | undefined } = { lastMs: 0, timer: undefined };
  private restartNow = false;
  private counters = { consumed: 0, received: 0, handlerFailures: 0, maxOffset: 0 };

  constructor(
    readonly queue: QueueRef,
    private readonly io: QueueIo,
    private readonly options: QueueConsumerOptions,
    offsets?: OffsetTracker,
  ) {
    this.offsets = offsets ?? new OffsetTracker();
    this.readLimit = queue.readLimit;
  }

  /**
   * Sets how far this queue may be read (a migrating topic's order gate); undefined lifts the limit. Records
   * held back so far are read again from the broker once the limit moves past them.
   */
  setReadLimit(limit: number | undefined): void {
    if (limit === this.readLimit) return;
    const raised = limit === undefined || (this.readLimit !== undefined && limit > this.readLimit);
    this.readLimit = limit;
    this.options.logger.info({ readLimit: limit ?? 'none' }, limit === undefined ? 'read limit lifted' : 'read limit set');
    if (raised && this.heldBack && this.streamEnded) {
      this.heldBack = false;
      this.restartNow = true;
      this.streamEnded(undefined);
    }
  }

  /**
   * The migration switch the assignment's read limits follow. Set it before setReadLimit: a record held for
   * a newer switch is released by the limit that comes with it.
   */
  setKnownSwitch(switchSeq: number | undefined): void {
    this.knownSwitch = switchSeq;
    if (this.switchHold && switchSeq !== undefined && switchSeq >= this.switchHold.stamp) this.switchHold = undefined;
  }

  /**
   * A producer already sent by a switch this consumer has not seen, so the read limits of that switch may be on
   * their way: deliver nothing from `offset` on until the assignment catches up (setReadLimit re-subscribes).
   */
  private holdForSwitch(offset: number, stamp: number): boolean {
    const now = Date.now();
    if (!this.switchHold || stamp > this.switchHold.stamp) this.switchHold = { stamp, sinceMs: this.switchHold?.sinceMs ?? now };
    if (now - this.switchHold.sinceMs > MAX_SWITCH_HOLD_MS) {
      this.options.logger.warn({ offset, stamp, knownSwitch: this.knownSwitch }, 'a record names a migration switch the router does not report; delivering it');
      this.switchHold = undefined;
      return false;
    }
    if (this.readLimit === undefined || offset < this.readLimit) this.readLimit = offset;
    this.heldBack = true;
    this.askForNewerSwitch();
    return true;
  }

  /** Asks the owner for a fresh assignment, paced: a router that lags must not be asked in a tight loop. */
  private askForNewerSwitch(): void {
    const r = this.switchRefresh;
    if (r.timer || this.stopping) return;
    const wait = Math.max(0, r.lastMs + SWITCH_REFRESH_INTERVAL_MS - Date.now());
    r.timer = setTimeout(() => {
      r.timer = undefined;
      r.lastMs = Date.now();
      if (!this.stopping) this.options.onNewerSwitch?.();
    }, wait);
    r.timer.unref?.();
  }

  start(): void {
    this.connectLoop ??= this.runConnectLoop();
  }

  /**
   * Stops reading at once, lets the handler in progress finish (its backoff waits are cut short) and drops
   * what is buffered: the next owner of the queue reads it again from the committed offset.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.switchRefresh.timer);
    this.abort.abort(new RoomqError('CLOSED', 'the consumer is closing'));
    this.subscription?.cancel();
    this.streamEnded?.(undefined);
    this.buffer.drain();
    await this.connectLoop;
    await this.draining;
    this.buffer.drain();
  }

  /**
   * Commits the consumed offset if it moved; never sends an offset lower than one already committed. Waits
   * for a commit on its way first, so what was consumed when this was called is committed when it resolves.
   */
  async commit(): Promise<void> {
    while (this.commitInFlight) await this.commitInFlight;
    const offset = this.offsets.takeCommit();
    if (offset === undefined) return;
    this.commitInFlight = this.sendCommit(offset).finally(() => {
      this.commitInFlight = undefined;
    });
    await this.commitInFlight;
  }

  private async sendCommit(offset: number): Promise<void> {
    try {
      await this.io.updateOffset(this.queue, offset);
      this.offsets.commitSucceeded(offset);
      this.options.logger.trace({ offset }, 'offset committed');
    } catch (err) {
      this.offsets.commitFailed();
      this.options.logger.warn({ offset, err }, 'offset commit failed; will retry at the next commit');
    }
  }

  stats(): QueueStats {
    return {
      topic: this.queue.topic,
      broker: this.queue.broker,
      brokerName: this.queue.brokerName,
      room: this.queue.room,
      queueId: this.queue.queueId,
      endpoint: this.queue.endpoint,
      consumed: this.counters.consumed,
      received: this.counters.received,
      handlerFailures: this.counters.handlerFailures,
      consumedOffset: this.offsets.known ? this.offsets.consumedNext : -1,
      committedOffset: this.offsets.committedOffset,
      maxOffset: this.counters.maxOffset,
      buffered: this.buffer.length,
    };
  }

  // -------------------------------------------------------------------------------------------------------

  private async runConnectLoop(): Promise<void> {
    const signal = this.abort.signal;
    while (!this.stopping) {
      let err: RoomqError | undefined;
      try {
        const from = await this.resumeOffset(signal);
        if (this.stopping) break;
        err = await this.readStream(from);
      } catch (caught) {
        err = toRoomqError(caught);
      }
      if (this.stopping) break;
      if (this.restartNow) {
        this.restartNow = false;
        continue;
      }
      this.failures++;
      if (err) {
        const level = err.code === 'MESSAGE_CORRUPTED' || !err.retriable ? 'error' : 'warn';
        this.options.logger[level]({ code: err.code, err, offset: this.expectedOffset }, 'subscription ended; reconnecting after a backoff');
        if (err.code !== 'ABORTED') this.options.reportError(err);
      }
      try {
        await sleep(this.options.retrier.delayMs(this.failures), signal);
      } catch {
        break;
      }
    }
  }

  /**
   * Where to read from: max(local position, the group's committed offset at the broker). Local position is one
   * past the last message buffered or being handled, so a reconnect neither skips nor needlessly re-reads.
   * With no position anywhere, start at the beginning or end of the queue as `startFrom` says.
   */
  private async resumeOffset(signal: AbortSignal): Promise<number> {
    const committed = await this.io.getOffset(this.queue, signal);
    if (committed !== undefined) this.offsets.observeCommitted(committed);
    if (this.expectedOffset < 0 && this.offsets.known) this.expectedOffset = this.offsets.consumedNext;
    if (this.expectedOffset < 0) {
      this.expectedOffset = await this.io.queryOffset(this.queue, this.options.startFrom === 'first' ? 'BEGINNING' : 'END', signal);
      this.options.logger.info({ offset: this.expectedOffset, startFrom: this.options.startFrom }, 'group has no committed offset for this queue; starting from its ' + (this.options.startFrom === 'first' ? 'beginning' : 'end'));
    }
    if (committed !== undefined && committed > this.expectedOffset) {
      // The group moved on elsewhere (another consumer, a failover): what we buffered is behind it.
      this.buffer.drain();
      this.expectedOffset = committed;
    }
    // Before anything is consumed the start offset is the position to commit, so a restart resumes from it.
    if (!this.offsets.known) this.offsets.markConsumed(this.expectedOffset);
    return this.expectedOffset;
  }

  /** Reads one subscription until it ends; resolves with why. */
  private readStream(from: number): Promise<RoomqError | undefined> {
    return new Promise<RoomqError | undefined>((resolve) => {
      let settled = false;
      this.streamEnded = (err) => {
        if (settled) return;
        settled = true;
        this.streamEnded = undefined;
        this.subscription?.cancel();
        this.subscription = undefined;
        this.paused = false;
        resolve(err);
      };
      this.options.logger.debug({ offset: from }, 'subscribing');
      this.subscription = this.io.subscribe(this.queue, from, {
        frame: (frame) => this.onFrame(frame),
        ended: (err) => this.streamEnded?.(err ?? new RoomqError('UNAVAILABLE', `broker ${this.queue.broker} ended the subscription`, { details: this.details() })),
      });
    });
  }

  private onFrame(frame: RecordsFrameMsg): void {
    const statusError = frame.status ? fromWireStatus(frame.status, this.details()) : undefined;
    if (frame.max_offset !== undefined && frame.max_offset > this.counters.maxOffset) this.counters.maxOffset = frame.max_offset;
    let corrupt = false;
    if (frame.records && frame.records.length > 0) {
      try {
        forEachRecord(frame.records, (record) => {
          if (record.type !== RecordType.MESSAGE || record.queueOffset < this.expectedOffset) return;
          if (this.readLimit !== undefined && record.queueOffset >= this.readLimit) {
            this.heldBack = true;
            return;
          }
          const stamp = this.knownSwitch === undefined ? undefined : record.properties[MIGRATION_SWITCH_PROPERTY];
          if (stamp !== undefined && Number(stamp) > this.knownSwitch! && this.holdForSwitch(record.queueOffset, Number(stamp))) return;
          this.buffer.push(receivedFromRecord(record, this.queue));
          this.expectedOffset = record.queueOffset + 1;
          this.counters.received++;
        });
      } catch (err) {
        corrupt = true;
        const cause = toRoomqError(err, 'MESSAGE_CORRUPTED');
        this.streamEnded?.(
          new RoomqError('MESSAGE_CORRUPTED', `a record of ${this.queue.topic} queue ${this.queue.queueId} on broker ${this.queue.broker} failed its check after offset ${this.expectedOffset}; it is not skipped, reading will be retried (repair it from a replica)`, {
            details: { ...this.details(), ...cause.details, offset: this.expectedOffset },
            cause,
          }),
        );
      }
    }
    if (statusError) {
      this.streamEnded?.(statusError);
    } else if (!this.paused && this.heldBack && this.subscription) {
      // Nothing more is delivered until the limit moves: stop the stream rather than drop what it brings.
      this.paused = true;
      this.subscription.pause();
    } else if (!this.paused && this.buffer.length >= this.options.maxBufferedMessages && this.subscription) {
      this.paused = true;
      this.subscription.pause();
    }
    if (!statusError && !corrupt) this.failures = 0;
    this.kickDrain();
  }

  private kickDrain(): void {
    if (this.draining || this.stopping || this.buffer.length === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      this.kickDrain();
    });
  }

  private async drain(): Promise<void> {
    let sinceYield = 0;
    try {
      for (let message = this.buffer.shift(); message !== undefined && !this.stopping; message = this.buffer.shift()) {
        this.inProgress = message;
        if (this.paused && !this.heldBack && this.buffer.length <= this.options.maxBufferedMessages >> 1 && this.subscription) {
          this.paused = false;
          this.subscription.resume();
        }
        const sync = await this.handle(message);
        if (!this.inProgress) break; // stopped while retrying
        this.inProgress = undefined;
        if (sync && ++sinceYield >= YIELD_EVERY_MESSAGES) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      this.inProgress = undefined;
    }
  }

  /** Runs the handler until it succeeds or the consumer stops; returns whether it completed synchronously. */
  private async handle(message: ReceivedMessage): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = this.options.handler(message);
        const sync = !(result && typeof (result as Promise<void>).then === 'function');
        if (!sync) await result;
        this.offsets.markConsumed(message.queueOffset + 1);
        this.counters.consumed++;
        return sync;
      } catch (err) {
        this.counters.handlerFailures++;
        const failure = new RoomqError('INTERNAL', `handler failed on ${message.topic} queue ${message.queueId} offset ${message.queueOffset} (attempt ${attempt}); the same message will be delivered again`, {
          details: { ...this.details(), offset: message.queueOffset, messageId: message.messageId, attempt },
          cause: err,
        });
        this.options.logger.warn({ err, offset: message.queueOffset, messageId: message.messageId, attempt }, 'handler failed; redelivering after a backoff');
        this.options.reportError(failure);
        try {
          await sleep(this.options.retrier.delayMs(attempt), this.abort.signal);
        } catch {
          this.inProgress = undefined;
          return false;
        }
      }
    }
  }

  private details(): { topic: string; queueId: number; broker: string; endpoint: string } {
    return { topic: this.queue.topic, queueId: this.queue.queueId, broker: this.queue.broker, endpoint: this.queue.endpoint };
  }
}
