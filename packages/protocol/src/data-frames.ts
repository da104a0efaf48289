import { FRAME_HEADER_BYTES, FrameDecoder, encodeFrame, frameHeader } from './frame-codec.js';
import { readU64, writeU64 } from './bytes.js';
import { dataServiceDefinition } from './grpc-services.js';
import type { PublishAckMsg, PublishFrameMsg, RecordsFrameMsg, SubscribeRequestMsg } from './roomq-messages.js';

/**
 * The SDK's data path (DataService.Publish and Subscribe) over a plain TCP connection to the broker's port,
 * beside its gRPC services (port-sniffer.ts); one connection carries one call.
 *
 * Why not gRPC: a publish frame of a few hundred KiB, or a records frame of up to 1 MiB, crossed grpc-js as
 * 16 KiB HTTP/2 DATA frames with a callback and a concatenation each, plus a protobuf copy and a framing copy
 * on the sending side. Here the bulk bytes travel as they are behind a small header.
 *
 * Layout (frames per frame-codec.ts: u32 BE length | u8 kind | payload):
 *   preface         client → broker, once, first: 8 bytes ASCII "RQDATA01"
 *   1 PUBLISH_OPEN   client → broker  empty: this connection is a Publish stream
 *   2 SUBSCRIBE_OPEN client → broker  roomq.v1.SubscribeRequest (protobuf): this connection is that Subscribe
 *   3 PUBLISH        client → broker  u64 batch_id | publish request payload (publish-codec.ts)
 *   4 PUBLISH_ACK    broker → client  roomq.v1.PublishAck (protobuf)
 *   5 RECORDS        broker → client  u64 next_offset | u64 max_offset | records (record-codec format)
 *   6 RECORDS_STATUS broker → client  roomq.v1.RecordsFrame (protobuf) with the status that ends the stream
 * Messages mean what the same DataService messages mean over gRPC (data.proto).
 */
export const DATA_PREFACE = Buffer.from('RQDATA01', 'ascii');

export const DataFrameKind = { PUBLISH_OPEN: 1, SUBSCRIBE_OPEN: 2, PUBLISH: 3, PUBLISH_ACK: 4, RECORDS: 5, RECORDS_STATUS: 6 } as const;

const ID_BYTES = 8;
const RECORDS_HEADER_BYTES = 16;
const publishMethod = () => dataServiceDefinition()['Publish']!;
const subscribeMethod = () => dataServiceDefinition()['Subscribe']!;

/**
 * Frames larger than this are refused on a broker's data path before anything is allocated for them: the
 * gRPC DataService's message limit, so a client cannot make a broker reserve more than a publish may carry.
 */
export const MAX_DATA_FRAME_BYTES = 64 * 1024 * 1024;

export function dataFrameDecoder(maxFrameBytes = MAX_DATA_FRAME_BYTES, reusedInput = false, gatherInto?: (kind: number, size: number) => Buffer | undefined): FrameDecoder {
  return new FrameDecoder('data stream', maxFrameBytes, reusedInput, gatherInto);
}

export function encodePublishOpen(): Buffer {
  return encodeFrame(DataFrameKind.PUBLISH_OPEN, Buffer.alloc(0));
}

export function encodeSubscribeOpen(request: SubscribeRequestMsg): Buffer {
  return encodeFrame(DataFrameKind.SUBSCRIBE_OPEN, subscribeMethod().requestSerialize(request));
}

export function decodeSubscribeOpen(payload: Buffer): SubscribeRequestMsg {
  return subscribeMethod().requestDeserialize(payload) as SubscribeRequestMsg;
}

/** A publish frame as two buffers to write in order (corked): the messages go out as they are. */
export function encodePublishFrame(frame: PublishFrameMsg): Buffer[] {
  const messages = frame.messages ?? Buffer.alloc(0);
  const header = frameHeader(DataFrameKind.PUBLISH, ID_BYTES + messages.length, ID_BYTES);
  writeU64(header, frame.batch_id ?? 0, FRAME_HEADER_BYTES);
  return [header, messages];
}

/** Throws BAD_REQUEST (through `decoder`) when the payload is shorter than its batch id. */
export function decodePublishFrame(payload: Buffer, decoder: FrameDecoder): PublishFrameMsg {
  if (payload.length < ID_BYTES) throw decoder.malformed(`a publish frame of ${payload.length} bytes is shorter than its batch id`);
  return { batch_id: readU64(payload, 0), messages: payload.subarray(ID_BYTES) };
}

export function encodePublishAck(ack: PublishAckMsg): Buffer {
  return encodeFrame(DataFrameKind.PUBLISH_ACK, publishMethod().responseSerialize(ack));
}

/** A records frame as buffers to write in order (corked); one that carries a status goes as protobuf. */
export function encodeRecordsFrame(frame: RecordsFrameMsg): Buffer[] {
  if (frame.status) return [encodeFrame(DataFrameKind.RECORDS_STATUS, subscribeMethod().responseSerialize(frame))];
  const records = frame.records ?? Buffer.alloc(0);
  const header = frameHeader(DataFrameKind.RECORDS, RECORDS_HEADER_BYTES + records.length, RECORDS_HEADER_BYTES);
  writeU64(header, frame.next_offset ?? 0, FRAME_HEADER_BYTES);
  writeU64(header, frame.max_offset ?? 0, FRAME_HEADER_BYTES + 8);
  return records.length > 0 ? [header, records] : [header];
}

/** What the broker sends on a data connection; throws BAD_REQUEST (through `decoder`) on anything else. */
export function decodeBrokerDataFrame(kind: number, payload: Buffer, decoder: FrameDecoder): { ack: PublishAckMsg } | { records: RecordsFrameMsg } {
  switch (kind) {
    case DataFrameKind.PUBLISH_ACK:
      return { ack: publishMethod().responseDeserialize(payload) as PublishAckMsg };
    case DataFrameKind.RECORDS:
      if (payload.length < RECORDS_HEADER_BYTES) throw decoder.malformed(`a records frame of ${payload.length} bytes is shorter than its header`);
      return { records: { next_offset: readU64(payload, 0), max_offset: readU64(payload, 8), records: payload.subarray(RECORDS_HEADER_BYTES) } };
    case DataFrameKind.RECORDS_STATUS:
      return { records: subscribeMethod().responseDeserialize(payload) as RecordsFrameMsg };
    default:
      throw decoder.malformed(`the broker sent a frame of kind ${kind}`);
  }
}
