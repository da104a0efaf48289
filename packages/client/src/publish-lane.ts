import {
  RoomqError,
  decodePublishResults,
  encodePublishRequest,
  fromGrpcError,
  fromWireStatus,
  type Logger,
  type PublishAckMsg,
  type PublishEntry,
  type PublishResultEntry,
} from '@roomq/protocol';
import { shouldWriteFrame, takeBatch, type BatchLimits, type Sized } from './batch-planner.js';
import { PublishSocketStream } from './data-socket.js';
import { FifoQueue } from './fifo-queue.js';

/** A message on its way to one broker; it is its own PublishEntry so frames encode without copying fields. */
export interface LaneMessage extends PublishEntry, Sized {
  /** Broker group the chosen queue belongs to. */
  broker: string;
}

interface Frame<M extends LaneMessage> {
  batchId: number;
  messages: M[];
  timer: NodeJS.Timeout;
}

export interface LaneCallbacks<M extends LaneMessage> {
  /** The broker stored every message of a frame; `results[i]` belongs to `messages[i]`. */
  acked(messages: M[], results: PublishResultEntry[], lane: PublishLane<M>): void;
  /** None of `messages` is known to be stored. */
  failed(messages: M[], err: RoomqError, lane: PublishLane<M>): void;
}

export interface LaneOptions {
  endpoint: string;
  limits: BatchLimits;
  maxFramesInFlight: number;
  /** A frame not acknowledged within this time fails with TIMEOUT and the stream is reopened. */
  ackTimeoutMs: number;
  logger: Logger;
}

/**
 * Everything the producer sends to one broker endpoint: a queue of messages waiting for a frame, frames in
 * flight on one long-lived Publish stream of the broker's data path, reopened on demand after it breaks.
 * Invariant: every message handed to `enqueue` is reported exactly once, to `acked` or `failed`.
 */
export class PublishLane<M extends LaneMessage> {
  readonly endpoint: string;
  private readonly pending = new FifoQueue<M>();
  private readonly frames = new Map<number, Frame<M>>();
  private call: PublishSocketStream | undefined;
  private streamWritable = true;
  private flushScheduled = false;
  private nextBatchId = 0;
  private closed = false;
  /** Frames written, for tests and stats. */
  framesSent = 0;

  constructor(
    private readonly options: LaneOptions,
    private readonly callbacks: LaneCallbacks<M>,
  ) {
    this.endpoint = options.endpoint;
  }

  get idle(): boolean {
    return this.pending.length === 0 && this.frames.size === 0;
  }

  enqueue(message: M): void {
    if (this.closed) {
      this.callbacks.failed([message], new RoomqError('CLOSED', 'the producer is closed', { details: { endpoint: this.endpoint } }), this);
      return;
    }
    this.pending.push(message);
    this.scheduleFlush();
  }

