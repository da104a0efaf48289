import { describe, expect, it } from 'vitest';
import { nextRecordOffset } from '../src/index.js';
import { chunkTail } from '../src/log-chunk.js';
import { MemoryLog } from './memory-log.js';

describe('nextRecordOffset', () => {
  const SEG = 1000;
  it('continues after a record with room left', () => expect(nextRecordOffset(500, 400, SEG)).toBe(500));
  it('jumps to the next segment after SEGMENT_END (a 28-byte record)', () => expect(nextRecordOffset(928, 900, SEG)).toBe(1000));
  it('jumps to the next segment when under 28 bytes are left', () => expect(nextRecordOffset(980, 900, SEG)).toBe(1000));
  it('stays on a segment boundary', () => expect(nextRecordOffset(2000, 1900, SEG)).toBe(2000));
  it('empty log', () => expect(nextRecordOffset(0, -1, SEG)).toBe(0));
});

describe('chunkTail', () => {
  it('finds the last record and its store time', async () => {
    const log = new MemoryLog();
    log.appendMessages(3, { storeTimestampMs: 1234 });
    const records = await log.readLog(0, 1 << 20);
    const last = (await log.lastRecord())!;
    expect(chunkTail(records)).toEqual({ lastRecordAt: last.offset, lastStoreTimestampMs: 1234 });
    expect(chunkTail(Buffer.alloc(0))).toEqual({ lastRecordAt: -1, lastStoreTimestampMs: 0 });
  });
});

describe('MemoryLog honours the ReplicaLog contract', () => {
  it('verifies appended records and writes nothing when one is bad', async () => {
    const source = new MemoryLog();
    source.appendMessages(5);
    const records = await source.readLog(0, 1 << 20);
    const bad = Buffer.from(records);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    const replica = new MemoryLog();
    await expect(replica.appendReplicated(0, bad)).rejects.toMatchObject({ code: 'MESSAGE_CORRUPTED' });
    expect(replica.logEndOffset()).toBe(0);
    await expect(replica.appendReplicated(100, records)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    await replica.appendReplicated(0, records);
    expect(replica.bytes().equals(source.bytes())).toBe(true);
  });
  it('returns only durable bytes', async () => {
    const log = new MemoryLog({ autoDurable: false });
    log.appendMessages(2);
    expect((await log.readLog(0, 1 << 20)).length).toBe(0);
    log.makeDurable();
    expect((await log.readLog(0, 1 << 20)).length).toBe(log.logEndOffset());
  });
});

describe('replication frames gathered into an arena', () => {
  it('takes only chunk frames big enough to carry records; the follower releases those after their append', async () => {
    const { ReceiveArena } = await import('@roomq/protocol');
    const { encodeUpstreamFrame, replicationFrameDecoder, decodeUpstreamPayload } = await import('../src/replication-frames.js');
    const arena = new ReceiveArena(1 << 20);
    const decoder = replicationFrameDecoder(undefined, true, arena);
    const source = new MemoryLog();
    source.appendMessages(40, { bodyBytes: 1024 });
    const records = await source.readLog(0, 1 << 20);
    const frames = Buffer.concat([
      ...encodeUpstreamFrame({ chunk: { offset: 0, records, upstream_end_offset: records.length, master_time_ms: 1 } }),
      // An empty chunk says where the upstream ends: never in the arena, since nothing would release it.
      ...encodeUpstreamFrame({ chunk: { offset: records.length, records: Buffer.alloc(0), upstream_end_offset: records.length, master_time_ms: 1 } }),
    ]);
    const got: Buffer[] = [];
    for (let at = 0; at < frames.length; at += 4096) {
      decoder.push(Buffer.from(frames.subarray(at, at + 4096)), (kind, payload) => got.push(decodeUpstreamPayload(kind, payload, decoder).chunk!.records!));
    }
    expect(got[0]!.equals(records)).toBe(true);
    expect(got[1]!.length).toBe(0);
    expect(arena.heldBytes()).toBe(records.length + 24);
    arena.release(got[0]!);
    expect(arena.heldBytes()).toBe(0);
  });
});
