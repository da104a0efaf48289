/**
 * The roomq record format, version 1: the bytes of the broker's commit log, of replication streams and of
 * pull frames sent to clients. One format everywhere means a record has the same bytes, ID, queue offset and
 * checksum in every room and on every client.
 *
 * All integers are big-endian. Strings are UTF-8 with a u16 length prefix.
 *
 *   offset  size  field
 *   0       4     totalLength      bytes of the whole record, this field included
 *   4       2     magic            0x5251 ("RQ")
 *   6       1     formatVersion    1
 *   7       1     recordType       1 MESSAGE, 2 OFFSET_COMMIT, 3 SEGMENT_END
 *   8       4     crc32c           CRC32C of bytes [12, totalLength)
 *   12      8     physicalOffset   where this record starts in its log; misplaced bytes fail this check
 *   20      8     storeTimestampMs when the broker stored it
 *   28      ...   body, by record type
 *
 * MESSAGE body:
 *   28      4     queueId
 *   32      8     queueOffset
 *   40      ...   message section (below), byte for byte what the producer sent
 *
 * Message section (also the unit producers send on the fast path, see publish-codec.ts):
 *   +0      8     bornTimestampMs  when the producer created it
 *   +8      4     flags            reserved, 0
 *   +12     2+n   topic
 *           2+n   messageId
 *           2+n   tag              empty string for none
 *           2     keyCount, then keyCount × (2+n key)
 *           2     propertyCount, then propertyCount × (2+n name, 2+n value)
 *           4+n   body
 *
 * OFFSET_COMMIT body (a consumer group's progress, stored in the log so it survives and replicates):
 *   28      2+n   group
 *           2+n   topic
 *           4     queueId
 *           8     offset           next queue offset the group will consume
 *
 * SEGMENT_END body: none; totalLength is 28. The rest of the segment file is unused and the log continues at
 * the start of the next segment.
 */
import { readU64, writeU64 } from './bytes.js';
import { crc32c, crc32cAppend, crc32cSmall } from './checksums.js';
import { RoomqError } from './errors.js';
import { utf8Length, writeUtf8 } from './short-strings.js';

export const RECORD_MAGIC = 0x5251;
export const RECORD_FORMAT_VERSION = 1;
export const RECORD_HEADER_SIZE = 28;
export const MESSAGE_FIXED_SIZE = RECORD_HEADER_SIZE + 12;
/** Offset of the CRC-covered region. */
const CRC_START = 12;

export const RecordType = {
  MESSAGE: 1,
  OFFSET_COMMIT: 2,
  SEGMENT_END: 3,
} as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

/** What a producer supplies; everything the broker does not assign. */
export interface MessageFields {
  topic: string;
  messageId: string;
  tag: string;
  keys: readonly string[];
  properties: Readonly<Record<string, string>>;
  body: Buffer;
  bornTimestampMs: number;
  flags?: number;
}

export interface RecordHeader {
  totalLength: number;
  type: RecordTypeCode;
  crc: number;
  physicalOffset: number;
  storeTimestampMs: number;
}

export interface MessageRecord extends MessageFields, RecordHeader {
  type: typeof RecordType.MESSAGE;
  queueId: number;
  queueOffset: number;
  flags: number;
}

export interface OffsetCommitRecord extends RecordHeader {
  type: typeof RecordType.OFFSET_COMMIT;
  group: string;
  topic: string;
  queueId: number;
  offset: number;
}

export interface SegmentEndRecord extends RecordHeader {
  type: typeof RecordType.SEGMENT_END;
}

export type DecodedRecord = MessageRecord | OffsetCommitRecord | SegmentEndRecord;

// ---------------------------------------------------------------------------------------------------------
// Message sections

/** Bytes needed to encode `fields` as a message section. */
export function messageSectionSize(fields: MessageFields): number {
  let size = 12 + 2 + utf8Length(fields.topic) + 2 + utf8Length(fields.messageId) + 2 + utf8Length(fields.tag);
  size += 2;
  for (const key of fields.keys) size += 2 + utf8Length(key);
  size += 2;
  for (const name in fields.properties) size += 4 + utf8Length(name) + utf8Length(fields.properties[name]!);
  return size + 4 + fields.body.length;
}

