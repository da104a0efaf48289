import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { toRoomqError, toWireStatus, writeBuffers } from '@roomq/protocol';
import { MAX_REPLICA_FRAME_BYTES, decodeReplicaPayload, encodeUpstreamFrame, replicationFrameDecoder } from './replication-frames.js';
import type { WireReplicaMessage, WireUpstreamMessage } from './replication-wire.js';

/**
 * The upstream's side of one replication connection over TCP (replication-frames.ts), shaped like the gRPC
 * server call UpstreamSession was first written for: 'data' per replica message, write() with 'drain', end(),
 * 'end' when the replica half-closes, 'cancelled' when the connection drops, and emit('error', err) to end
 * the stream with that error, which reaches the replica as a refusal carrying its code and message.
 */
export class UpstreamSocketCall extends EventEmitter {
  private readonly decoder = replicationFrameDecoder(MAX_REPLICA_FRAME_BYTES);
  private finished = false;

  constructor(
    private readonly socket: Socket,
    /** Bytes that came after the preface in the same read. */
    rest: Buffer,
  ) {
    super();
    socket.setNoDelay(true);
    // Like grpc-js: an 'error' emitted by the handler ends the call with that status.
    this.on('error', (err: unknown) => this.finishWith(err));
    socket.on('drain', () => this.emit('drain'));
    socket.on('end', () => {
      if (this.finished) return;
      this.emit('end');
      this.end();
    });
    socket.on('close', () => {
      if (this.finished) return;
      this.finished = true;
      this.emit('cancelled');
    });
    // A reset connection also closes; 'close' reports it.
    socket.on('error', () => undefined);
    // `rest` goes to the session once it listens (it starts in this turn, after the constructor), and bytes read
    // later only after it: the socket is paused until then, so a read already buffered cannot overtake `rest`.
    socket.pause();
    queueMicrotask(() => {
      if (rest.length > 0) this.receive(rest);
      socket.on('data', (bytes: Buffer) => this.receive(bytes));
      socket.resume();
    });
  }

  getPeer(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  write(message: WireUpstreamMessage): boolean {
    if (this.finished) return true;
    return writeBuffers(this.socket, encodeUpstreamFrame(message));
  }

  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.socket.end();
  }

  flushed(): boolean {
    return this.socket.writableLength === 0;
  }

  private receive(bytes: Buffer): void {
    try {
      this.decoder.push(bytes, (kind, payload) => this.emit('data', decodeReplicaPayload(kind, payload, this.decoder) satisfies WireReplicaMessage));
    } catch (err) {
      this.emit('error', err);
    }
  }

  private finishWith(err: unknown): void {
    if (this.finished) return;
    const error = toRoomqError(err, 'INTERNAL', 'replication stream');
    this.write({ refusal: toWireStatus(error) });
    this.end();
  }
}
