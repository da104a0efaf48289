import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { DATA_PREFACE, DataFrameKind, dataFrameDecoder, decodePublishFrame, decodeSubscribeOpen, encodePublishAck, encodeRecordsFrame } from './data-frames.js';
import type { FrameDecoder } from './frame-codec.js';
import type { SniffedProtocol } from './port-sniffer.js';
import { writeBuffers } from './socket-writes.js';
import { ReceiveArena } from './receive-arena.js';
import type { PublishAckMsg, PublishFrameMsg, RecordsFrameMsg, SubscribeRequestMsg } from './roomq-messages.js';

/** Room for publish frames being gathered or waiting to be copied into the log (dataProtocol). */
const PUBLISH_ARENA_BYTES = 16 * 1024 * 1024;
/** Smaller frames come from Node's buffer pool, which costs the garbage collector little. */
const ARENA_MIN_FRAME_BYTES = 16 * 1024;

/** A Publish stream as a server serves it: a gRPC server call, or a data connection shaped like one. */
export type PublishCall = Pick<EventEmitter, 'on' | 'once'> & {
  isPaused(): boolean;
  pause(): unknown;
  resume(): unknown;
  write(ack: PublishAckMsg): boolean;
  end(): void;
  readonly cancelled: boolean;
  /**
   * The frame's bytes may be reused: its messages are copied into the log, or refused. Absent where frames are
   * not gathered into reused memory (a gRPC call).
   */
  release?(frame: PublishFrameMsg): void;
};

/** A Subscribe stream as a server serves it: a gRPC server call, or a data connection shaped like one. */
export type SubscribeCall = Pick<EventEmitter, 'on' | 'once' | 'off'> & {
  readonly request: SubscribeRequestMsg;
  write(frame: RecordsFrameMsg): boolean;
  end(): void;
  readonly cancelled: boolean;
  /**
   * True when every byte written so far has left the process, so the buffers written may be reused. Absent
   * where that cannot be told (a gRPC call): a caller then never reuses what it wrote.
   */
  flushed?(): boolean;
};

export interface DataHandlers {
  publish(call: PublishCall): void;
  subscribe(call: SubscribeCall): void;
  /** Told about connections closed for malformed frames. */
  malformed(err: unknown, peer: string): void;
}

/** The data path's side of the port, and a way to drop its connections when the server stops. */
export interface DataProtocol extends SniffedProtocol {
  /** Drops every open data connection; clients report UNAVAILABLE and retry elsewhere or later. */
  closeAll(): void;
}

/**
 * The data path as a protocol of a broker's port (data-frames.ts): a connection's first frame opens a Publish
 * or a Subscribe, which `handlers` serve exactly as they serve the gRPC DataService's calls.
 */
