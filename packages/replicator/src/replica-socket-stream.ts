import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { ReceiveArena, RoomqError, parseHostPort, sharedOnRead } from '@roomq/protocol';
import { replicationFrameDecoder, REPLICATION_PREFACE, decodeUpstreamPayload, encodeReplicaFrame } from './replication-frames.js';
import type { WireReplicaMessage, WireUpstreamMessage } from './replication-wire.js';

/**
 * Room for the chunks a replica holds at once: those read ahead of its appends and those appended but not yet
 * durable (the follower pipelines a few flush groups' worth). A chunk that finds no room gets a buffer of its own.
 */
const CHUNK_ARENA_BYTES = 32 * 1024 * 1024;

/**
 * The replica's side of one replication connection over TCP (replication-frames.ts): an object-mode Readable
 * of the upstream's messages (so `for await` reads it, and reading pauses the socket while the replica's
 * appends lag), write() of the replica's own messages with 'drain', and cancel(). Shaped like the gRPC client
 * stream ReplicaFollower was written for. A connection that fails or closes early ends the Readable with
 * UNAVAILABLE naming the upstream.
 */
export class ReplicaSocketStream extends Readable {
  private readonly socket: Socket;
  /** Chunks are gathered here and released by the follower once appended (releaseChunk). */
  private readonly arena = new ReceiveArena(CHUNK_ARENA_BYTES);
  private readonly decoder = replicationFrameDecoder(undefined, true, this.arena);

  constructor(private readonly upstream: string) {
    super({ objectMode: true, highWaterMark: 16 });
    const address = parseHostPort(upstream);
    // The follower's options schema already checked the endpoint; a bad one fails like an unreachable one.
    // A chunk arrives in one read (sharedOnRead); the decoder copies every frame out of the shared buffer.
    this.socket = connect({ host: address?.host ?? upstream, port: address?.port ?? 0, onread: sharedOnRead((bytes) => this.receive(bytes)) });
    this.socket.setNoDelay(true);
    this.socket.write(REPLICATION_PREFACE);
    this.socket.on('drain', () => this.emit('drain'));
    this.socket.on('end', () => this.push(null));
    this.socket.on('error', (err: Error) => this.destroy(new RoomqError('UNAVAILABLE', `replication connection to ${upstream} failed: ${err.message}`, { cause: err, details: { endpoint: upstream } })));
    this.socket.on('close', () => {
      if (!this.readableEnded && !this.destroyed) this.destroy(new RoomqError('UNAVAILABLE', `the replication connection to ${upstream} closed`, { details: { endpoint: upstream } }));
    });
  }

  override _read(): void {
    this.socket.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(err);
  }

  write(message: WireReplicaMessage): boolean {
    if (this.socket.destroyed) return true;
    return this.socket.write(encodeReplicaFrame(message));
  }

  /**
   * The chunk's bytes (its records, or a view inside them) are no longer needed: they are durable in the log,
   * which kept no view of them. A chunk whose append failed is never released; the stream ends after it.
   */
  releaseChunk(records: Buffer): void {
    this.arena.release(records);
  }

  /** Ends the connection at once; reads then fail with ABORTED. */
  cancel(): void {
    if (!this.destroyed) this.destroy(new RoomqError('ABORTED', `replication from ${this.upstream} was cancelled`, { details: { endpoint: this.upstream } }));
  }

  /** Bytes read into the shared buffer, which is reused once this returns. Returns false to pause reading. */
  private receive(bytes: Buffer): boolean {
    let more = true;
    try {
      this.decoder.push(bytes, (kind, payload) => {
        if (!this.push(decodeUpstreamPayload(kind, payload, this.decoder) satisfies WireUpstreamMessage)) more = false;
      });
    } catch (err) {
      this.destroy(err as Error);
      return false;
    }
    return more;
  }
}