/** Writes a message section at `at`; returns the position after it. */
export function writeMessageSection(target: Buffer, at: number, fields: MessageFields): number {
  let p = at;
  writeU64(target, fields.bornTimestampMs, p);
  target.writeUInt32BE(fields.flags ?? 0, p + 8);
  p += 12;
  p = writeString(target, p, fields.topic);
  p = writeString(target, p, fields.messageId);
  p = writeString(target, p, fields.tag);
  target.writeUInt16BE(fields.keys.length, p);
  p += 2;
  for (const key of fields.keys) p = writeString(target, p, key);
  const countAt = p;
  p += 2;
  let count = 0;
  for (const name in fields.properties) {
    p = writeString(target, p, name);
    p = writeString(target, p, fields.properties[name]!);
    count++;
  }
  target.writeUInt16BE(count, countAt);
  target.writeUInt32BE(fields.body.length, p);
  p += 4;
  fields.body.copy(target, p);
  return p + fields.body.length;
}

export function encodeMessageSection(fields: MessageFields): Buffer {
  const buf = Buffer.allocUnsafe(messageSectionSize(fields));
  writeMessageSection(buf, 0, fields);
  return buf;
}

/** The parts of a section the broker checks and indexes without decoding the body. */
export interface SectionSummary {
  topic: string;
  messageId: string;
  tag: string;
  keys: string[];
  propertiesBytes: number;
  bodyLength: number;
}

/**
 * Parses the section at `[start, end)` strictly: every length must land inside the range and the body must
 * end exactly at `end`. Throws BAD_REQUEST naming the first field that does not fit.
 */
export function summarizeMessageSection(buf: Buffer, start: number, end: number): SectionSummary {
  const r = new Reader(buf, start, end, 'message section');
  r.skip(12, 'header');
  const topic = r.string('topic');
  const messageId = r.string('messageId');
  const tag = r.string('tag');
  const keyCount = r.u16('keyCount');
  const keys: string[] = [];
  for (let i = 0; i < keyCount; i++) keys.push(r.string('key'));
  const propsStart = r.pos;
  const propCount = r.u16('propertyCount');
  for (let i = 0; i < propCount; i++) {
    r.skipString('property name');
    r.skipString('property value');
  }
  const propertiesBytes = r.pos - propsStart;
  const bodyLength = r.u32('bodyLength');
  r.skip(bodyLength, 'body');
  if (r.pos !== end) throw badRequest(`message section has ${end - r.pos} trailing bytes`);
  return { topic, messageId, tag, keys, propertiesBytes, bodyLength };
}

/**
 * Where a section's strings lie in its buffer, as byte ranges [start, end): for a reader that hashes or compares
 * them instead of decoding them (a replica indexes every record it copies and needs no string but the topic).
 */
export interface SectionLayout {
  topicStart: number;
  topicEnd: number;
  messageIdStart: number;
  messageIdEnd: number;
  tagStart: number;
  tagEnd: number;
  /** Where the first key's u16 length is; the keys follow one another, each a u16 length and its bytes. */
  keysAt: number;
  keyCount: number;
}

/** A SectionLayout to pass to layoutMessageSection and reuse. */
export function newSectionLayout(): SectionLayout {
  return { topicStart: 0, topicEnd: 0, messageIdStart: 0, messageIdEnd: 0, tagStart: 0, tagEnd: 0, keysAt: 0, keyCount: 0 };
}

/**
 * The layout of the section at `[start, end)`, into `into`, checked exactly as summarizeMessageSection checks it
 * (the same errors for the same bytes), but with no string decoded.
 */