export function dataProtocol(handlers: DataHandlers): DataProtocol {
  const open = new Set<Socket>();
  // One arena for the publish frames of every connection: a frame is held only until its messages are copied
  // into the log, usually in the callback that completes it, so it rarely holds more than a few frames.
  const arena = new ReceiveArena(PUBLISH_ARENA_BYTES);
  const gatherInto = (kind: number, size: number): Buffer | undefined => (kind === DataFrameKind.PUBLISH && size >= ARENA_MIN_FRAME_BYTES ? arena.take(size) : undefined);
  return {
    preface: DATA_PREFACE,
    closeAll: () => {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    accept: (socket, rest) => {
      open.add(socket);
      socket.setNoDelay(true);
      const decoder = dataFrameDecoder(undefined, false, gatherInto);
      socket.once('close', () => {
        open.delete(socket);
        // A frame cut off by the close never reaches a handler: its part of the arena comes back here.
        const partial = decoder.abandon();
        if (partial) arena.release(partial);
      });
      let call: SocketCall | undefined;
      const onData = (bytes: Buffer): void => {
        try {
          decoder.push(bytes, (kind, payload) => {
            if (call instanceof PublishSocketCall) {
              call.frame(kind, payload);
              return;
            }
            // Only a publish call's handler releases frames; any other frame is done with once looked at here.
            arena.release(payload);
            if (call) {
              call.frame(kind, payload);
              return;
            }
            if (kind === DataFrameKind.PUBLISH_OPEN) {
              const publish = new PublishSocketCall(socket, decoder, arena);
              call = publish;
              handlers.publish(publish);
            } else if (kind === DataFrameKind.SUBSCRIBE_OPEN) {
              const subscribe = new SubscribeSocketCall(socket, decoder, decodeSubscribeOpen(payload));
              call = subscribe;
              handlers.subscribe(subscribe);
            } else {
              throw decoder.malformed(`a data connection must open with PUBLISH_OPEN or SUBSCRIBE_OPEN, not kind ${kind}`);
            }
          });
        } catch (err) {
          handlers.malformed(err, `${socket.remoteAddress}:${socket.remotePort}`);
          socket.destroy();
        }
      };
      socket.on('data', onData);
      socket.on('error', () => undefined); // 'close' follows and ends the call
      if (rest.length > 0) onData(rest);
    },
  };
}

/** The shared half of both calls: the socket's end, close and drain as a gRPC server call reports them. */
abstract class SocketCall extends EventEmitter {
  private serverEnded = false;
  private closed = false;

  constructor(
    protected readonly socket: Socket,
    protected readonly decoder: FrameDecoder,
  ) {
    super();
    // As on a gRPC call, 'error' reports the client gone; it must never throw for want of a listener.
    this.on('error', () => undefined);
    socket.on('drain', () => this.emit('drain'));
    socket.on('end', () => this.clientEnded());
    socket.on('close', () => {
      this.closed = true;
      if (this.serverEnded) return;
      this.emit('cancelled');
      this.emit('error', new Error('the client closed the data connection'));
    });
  }

  /** True once the client went away before the server ended the stream. */
  get cancelled(): boolean {
    return this.closed && !this.serverEnded;
  }

  /** The client ended its side of the connection. */
  protected abstract clientEnded(): void;

  /** A frame after the opening one. */
  abstract frame(kind: number, payload: Buffer): void;

  end(): void {
    this.serverEnded = true;
    if (!this.socket.destroyed) this.socket.end();
  }

  /** Drops the connection at once, as a broker that goes away does; the client reports UNAVAILABLE. */
  destroy(): void {
    this.socket.destroy();
  }

  protected writeAll(buffers: Buffer[]): boolean {
    return writeBuffers(this.socket, buffers);
  }
}

class PublishSocketCall extends SocketCall implements PublishCall {
  private paused = false;

  constructor(
    socket: Socket,
    decoder: FrameDecoder,
    private readonly arena: ReceiveArena,
  ) {
    super(socket, decoder);
  }

  release(frame: PublishFrameMsg): void {
    if (frame.messages) this.arena.release(frame.messages);
  }

  /** No more frames: the acks still due go out, then the handler ends the stream. */
  protected clientEnded(): void {
    this.emit('end');
  }

  frame(kind: number, payload: Buffer): void {
    if (kind !== DataFrameKind.PUBLISH) throw this.decoder.malformed(`a publish stream got a frame of kind ${kind}`);
    this.emit('data', decodePublishFrame(payload, this.decoder));
  }

  isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
  }

  write(ack: PublishAckMsg): boolean {
    return this.writeAll([encodePublishAck(ack)]);
  }
}

class SubscribeSocketCall extends SocketCall implements SubscribeCall {
  constructor(
    socket: Socket,
    decoder: FrameDecoder,
    readonly request: SubscribeRequestMsg,
  ) {
    super(socket, decoder);
  }

  frame(kind: number): void {
    throw this.decoder.malformed(`a subscribe stream takes no frames after SUBSCRIBE_OPEN (got kind ${kind})`);
  }

  /** A subscriber never half-closes: its end is a cancellation, and 'close' reports it. */
  protected clientEnded(): void {
    this.socket.destroy();
  }

  write(frame: RecordsFrameMsg): boolean {
    return this.writeAll(encodeRecordsFrame(frame));
  }

  flushed(): boolean {
    return this.socket.writableLength === 0;
  }
}
