/**
 * Payloads of roomq's streaming fast path (proto/roomq/v1/data.proto carries them as `bytes`).
 * Big-endian, version 1.
 *
 * Publish request (PublishFrame.messages):
 *   0   4   count
 *   then count × entry:
 *       4   queueId
 *       4   sectionLength
 *       n   message section (record-codec.ts)
 *
 * Publish result (PublishAck.results), in request order:
 *   0   4   count
 *   then count × entry:
 *       4   queueId
 *       8   queueOffset
 *       8   physicalOffset
 */
import { readU64, writeU64 } from './bytes.js';
import { RoomqError } from './errors.js';
import { messageSectionSize, writeMessageSection, type MessageFields } from './record-codec.js';

export interface PublishEntry {
  queueId: number;
  fields: MessageFields;
}

/** One message of a decoded publish request: its section stays a view into the frame (no copy). */
export interface PublishEntryView {
  queueId: number;
  section: Buffer;
}

export interface PublishResultEntry {
  queueId: number;
  queueOffset: number;
  physicalOffset: number;
}

export function encodePublishRequest(entries: readonly PublishEntry[]): Buffer {
  let size = 4;
  const sizes = new Array<number>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    sizes[i] = messageSectionSize(entries[i]!.fields);
    size += 8 + sizes[i]!;
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(entries.length, 0);
  let p = 4;
  for (let i = 0; i < entries.length; i++) {
    buf.writeUInt32BE(entries[i]!.queueId, p);
    buf.writeUInt32BE(sizes[i]!, p + 4);
    p = writeMessageSection(buf, p + 8, entries[i]!.fields);
  }
  return buf;
}

/** Splits a publish request into entries; throws BAD_REQUEST if the framing does not add up. */
export function decodePublishRequest(buf: Buffer): PublishEntryView[] {
  if (buf.length < 4) throw new RoomqError('BAD_REQUEST', 'publish frame is shorter than its count field');
  const count = buf.readUInt32BE(0);
  const entries: PublishEntryView[] = [];
  let p = 4;
  for (let i = 0; i < count; i++) {
    if (p + 8 > buf.length) throw new RoomqError('BAD_REQUEST', `publish frame is truncated at entry ${i}`);
    const queueId = buf.readUInt32BE(p);
    const length = buf.readUInt32BE(p + 4);
    p += 8;
    if (p + length > buf.length) throw new RoomqError('BAD_REQUEST', `publish frame entry ${i} overruns the frame`);
    entries.push({ queueId, section: buf.subarray(p, p + length) });
    p += length;
  }
  if (p !== buf.length) throw new RoomqError('BAD_REQUEST', `publish frame has ${buf.length - p} trailing bytes`);
  return entries;
}

export function encodePublishResults(results: readonly PublishResultEntry[]): Buffer {
  const buf = Buffer.allocUnsafe(4 + results.length * 20);
  buf.writeUInt32BE(results.length, 0);
  let p = 4;
  for (const r of results) {
    buf.writeUInt32BE(r.queueId, p);
    writeU64(buf, r.queueOffset, p + 4);
    writeU64(buf, r.physicalOffset, p + 12);
    p += 20;
  }
  return buf;
}

export function decodePublishResults(buf: Buffer): PublishResultEntry[] {
  if (buf.length < 4) throw new RoomqError('BAD_REQUEST', 'publish result is shorter than its count field');
  const count = buf.readUInt32BE(0);
  if (buf.length !== 4 + count * 20) throw new RoomqError('BAD_REQUEST', 'publish result length does not match its count');
  const out: PublishResultEntry[] = new Array(count);
  for (let i = 0, p = 4; i < count; i++, p += 20) {
    out[i] = { queueId: buf.readUInt32BE(p), queueOffset: readU64(buf, p + 4), physicalOffset: readU64(buf, p + 12) };
  }
  return out;
}