export function layoutMessageSection(buf: Buffer, start: number, end: number, into: SectionLayout): SectionLayout {
  const r = new Reader(buf, start, end, 'message section');
  r.skip(12, 'header');
  into.topicStart = r.stringStart('topic');
  into.topicEnd = r.pos;
  into.messageIdStart = r.stringStart('messageId');
  into.messageIdEnd = r.pos;
  into.tagStart = r.stringStart('tag');
  into.tagEnd = r.pos;
  into.keyCount = r.u16('keyCount');
  into.keysAt = r.pos;
  for (let i = 0; i < into.keyCount; i++) r.skipString('key');
  const propCount = r.u16('propertyCount');
  for (let i = 0; i < propCount; i++) {
    r.skipString('property name');
    r.skipString('property value');
  }
  const bodyLength = r.u32('bodyLength');
  r.skip(bodyLength, 'body');
  if (r.pos !== end) throw badRequest(`message section has ${end - r.pos} trailing bytes`);
  return into;
}

// ---------------------------------------------------------------------------------------------------------
// Records

export interface MessagePlacement {
  physicalOffset: number;
  storeTimestampMs: number;
  queueId: number;
  queueOffset: number;
}

export function messageRecordSize(sectionLength: number): number {
  return MESSAGE_FIXED_SIZE + sectionLength;
}

/**
 * Writes a MESSAGE record around an already-encoded section (`section[sectionStart, sectionEnd)`), so the
 * broker stores exactly the bytes the producer sent. Returns the record's size.
 */
export function writeMessageRecord(
  target: Buffer,
  at: number,
  placement: MessagePlacement,
  section: Buffer,
  sectionStart = 0,
  sectionEnd = section.length,
): number {
  // The broker's hot path: one call per stored message, so no views, no objects and no bounds-checked writes.
  const sectionLength = sectionEnd - sectionStart;
  const total = MESSAGE_FIXED_SIZE + sectionLength;
  if (at < 0 || at + total > target.length) throw new RangeError(`a ${total}-byte record does not fit at ${at} in a ${target.length}-byte buffer`);
  const { physicalOffset, storeTimestampMs, queueId, queueOffset } = placement;
  if (!isU64(physicalOffset) || !isU64(storeTimestampMs) || !isU64(queueOffset) || queueId >>> 0 !== queueId) {
    throw new RangeError(`placement ${JSON.stringify(placement)} is out of range`);
  }
  putU32(target, at, total);
  target[at + 4] = RECORD_MAGIC >>> 8;
  target[at + 5] = RECORD_MAGIC & 0xff;
  target[at + 6] = RECORD_FORMAT_VERSION;
  target[at + 7] = RecordType.MESSAGE;
  putU64(target, at + 12, physicalOffset);
  putU64(target, at + 20, storeTimestampMs);
  putU32(target, at + 28, queueId);
  putU64(target, at + 32, queueOffset);
  const whole = sectionStart === 0 && sectionEnd === section.length;
  const body = whole ? section : section.subarray(sectionStart, sectionEnd);
  target.set(body, at + MESSAGE_FIXED_SIZE);
  // CRC of [12, total): the 28 placement bytes in JS, then the section natively, straight from the caller's buffer.
  putU32(target, at + 8, crc32cAppend(crc32cSmall(0, target, at + CRC_START, at + MESSAGE_FIXED_SIZE), body));
  return total;
}

export interface OffsetCommitFields {
  group: string;
  topic: string;
  queueId: number;
  offset: number;
}

export function offsetCommitRecordSize(fields: OffsetCommitFields): number {
  return RECORD_HEADER_SIZE + 2 + Buffer.byteLength(fields.group) + 2 + Buffer.byteLength(fields.topic) + 12;
}

export function writeOffsetCommitRecord(
  target: Buffer,
  at: number,
  physicalOffset: number,
  storeTimestampMs: number,
  fields: OffsetCommitFields,
): number {
  const total = offsetCommitRecordSize(fields);
  writeHeader(target, at, total, RecordType.OFFSET_COMMIT, physicalOffset, storeTimestampMs);
  let p = writeString(target, at + RECORD_HEADER_SIZE, fields.group);
  p = writeString(target, p, fields.topic);
  target.writeUInt32BE(fields.queueId, p);
  writeU64(target, fields.offset, p + 4);
  sealRecord(target, at, total);
  return total;
}

