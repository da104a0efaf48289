import { RoomqError, readU64, replicationServiceDefinition, writeU64 } from '@roomq/protocol';
import type { WireLogChunk, WireReplicaMessage, WireUpstreamMessage } from './replication-wire.js';

/**
 * Chain replication over a plain TCP connection to the upstream broker's port, beside its gRPC services: the
 * first bytes of a connection say which protocol it speaks (port-sniffer in @roomq/protocol).
 *
 * Why not gRPC: a replica receives every byte the master stores, in chunks of up to a few hundred KiB. grpc-js
 * moves such a message through 16 KiB HTTP/2 DATA frames, a callback and a concatenation each, and copies it
 * twice more on the sending side; in a chain of three on 2 cores that was a fifth of each replica's CPU. Here a
 * chunk is read into one buffer, and written as a 29-byte header plus the log's own bytes.
 *
 * Layout:
 *   preface  replica → upstream, once, first: 8 bytes ASCII "RQREPL01"
 *   frame    u32 BE length of what follows | u8 kind | payload
 *     kind 1 REPLICA   replica → upstream   payload: roomq.v1.ReplicaMessage (protobuf): hello, progress
 *     kind 2 UPSTREAM  upstream → replica   payload: roomq.v1.UpstreamMessage (protobuf): refusal, truncate
 *     kind 3 CHUNK     upstream → replica   payload: u64 offset | u64 upstream_end_offset | u64 master_time_ms | records
 * Messages mean what the same messages mean on the gRPC ReplicationService (replication.proto).
 */
export const REPLICATION_PREFACE = Buffer.from('RQREPL01', 'ascii');

export const FrameKind = { REPLICA: 1, UPSTREAM: 2, CHUNK: 3 } as const;
type FrameKindCode = (typeof FrameKind)[keyof typeof FrameKind];

const LENGTH_BYTES = 4;
const HEADER_BYTES = LENGTH_BYTES + 1;
const CHUNK_HEADER_BYTES = 24;
/** Larger frames are refused: a chunk holds at most a few MiB (one oversized record); this is a garbage guard. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

const method = () => replicationServiceDefinition()['Replicate']!;

/** The frame of a replica's message (hello or progress). */
export function encodeReplicaFrame(message: WireReplicaMessage): Buffer {
  return frame(FrameKind.REPLICA, method().requestSerialize(message));
}

/**
 * The buffers of an upstream message's frame, to be written in order (corked): a chunk's records go out as
 * they are, without a copy.
 */
export function encodeUpstreamFrame(message: WireUpstreamMessage): Buffer[] {
  if (message.chunk) {
    const chunk = message.chunk;
    const records = chunk.records ?? Buffer.alloc(0);
    const header = Buffer.allocUnsafe(HEADER_BYTES + CHUNK_HEADER_BYTES);
    header.writeUInt32BE(1 + CHUNK_HEADER_BYTES + records.length, 0);
    header[LENGTH_BYTES] = FrameKind.CHUNK;
    writeU64(header, chunk.offset ?? 0, HEADER_BYTES);
    writeU64(header, chunk.upstream_end_offset ?? 0, HEADER_BYTES + 8);
    writeU64(header, chunk.master_time_ms ?? 0, HEADER_BYTES + 16);
    return records.length > 0 ? [header, records] : [header];
  }
  return [frame(FrameKind.UPSTREAM, method().responseSerialize(message))];
}

export function decodeReplicaPayload(kind: number, payload: Buffer): WireReplicaMessage {
  if (kind !== FrameKind.REPLICA) throw malformed(`a replica sent a frame of kind ${kind}`);
  return method().requestDeserialize(payload) as WireReplicaMessage;
}

export function decodeUpstreamPayload(kind: number, payload: Buffer): WireUpstreamMessage {
  if (kind === FrameKind.CHUNK) {
    if (payload.length < CHUNK_HEADER_BYTES) throw malformed(`a chunk frame of ${payload.length} bytes is shorter than its header`);
    const chunk: WireLogChunk = {
      offset: readU64(payload, 0),
      upstream_end_offset: readU64(payload, 8),
      master_time_ms: readU64(payload, 16),
      records: payload.subarray(CHUNK_HEADER_BYTES),
    };
    return { kind: 'chunk', chunk };
  }
  if (kind === FrameKind.UPSTREAM) return method().responseDeserialize(payload) as WireUpstreamMessage;
  throw malformed(`the upstream sent a frame of kind ${kind}`);
}

/**
 * Cuts a byte stream into frames. Bytes arrive in socket-sized pieces; a frame's payload is gathered into one
 * buffer of its size as soon as its length is known, so each byte is copied once.
 */
export class FrameDecoder {
  private header = Buffer.alloc(HEADER_BYTES);
  private headerFilled = 0;
  private payload: Buffer | undefined;
  private payloadFilled = 0;
  private kind = 0;

  /** Calls `onFrame` for every whole frame in `bytes` (and what came before); throws on a malformed stream. */
  push(bytes: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.payload === undefined) {
        const n = Math.min(HEADER_BYTES - this.headerFilled, bytes.length - at);
        bytes.copy(this.header, this.headerFilled, at, at + n);
        this.headerFilled += n;
        at += n;
        if (this.headerFilled < HEADER_BYTES) return;
        const length = this.header.readUInt32BE(0);
        if (length < 1 || length > MAX_FRAME_BYTES) throw malformed(`a frame claims ${length} bytes (at most ${MAX_FRAME_BYTES})`);
        this.kind = this.header[LENGTH_BYTES]!;
        const size = length - 1;
        // A whole payload already in this piece is served as a view, without a copy.
        if (bytes.length - at >= size) {
          const payload = bytes.subarray(at, at + size);
          at += size;
          this.headerFilled = 0;
          onFrame(this.kind, payload);
          continue;
        }
        this.payload = Buffer.allocUnsafe(size);
        this.payloadFilled = 0;
      }
      const payload = this.payload;
      const n = Math.min(payload.length - this.payloadFilled, bytes.length - at);
      bytes.copy(payload, this.payloadFilled, at, at + n);
      this.payloadFilled += n;
      at += n;
      if (this.payloadFilled < payload.length) return;
      this.payload = undefined;
      this.headerFilled = 0;
      onFrame(this.kind, payload);
    }
  }
}

function frame(kind: FrameKindCode, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE(1 + payload.length, 0);
  out[LENGTH_BYTES] = kind;
  payload.copy(out, HEADER_BYTES);
  return out;
}

function malformed(what: string): RoomqError {
  return new RoomqError('BAD_REQUEST', `malformed replication stream: ${what}`);
}
