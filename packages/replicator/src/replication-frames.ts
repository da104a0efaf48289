import { FRAME_HEADER_BYTES, FrameDecoder, type ReceiveArena, encodeFrame, frameHeader, readU64, replicationServiceDefinition, writeU64 } from '@roomq/protocol';
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
 *   frame    u32 BE length of what follows | u8 kind | payload (frame-codec.ts in @roomq/protocol)
 *     kind 1 REPLICA   replica → upstream   payload: roomq.v1.ReplicaMessage (protobuf): hello, progress
 *     kind 2 UPSTREAM  upstream → replica   payload: roomq.v1.UpstreamMessage (protobuf): refusal, truncate
 *     kind 3 CHUNK     upstream → replica   payload: u64 offset | u64 upstream_end_offset | u64 master_time_ms | records
 * Messages mean what the same messages mean on the gRPC ReplicationService (replication.proto).
 */
export const REPLICATION_PREFACE = Buffer.from('RQREPL01', 'ascii');

export const FrameKind = { REPLICA: 1, UPSTREAM: 2, CHUNK: 3 } as const;

const CHUNK_HEADER_BYTES = 24;

const method = () => replicationServiceDefinition()['Replicate']!;

/** The frame of a replica's message (hello or progress). */
export function encodeReplicaFrame(message: WireReplicaMessage): Buffer {
  return encodeFrame(FrameKind.REPLICA, method().requestSerialize(message));
}

/**
 * The buffers of an upstream message's frame, to be written in order (corked): a chunk's records go out as
 * they are, without a copy.
 */
export function encodeUpstreamFrame(message: WireUpstreamMessage): Buffer[] {
  if (message.chunk) {
    const chunk = message.chunk;
    const records = chunk.records ?? Buffer.alloc(0);
    const header = frameHeader(FrameKind.CHUNK, CHUNK_HEADER_BYTES + records.length, CHUNK_HEADER_BYTES);
    writeU64(header, chunk.offset ?? 0, FRAME_HEADER_BYTES);
    writeU64(header, chunk.upstream_end_offset ?? 0, FRAME_HEADER_BYTES + 8);
    writeU64(header, chunk.master_time_ms ?? 0, FRAME_HEADER_BYTES + 16);
    return records.length > 0 ? [header, records] : [header];
  }
  return [encodeFrame(FrameKind.UPSTREAM, method().responseSerialize(message))];
}

export function decodeReplicaPayload(kind: number, payload: Buffer, decoder: FrameDecoder): WireReplicaMessage {
  if (kind !== FrameKind.REPLICA) throw decoder.malformed(`a replica sent a frame of kind ${kind}`);
  return method().requestDeserialize(payload) as WireReplicaMessage;
}

export function decodeUpstreamPayload(kind: number, payload: Buffer, decoder: FrameDecoder): WireUpstreamMessage {
  if (kind === FrameKind.CHUNK) {
    if (payload.length < CHUNK_HEADER_BYTES) throw decoder.malformed(`a chunk frame of ${payload.length} bytes is shorter than its header`);
    const chunk: WireLogChunk = {
      offset: readU64(payload, 0),
      upstream_end_offset: readU64(payload, 8),
      master_time_ms: readU64(payload, 16),
      records: payload.subarray(CHUNK_HEADER_BYTES),
    };
    return { kind: 'chunk', chunk };
  }
  if (kind === FrameKind.UPSTREAM) return method().responseDeserialize(payload) as WireUpstreamMessage;
  throw decoder.malformed(`the upstream sent a frame of kind ${kind}`);
}

/**
 * Most bytes a replica's own frame (hello, progress) may claim at its upstream: reports are small, and anyone
 * who reaches the broker's port can open a replication connection, so this is what one can make it reserve.
 */
export const MAX_REPLICA_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * A decoder of the replication stream's frames; `maxFrameBytes` as the receiving side allows, `reusedInput`
 * when the socket reads into one buffer it reuses, `chunkArena` where chunk frames are gathered (FrameDecoder).
 */
export function replicationFrameDecoder(maxFrameBytes?: number, reusedInput = false, chunkArena?: ReceiveArena): FrameDecoder {
  const gatherInto = chunkArena ? (kind: number, size: number) => (kind === FrameKind.CHUNK && size >= ARENA_MIN_CHUNK_BYTES ? chunkArena.take(size) : undefined) : undefined;
  return new FrameDecoder('replication stream', maxFrameBytes, reusedInput, gatherInto);
}

/**
 * Smaller chunk frames (a light load's, and the empty ones that say the upstream's end) come from Node's buffer
 * pool, which costs the garbage collector little; every chunk taken from the arena carries records, which the
 * follower releases once appended.
 */
const ARENA_MIN_CHUNK_BYTES = 16 * 1024;