export function writeSegmentEndRecord(target: Buffer, at: number, physicalOffset: number, storeTimestampMs: number): number {
  writeHeader(target, at, RECORD_HEADER_SIZE, RecordType.SEGMENT_END, physicalOffset, storeTimestampMs);
  sealRecord(target, at, RECORD_HEADER_SIZE);
  return RECORD_HEADER_SIZE;
}

function writeHeader(target: Buffer, at: number, total: number, type: RecordTypeCode, physicalOffset: number, storeTimestampMs: number): void {
  target.writeUInt32BE(total, at);
  target.writeUInt16BE(RECORD_MAGIC, at + 4);
  target[at + 6] = RECORD_FORMAT_VERSION;
  target[at + 7] = type;
  writeU64(target, physicalOffset, at + 12);
  writeU64(target, storeTimestampMs, at + 20);
}

function sealRecord(target: Buffer, at: number, total: number): void {
  target.writeUInt32BE(crc32c(target, at + CRC_START, at + total), at + 8);
}

/** Why bytes at a position are not a valid record. */
export type HeaderProblem = 'short' | 'bad-magic' | 'bad-version' | 'bad-type' | 'bad-length';

/**
 * Reads a record header without checking the CRC. `available` is how many bytes from `at` belong to the log.
 * Returns a problem instead of throwing: recovery uses it to tell a torn tail from corruption.
 */
export function readRecordHeader(buf: Buffer, at: number, available = buf.length - at): RecordHeader | HeaderProblem {
  if (available < RECORD_HEADER_SIZE) return 'short';
  const totalLength = buf.readUInt32BE(at);
  if (buf.readUInt16BE(at + 4) !== RECORD_MAGIC) return 'bad-magic';
  if (buf[at + 6] !== RECORD_FORMAT_VERSION) return 'bad-version';
  const type = buf[at + 7]!;
  if (type !== RecordType.MESSAGE && type !== RecordType.OFFSET_COMMIT && type !== RecordType.SEGMENT_END) return 'bad-type';
  const minimum = type === RecordType.MESSAGE ? MESSAGE_FIXED_SIZE : RECORD_HEADER_SIZE;
  if (totalLength < minimum || (type === RecordType.SEGMENT_END && totalLength !== RECORD_HEADER_SIZE)) return 'bad-length';
  if (totalLength > available) return 'short';
  return {
    totalLength,
    type: type as RecordTypeCode,
    crc: buf.readUInt32BE(at + 8),
    physicalOffset: readU64(buf, at + 12),
    storeTimestampMs: readU64(buf, at + 20),
  };
}

/** True when the stored CRC matches the record's bytes. */
export function recordChecksumValid(buf: Buffer, at: number, totalLength: number): boolean {
  return buf.readUInt32BE(at + 8) === crc32c(buf, at + CRC_START, at + totalLength);
}

/** Queue placement of a MESSAGE record without decoding the rest; used on hot paths. */
export function readMessagePlacement(buf: Buffer, at: number): { queueId: number; queueOffset: number } {
  return { queueId: buf.readUInt32BE(at + 28), queueOffset: readU64(buf, at + 32) };
}

/**
 * Decodes the record at `at`, verifying magic, length and CRC. Throws MESSAGE_CORRUPTED if any check fails,
 * naming the physical offset when it is known.
 */
export function decodeRecord(buf: Buffer, at = 0, available = buf.length - at): DecodedRecord {
  const header = readRecordHeader(buf, at, available);
  if (typeof header === 'string') {
    throw new RoomqError('MESSAGE_CORRUPTED', `record at byte ${at} is unreadable (${header})`, { details: { at } });
  }
  if (!recordChecksumValid(buf, at, header.totalLength)) {
    throw new RoomqError('MESSAGE_CORRUPTED', `record at log offset ${header.physicalOffset} fails its checksum`, {
      details: { offset: header.physicalOffset },
    });
  }
  const end = at + header.totalLength;
  switch (header.type) {
    case RecordType.MESSAGE:
      return decodeMessageRecord(buf, at, end, header);
    case RecordType.OFFSET_COMMIT: {
      const r = new Reader(buf, at + RECORD_HEADER_SIZE, end, 'offset commit record');
      const group = r.string('group');
      const topic = r.string('topic');
      const queueId = r.u32('queueId');
      const offset = r.u64('offset');
      return { ...header, type: RecordType.OFFSET_COMMIT, group, topic, queueId, offset };
    }
    default:
      return { ...header, type: RecordType.SEGMENT_END };
  }
}