  /** Fails everything still queued or in flight (used when close() runs out of time) and ends the stream. */
  close(err?: RoomqError): void {
    this.closed = true;
    if (err) {
      const queued = this.pending.drain();
      if (queued.length > 0) this.callbacks.failed(queued, err, this);
      this.failFrames(err);
    }
    const call = this.call;
    this.call = undefined;
    if (call) {
      try {
        call.end();
        call.cancel();
      } catch {
        // The stream is already gone.
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: sends made by continuations of the acks just handled join this frame.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (!this.closed && shouldWriteFrame({ pending: this.pending.length, framesInFlight: this.frames.size, streamWritable: this.streamWritable }, this.options.maxFramesInFlight)) {
      const messages = takeBatch(this.pending, this.options.limits);
      let payload: Buffer;
      try {
        payload = encodePublishRequest(messages);
      } catch (err) {
        this.callbacks.failed(messages, new RoomqError('BAD_REQUEST', 'message could not be encoded', { cause: err, retriable: false, details: { endpoint: this.endpoint } }), this);
        continue;
      }
      const call = this.ensureStream();
      const batchId = ++this.nextBatchId;
      const frame: Frame<M> = { batchId, messages, timer: setTimeout(() => this.onAckTimeout(frame), this.options.ackTimeoutMs) };
      frame.timer.unref();
      this.frames.set(batchId, frame);
      this.framesSent++;
      if (!call.write({ batch_id: batchId, messages: payload })) {
        this.streamWritable = false;
        call.once('drain', () => {
          this.streamWritable = true;
          this.scheduleFlush();
        });
      }
    }
  }

  private ensureStream(): PublishSocketStream {
    if (this.call) return this.call;
    // The broker's data path over its own TCP connection (data-frames.ts in @roomq/protocol says why not gRPC).
    const call = new PublishSocketStream(this.endpoint);
    this.call = call;
    this.streamWritable = true;
    this.options.logger.debug({ endpoint: this.endpoint }, 'publish stream opened');
    call.on('data', (ack: PublishAckMsg) => this.onAck(ack));
    call.on('error', (err: unknown) => {
      if (this.call !== call) return;
      this.onStreamBroken(call, fromGrpcError(err, { endpoint: this.endpoint, broker: this.brokerName() }));
    });
    call.on('end', () => {
      if (this.call !== call) return;
      this.onStreamBroken(call, new RoomqError('UNAVAILABLE', `broker at ${this.endpoint} ended the publish stream`, { details: { endpoint: this.endpoint, broker: this.brokerName() } }));
    });
    return call;
  }

  private onAck(ack: PublishAckMsg): void {
    const batchId = Number(ack.batch_id);
    const frame = this.frames.get(batchId);
    if (!frame) return; // Timed out earlier; its messages were already reported.
    this.frames.delete(batchId);
    clearTimeout(frame.timer);
    const context = { endpoint: this.endpoint, broker: frame.messages[0]!.broker };
    const err = fromWireStatus(ack.status ?? { code: 0, message: 'publish ack carries no status' }, context);
    if (err) {
      this.callbacks.failed(frame.messages, err, this);
    } else {
      let results: PublishResultEntry[] | undefined;
      try {
        results = decodePublishResults(ack.results ?? Buffer.alloc(0));
      } catch {
        results = undefined;
      }
      if (!results || results.length !== frame.messages.length) {
        // The broker stored the frame but answered nonsense: retrying could duplicate, so do not.
        this.callbacks.failed(
          frame.messages,
          new RoomqError('INTERNAL', `broker ${context.broker} at ${this.endpoint} acknowledged batch ${batchId} with unreadable results`, { details: context, retriable: false }),
          this,
        );
      } else {
        this.callbacks.acked(frame.messages, results, this);
      }
    }
    if (this.pending.length > 0) this.scheduleFlush();
  }

  private onAckTimeout(frame: Frame<M>): void {
    if (!this.frames.has(frame.batchId)) return;
    const broker = frame.messages[0]!.broker;
    const err = new RoomqError('TIMEOUT', `broker ${broker} at ${this.endpoint} did not acknowledge within ${this.options.ackTimeoutMs} ms; raise sendTimeoutMs if the broker is just slow`, {
      details: { broker, endpoint: this.endpoint },
    });
    this.options.logger.warn({ broker, endpoint: this.endpoint, batchId: frame.batchId }, 'publish ack timed out; reopening the stream');
    // A stream that lost an ack is not trusted with the others: fail them all and start over.
    const call = this.call;
    if (call) this.onStreamBroken(call, err);
    else this.failFrames(err);
  }

  private onStreamBroken(call: PublishSocketStream, err: RoomqError): void {
    this.call = undefined;
    this.streamWritable = true;
    try {
      call.cancel();
    } catch {
      // Already finished.
    }
    this.options.logger.warn({ endpoint: this.endpoint, code: err.code, framesInFlight: this.frames.size }, 'publish stream broken');
    this.failFrames(err);
    if (this.pending.length > 0) this.scheduleFlush();
  }

  private failFrames(err: RoomqError): void {
    const frames = [...this.frames.values()];
    this.frames.clear();
    for (const frame of frames) {
      clearTimeout(frame.timer);
      this.callbacks.failed(frame.messages, err, this);
    }
  }

  private brokerName(): string | undefined {
    return this.frames.values().next().value?.messages[0]?.broker ?? this.pending.peek()?.broker;
  }
}
