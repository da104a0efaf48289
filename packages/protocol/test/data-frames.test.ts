import { describe, expect, it } from 'vitest';
import {
  DATA_PREFACE,
  DataFrameKind,
  dataFrameDecoder,
  decodeBrokerDataFrame,
  decodePublishFrame,
  decodeSubscribeOpen,
  encodePublishAck,
  encodePublishFrame,
  encodePublishOpen,
  encodeRecordsFrame,
  encodeSubscribeOpen,
} from '../src/index.js';

/** Every frame of `bytes`, fed to one decoder `piece` bytes at a time. */
function frames(bytes: Buffer, piece: number): Array<[number, Buffer]> {
  const decoder = dataFrameDecoder();
  const out: Array<[number, Buffer]> = [];
  for (let at = 0; at < bytes.length; at += piece) decoder.push(bytes.subarray(at, at + piece), (kind, payload) => out.push([kind, Buffer.from(payload)]));
  return out;
}

describe('data frames', () => {
  it('lay out a publish frame and a records frame as header plus the bulk bytes, not copied', () => {
    expect(DATA_PREFACE.toString('ascii')).toBe('RQDATA01');
    expect(encodePublishOpen().toString('hex')).toBe('0000000101');
    const messages = Buffer.from('msgs');
    const publish = encodePublishFrame({ batch_id: 7, messages });
    expect(publish[1]).toBe(messages);
    expect(Buffer.concat(publish).toString('hex')).toBe('0000000d' + '03' + '0000000000000007' + '6d736773');
    const records = Buffer.from('rec');
    const frame = encodeRecordsFrame({ records, next_offset: 10, max_offset: 12 });
    expect(frame[1]).toBe(records);
    expect(Buffer.concat(frame).toString('hex')).toBe('00000014' + '05' + '000000000000000a' + '000000000000000c' + '726563');
  });

  it('carry opens, publishes, acks, records and a closing status through a decoder fed in any pieces', () => {
    const client = Buffer.concat([encodeSubscribeOpen({ group: 'g', topic: 't', queue_id: 3, offset: 99, max_batch_messages: 0, max_batch_bytes: 0 }), ...encodePublishFrame({ batch_id: 2 ** 40, messages: Buffer.alloc(3000, 7) })]);
    const broker = Buffer.concat([
      encodePublishAck({ batch_id: 5, status: { code: 20000, message: 'OK' }, results: Buffer.from([1, 2]) }),
      ...encodeRecordsFrame({ records: Buffer.alloc(70_000, 9), next_offset: 5, max_offset: 8 }),
      ...encodeRecordsFrame({ status: { code: 40401, message: 'topic gone' } }),
    ]);
    for (const piece of [1, 100, 1 << 20]) {
      const [open, publish] = frames(client, piece);
      expect(open![0]).toBe(DataFrameKind.SUBSCRIBE_OPEN);
      expect(decodeSubscribeOpen(open![1])).toMatchObject({ group: 'g', topic: 't', queue_id: 3, offset: 99 });
      const decoded = decodePublishFrame(publish![1], dataFrameDecoder());
      expect(decoded.batch_id).toBe(2 ** 40);
      expect(decoded.messages!.equals(Buffer.alloc(3000, 7))).toBe(true);

      const decoder = dataFrameDecoder();
      const [ack, records, status] = frames(broker, piece).map(([kind, payload]) => decodeBrokerDataFrame(kind, payload, decoder));
      expect(ack).toMatchObject({ ack: { batch_id: 5, status: { code: 20000, message: 'OK' } } });
      expect(records).toMatchObject({ records: { next_offset: 5, max_offset: 8 } });
      expect((records as { records: { records: Buffer } }).records.records.equals(Buffer.alloc(70_000, 9))).toBe(true);
      expect(status).toMatchObject({ records: { status: { code: 40401, message: 'topic gone' } } });
    }
  });

  it('refuses what the other side never sends and frames too short for their header', () => {
    const decoder = dataFrameDecoder();
    expect(() => decodeBrokerDataFrame(DataFrameKind.PUBLISH, Buffer.alloc(8), decoder)).toThrow(/malformed data stream: the broker sent a frame of kind 3/);
    expect(() => decodeBrokerDataFrame(DataFrameKind.RECORDS, Buffer.alloc(15), decoder)).toThrow(/shorter than its header/);
    expect(() => decodePublishFrame(Buffer.alloc(7), decoder)).toThrow(/shorter than its batch id/);
  });
});