/**
 * Builds the message as one object literal with a fixed field order: consumers decode every record they
 * receive, and spreading partial objects here made V8 allocate and reshape several objects per message.
 */
function decodeMessageRecord(buf: Buffer, at: number, end: number, header: RecordHeader): MessageRecord {
  const r = new Reader(buf, at + MESSAGE_FIXED_SIZE, end, 'message section');
  const bornTimestampMs = r.u64('bornTimestampMs');
  const flags = r.u32('flags');
  const topic = r.string('topic');
  const messageId = r.string('messageId');
  const tag = r.string('tag');
  const keyCount = r.u16('keyCount');
  const keys: string[] = new Array(keyCount);
  for (let i = 0; i < keyCount; i++) keys[i] = r.string('key');
  const propCount = r.u16('propertyCount');
  const properties: Record<string, string> = {};
  for (let i = 0; i < propCount; i++) {
    const name = r.string('property name');
    properties[name] = r.string('property value');
  }
  const bodyLength = r.u32('bodyLength');
  const body = r.bytes(bodyLength, 'body');
  return {
    totalLength: header.totalLength,
    type: RecordType.MESSAGE,
    crc: header.crc,
    physicalOffset: header.physicalOffset,
    storeTimestampMs: header.storeTimestampMs,
    queueId: buf.readUInt32BE(at + 28),
    queueOffset: readU64(buf, at + 32),
    topic,
    messageId,
    tag,
    keys,
    properties,
    body,
    bornTimestampMs,
    flags,
  };
}

/** Calls `visit` for each record in a buffer of whole records (a pull frame or a log chunk). */
export function forEachRecord(buf: Buffer, visit: (record: DecodedRecord, at: number) => void): void {
  let at = 0;
  while (at < buf.length) {
    const record = decodeRecord(buf, at);
    visit(record, at);
    at += record.totalLength;
  }
}

// ---------------------------------------------------------------------------------------------------------

function isU64(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function putU32(target: Buffer, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = value >>> 16;
  target[at + 2] = value >>> 8;
  target[at + 3] = value;
}

/** Big-endian u64 of a safe integer (see bytes.ts), without Buffer's per-call checks. */
function putU64(target: Buffer, at: number, value: number): void {
  putU32(target, at, Math.floor(value / 0x1_0000_0000));
  putU32(target, at + 4, value >>> 0);
}

function writeString(target: Buffer, at: number, value: string): number {
  const length = writeUtf8(target, at + 2, value);
  target.writeUInt16BE(length, at);
  return at + 2 + length;
}

function badRequest(message: string): RoomqError {
  return new RoomqError('BAD_REQUEST', message);
}

/** Bounds-checked sequential reader; every overrun names the field that did not fit. */
class Reader {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly end: number,
    private readonly what: string,
  ) {
    this.pos = start;
  }
  private need(n: number, field: string): void {
    if (this.pos + n > this.end) throw badRequest(`${this.what} is truncated at ${field}`);
  }
  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(field: string): number {
    this.need(8, field);
    const v = readU64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }
  string(field: string): string {
    const n = this.u16(field);
    this.need(n, field);
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** Skips a string and returns where its bytes start (they end at `pos`). */
  stringStart(field: string): number {
    const n = this.u16(field);
    this.need(n, field);
    const start = this.pos;
    this.pos += n;
    return start;
  }
  skipString(field: string): void {
    const n = this.u16(field);
    this.skip(n, field);
  }
  bytes(n: number, field: string): Buffer {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}
