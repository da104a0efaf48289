import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import {
  DATA_PREFACE,
  RoomqError,
  dataFrameDecoder,
  decodeBrokerDataFrame,
  encodePublishFrame,
  encodePublishOpen,
  encodeSubscribeOpen,
  parseHostPort,
  sharedOnRead,
  writeBuffers,
  type PublishAckMsg,
  type PublishFrameMsg,
  type RecordsFrameMsg,
  type SubscribeRequestMsg,
} from '@roomq/protocol';

/**
 * One call of the broker's data path over its own TCP connection (data-frames.ts in @roomq/protocol), shaped
 * like the gRPC streams the producer and consumers were written for: 'data', 'end', 'error' (a RoomqError
 * naming the broker), cancel(). A failed connection is UNAVAILABLE, which the producer retries elsewhere and a
 * consumer resubscribes after.
 */
abstract class DataSocket extends EventEmitter {
  protected readonly socket: Socket;
  private readonly decoder = dataFrameDecoder(undefined, true);
  private finished = false;

  constructor(
    protected readonly endpoint: string,
    open: Buffer,
  ) {
    super();
    const address = parseHostPort(endpoint);
    // A backlog's batch arrives in one read (sharedOnRead); the decoder copies every frame out of the shared buffer.
    this.socket = connect({ host: address?.host ?? endpoint, port: address?.port ?? 0, onread: sharedOnRead((bytes) => this.receive(bytes)) });
    this.socket.setNoDelay(true);
    this.socket.cork();
    this.socket.write(DATA_PREFACE);
    this.socket.write(open);
    this.socket.uncork();
    this.socket.on('drain', () => this.emit('drain'));
    this.socket.on('end', () => {
      if (this.finished) return;
      this.finished = true;
      this.ended();
    });
    this.socket.on('error', (err: Error) => this.fail(new RoomqError('UNAVAILABLE', `cannot reach the broker at ${endpoint}: ${err.message}; check that it is running and reachable`, { cause: err, details: { endpoint } })));
    this.socket.on('close', () => this.fail(new RoomqError('UNAVAILABLE', `the broker at ${endpoint} closed the data connection`, { details: { endpoint } })));
  }

  /** One read, in the shared buffer. Pausing is pause()'s to do (subscribe flow control), so this never asks for it. */
  private receive(bytes: Buffer): true {
    try {
      this.decoder.push(bytes, (kind, payload) => this.deliver(decodeBrokerDataFrame(kind, payload, this.decoder)));
    } catch (err) {
      this.fail(err as RoomqError);
    }
    return true;
  }

  /** Ends the call at once; nothing more is reported. */
  cancel(): void {
    this.finished = true;
    this.socket.destroy();
  }

  protected abstract deliver(frame: { ack: PublishAckMsg } | { records: RecordsFrameMsg }): void;

  /** The broker ended the stream cleanly. */
  protected ended(): void {
    this.emit('end');
  }

  protected fail(err: RoomqError): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.destroy();
    this.emit('error', err);
  }
}

/** A Publish stream: write() frames, 'data' for each PublishAck, end() when done. */
export class PublishSocketStream extends DataSocket {
  constructor(endpoint: string) {
    super(endpoint, encodePublishOpen());
  }

  write(frame: PublishFrameMsg): boolean {
    return writeBuffers(this.socket, encodePublishFrame(frame));
  }

  /** No more frames; the broker still acknowledges those in flight, then ends. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  protected deliver(frame: { ack: PublishAckMsg } | { records: RecordsFrameMsg }): void {
    if (!('ack' in frame)) throw new RoomqError('BAD_REQUEST', `malformed data stream: the broker at ${this.endpoint} sent records on a publish stream`);
    this.emit('data', frame.ack);
  }
}

/**
 * A Subscribe stream: 'data' for each RecordsFrame. pause() stops 'data' at once (frames already read are
 * held) and stops reading the socket, so TCP holds the broker back; resume() delivers the held frames first.
 */
export class SubscribeSocketStream extends DataSocket {
  private paused = false;
  private readonly held: RecordsFrameMsg[] = [];
  private endHeld = false;

  constructor(endpoint: string, request: SubscribeRequestMsg) {
    super(endpoint, encodeSubscribeOpen(request));
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    while (!this.paused && this.held.length > 0) this.emit('data', this.held.shift()!);
    if (this.paused) return;
    if (this.endHeld) {
      this.endHeld = false;
      this.emit('end');
      return;
    }
    this.socket.resume();
  }

  /** An end that comes while frames are held follows them. */
  protected override ended(): void {
    if (this.held.length > 0) this.endHeld = true;
    else this.emit('end');
  }

  protected deliver(frame: { ack: PublishAckMsg } | { records: RecordsFrameMsg }): void {
    if (!('records' in frame)) throw new RoomqError('BAD_REQUEST', `malformed data stream: the broker at ${this.endpoint} sent an ack on a subscribe stream`);
    if (this.paused) this.held.push(frame.records);
    else this.emit('data', frame.records);
  }
}
