import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '@roomq/protocol';
import {
  FrameKind,
  REPLICATION_PREFACE,
  decodeReplicaPayload,
  decodeUpstreamPayload,
  encodeReplicaFrame,
  encodeUpstreamFrame,
  replicationFrameDecoder,
} from '../src/replication-frames.js';

/** Every frame in `bytes`, fed to one decoder in pieces of `piece` bytes. */
function frames(bytes: Buffer, piece: number): Array<{ kind: number; payload: Buffer }> {
  const decoder = replicationFrameDecoder();
  const out: Array<{ kind: number; payload: Buffer }> = [];
  for (let at = 0; at < bytes.length; at += piece) decoder.push(bytes.subarray(at, at + piece), (kind, payload) => out.push({ kind, payload: Buffer.from(payload) }));
  return out;
}

describe('replication frames', () => {
  it('open with the preface and lay a chunk out as length, kind, three u64 and the records as they are', () => {
    expect(REPLICATION_PREFACE.toString('ascii')).toBe('RQREPL01');
    const records = Buffer.from('abc');
    const encoded = encodeUpstreamFrame({ chunk: { offset: 4096, upstream_end_offset: 2 ** 40, master_time_ms: 1_700_000_000_000, records } });
    expect(encoded).toHaveLength(2);
    expect(encoded[1]).toBe(records); // not copied
    expect(Buffer.concat(encoded).toString('hex')).toBe(
      ['0000001c', '03', '0000000000001000', '0000010000000000', '0000018bcfe56800', '616263'].join(''),
    );
  });

  it('carry every message kind through a decoder fed one byte at a time or all at once', () => {
    const stream = Buffer.concat([
      encodeReplicaFrame({ hello: { group: 'broker-a', member: 'broker-a/1@dc2', log_end_offset: 123, last_record_offset: 100, last_record_crc: 7, segment_size_bytes: 1 << 20, last_epoch: 2 } }),
      ...encodeUpstreamFrame({ chunk: { offset: 123, upstream_end_offset: 999, master_time_ms: 5, records: Buffer.alloc(70_000, 1) } }),
      ...encodeUpstreamFrame({ chunk: { offset: 200, upstream_end_offset: 200, master_time_ms: 6, records: Buffer.alloc(0) } }),
      ...encodeUpstreamFrame({ refusal: { code: 5, message: 'diverged' } }),
    ]);
    for (const piece of [1, 7, 4096, stream.length]) {
      const got = frames(stream, piece);
      const decoder = replicationFrameDecoder();
      expect(got.map((f) => f.kind)).toEqual([FrameKind.REPLICA, FrameKind.CHUNK, FrameKind.CHUNK, FrameKind.UPSTREAM]);
      expect(decodeReplicaPayload(got[0]!.kind, got[0]!.payload, decoder)).toMatchObject({ kind: 'hello', hello: { member: 'broker-a/1@dc2', log_end_offset: 123, last_epoch: 2 } });
      const chunk = decodeUpstreamPayload(got[1]!.kind, got[1]!.payload, decoder);
      expect(chunk).toMatchObject({ kind: 'chunk', chunk: { offset: 123, upstream_end_offset: 999, master_time_ms: 5 } });
      expect(chunk.chunk!.records!.equals(Buffer.alloc(70_000, 1))).toBe(true);
      expect(decodeUpstreamPayload(got[2]!.kind, got[2]!.payload, decoder).chunk!.records).toHaveLength(0);
      expect(decodeUpstreamPayload(got[3]!.kind, got[3]!.payload, decoder)).toMatchObject({ kind: 'refusal', refusal: { code: 5, message: 'diverged' } });
    }
  });

  it('refuses a frame claiming more than the limit, a kind from the wrong side, and a short chunk header', () => {
    const huge = Buffer.alloc(5);
    huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    expect(() => replicationFrameDecoder().push(huge, () => undefined)).toThrow(/malformed replication stream: a frame claims/);
    const empty = Buffer.alloc(5);
    expect(() => replicationFrameDecoder().push(empty, () => undefined)).toThrow(/claims 0 bytes/);
    expect(() => decodeReplicaPayload(FrameKind.CHUNK, Buffer.alloc(24), replicationFrameDecoder())).toThrow(/a replica sent a frame of kind 3/);
    expect(() => decodeUpstreamPayload(FrameKind.REPLICA, Buffer.alloc(0), replicationFrameDecoder())).toThrow(/the upstream sent a frame of kind 1/);
    expect(() => decodeUpstreamPayload(FrameKind.CHUNK, Buffer.alloc(10), replicationFrameDecoder())).toThrow(/shorter than its header/);
  });
});
