import { describe, expect, it } from 'vitest';
import { nonZeroEnd } from '../src/bytes.js';
import {
  RECORD_HEADER_SIZE,
  RecordType,
  decodeRecord,
  encodeMessageSection,
  forEachRecord,
  layoutMessageSection,
  newSectionLayout,
  messageRecordSize,
  offsetCommitRecordSize,
  readRecordHeader,
  summarizeMessageSection,
  writeMessageRecord,
  writeOffsetCommitRecord,
  writeSegmentEndRecord,
  type MessageFields,
} from '../src/record-codec.js';

const fields: MessageFields = {
  topic: 'orders',
  messageId: '01ABC',
  tag: 'paid',
  keys: ['k-1', 'k-2'],
  properties: { region: 'dc1', 'trace-id': 't9' },
  body: Buffer.from('hello, rooms'),
  bornTimestampMs: 1_700_000_000_123,
};

function messageRecord(physicalOffset = 4096): Buffer {
  const section = encodeMessageSection(fields);
  const buf = Buffer.alloc(messageRecordSize(section.length));
  writeMessageRecord(buf, 0, { physicalOffset, storeTimestampMs: 1_700_000_000_456, queueId: 3, queueOffset: 2 ** 40 + 7 }, section);
  return buf;
}

describe('record codec v1', () => {
  it('encodes a message record to fixed golden bytes', () => {
    const hex = messageRecord().toString('hex');
    // Header: length 0x82 (40 fixed + 90 section), magic RQ, version 1, type 1, then CRC, physical offset 4096, store timestamp.
    expect(hex.slice(0, 16)).toBe('0000008252510101');
    expect(hex.slice(24, 56)).toBe('0000000000001000' + '0000018bcfe569c8');
    // queueId 3, queueOffset 2^40+7, born timestamp
    expect(hex.slice(56, 96)).toBe('00000003' + '0000010000000007' + '0000018bcfe5687b');
    expect(hex).toMatchSnapshot();
  });

  it('round-trips a message record', () => {
    const record = decodeRecord(messageRecord());
    expect(record.type).toBe(RecordType.MESSAGE);
    if (record.type !== RecordType.MESSAGE) return;
    expect(record).toMatchObject({
      topic: 'orders',
      messageId: '01ABC',
      tag: 'paid',
      keys: ['k-1', 'k-2'],
      properties: { region: 'dc1', 'trace-id': 't9' },
      bornTimestampMs: fields.bornTimestampMs,
      physicalOffset: 4096,
      queueId: 3,
      queueOffset: 2 ** 40 + 7,
    });
    expect(record.body.toString()).toBe('hello, rooms');
  });

  it('round-trips offset commits and segment ends in one buffer', () => {
    const commit = { group: 'g1', topic: 'orders', queueId: 1, offset: 99 };
    const buf = Buffer.alloc(offsetCommitRecordSize(commit) + RECORD_HEADER_SIZE);
    const n = writeOffsetCommitRecord(buf, 0, 10, 20, commit);
    writeSegmentEndRecord(buf, n, 10 + n, 21);
    const seen: unknown[] = [];
    forEachRecord(buf, (r) => seen.push(r.type === RecordType.OFFSET_COMMIT ? { ...commit, ...r } : r.type));
    expect(seen).toEqual([expect.objectContaining(commit), RecordType.SEGMENT_END]);
  });

  it('detects a flipped byte anywhere in the record', () => {
    const clean = messageRecord();
    for (let i = 12; i < clean.length; i += 7) {
      const bad = Buffer.from(clean);
      bad[i] = bad[i]! ^ 0x40;
      expect(() => decodeRecord(bad), `byte ${i}`).toThrow(/checksum/);
    }
  });

  it('reports a torn record as short, not as a record', () => {
    const clean = messageRecord();
    expect(readRecordHeader(clean.subarray(0, clean.length - 1), 0)).toBe('short');
    expect(readRecordHeader(clean.subarray(0, 10), 0)).toBe('short');
  });

  it('reads zero-filled (preallocated) space as no record, and tells where written bytes end', () => {
    const buf = Buffer.alloc(200);
    writeSegmentEndRecord(buf, 0, 0, 1);
    expect(readRecordHeader(buf, RECORD_HEADER_SIZE)).toBe('bad-magic');
    expect(nonZeroEnd(buf)).toBe(RECORD_HEADER_SIZE);
    expect(nonZeroEnd(buf, RECORD_HEADER_SIZE)).toBe(RECORD_HEADER_SIZE);
    expect(nonZeroEnd(Buffer.from([0, 1, 0, 2, 0, 0]))).toBe(4);
    expect(nonZeroEnd(Buffer.from([0, 1, 0, 2, 0, 0]), 0, 3)).toBe(2);
    expect(nonZeroEnd(Buffer.alloc(0))).toBe(0);
  });

  it('rejects sections whose lengths do not add up', () => {
    const section = encodeMessageSection(fields);
    expect(summarizeMessageSection(section, 0, section.length)).toMatchObject({ topic: 'orders', keys: ['k-1', 'k-2'], bodyLength: 12 });
    expect(() => summarizeMessageSection(section, 0, section.length - 1)).toThrow(/truncated at body/);
    const extra = Buffer.concat([section, Buffer.from([0])]);
    expect(() => summarizeMessageSection(extra, 0, extra.length)).toThrow(/trailing/);
  });

  it('lays a section out with the same checks as summarizing it, and byte ranges that decode to its strings', () => {
    const section = encodeMessageSection({ ...fields, topic: 'tøpic', messageId: 'ïd', tag: 'étiquette', keys: ['k-1', 'ключ', ''] });
    const at = 7;
    const buf = Buffer.concat([Buffer.alloc(at, 0xee), section, Buffer.alloc(3, 0xee)]);
    const layout = layoutMessageSection(buf, at, at + section.length, newSectionLayout());
    const text = (start: number, end: number): string => buf.toString('utf8', start, end);
    expect(text(layout.topicStart, layout.topicEnd)).toBe('tøpic');
    expect(text(layout.messageIdStart, layout.messageIdEnd)).toBe('ïd');
    expect(text(layout.tagStart, layout.tagEnd)).toBe('étiquette');
    const keys: string[] = [];
    for (let i = 0, k = layout.keysAt; i < layout.keyCount; i++) {
      const n = buf.readUInt16BE(k);
      keys.push(text(k + 2, k + 2 + n));
      k += 2 + n;
    }
    expect(keys).toEqual(['k-1', 'ключ', '']);
    // Every cut that summarizeMessageSection refuses, layoutMessageSection refuses with the same message.
    for (let end = at; end < at + section.length + 3; end++) {
      if (end === at + section.length) continue;
      let expected: unknown;
      try {
        summarizeMessageSection(buf, at, end);
      } catch (err) {
        expected = (err as Error).message;
      }
      expect(expected).toBeDefined();
      expect(() => layoutMessageSection(buf, at, end, newSectionLayout())).toThrow(expected as string);
    }
  });
});
