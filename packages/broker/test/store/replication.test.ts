import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RECORD_HEADER_SIZE, RecordType, isRoomqError, readRecordHeader } from '@roomq/protocol';
import { describe, expect, expectTypeOf, it } from 'vitest';
// Type only, and only here: the broker does not depend on the replicator; MessageStore matches it structurally.
import type { ReplicaLog } from '../../../replicator/src/replica-log.js';
import type { MessageStore, MessageStoreOptions } from '../../src/store/index.js';
import { FaultyIO, crashCopy, openStore, readAll, request, tempDir, waitFor } from './helpers.js';

const SEGMENT = 64 * 1024;
const RARE_CHECKPOINTS = { checkpointIntervalMs: 3_600_000 };

/** Compile-time check: the replicator can use a MessageStore as its ReplicaLog. */
const asReplicaLog = (store: MessageStore): ReplicaLog => store;
void asReplicaLog;

async function openReplica(options: MessageStoreOptions, deps: Parameters<typeof openStore>[1] = {}): Promise<MessageStore> {
  const store = await openStore(options, deps);
  store.setRole('replica');
  return store;
}

/** What a replicator does: read durable chunks from the upstream and append them at the replica's end. */
async function copyLog(from: MessageStore, to: MessageStore, chunkBytes: number): Promise<number> {
  let chunks = 0;
  for (;;) {
    const at = to.logEndOffset();
    const chunk = await from.readLog(at, chunkBytes);
    if (chunk.length === 0) return chunks;
    await to.appendReplicated(at, chunk);
    chunks++;
  }
}

/** Every commit-log segment file: name and contents. */
async function logFiles(dataDir: string): Promise<Map<string, Buffer>> {
  const dir = join(dataDir, 'commitlog');
  const out = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) out.set(name, await readFile(join(dir, name)));
  return out;
}

/**
 * The same log in both directories: the same segments, each with the same bytes. Past the shorter of two files
 * the longer holds only zeros, which no log holds: a replica writes its active segment in whole 4 KiB blocks
 * (direct-file.ts), so its file may run on in zeros past its data, as preallocated space does.
 */
async function expectSameLog(a: string, b: string): Promise<void> {
  const [left, right] = [await logFiles(a), await logFiles(b)];
  expect([...right.keys()]).toEqual([...left.keys()]);
  for (const [name, bytes] of left) {
    const other = right.get(name)!;
    const common = Math.min(bytes.length, other.length);
    expect(other.subarray(0, common).equals(bytes.subarray(0, common)), `segment ${name} differs`).toBe(true);
    const longer = bytes.length > other.length ? bytes : other;
    expect(longer.subarray(common).every((byte) => byte === 0), `segment ${name} runs on past the other's end in bytes that are not zeros`).toBe(true);
    expect(longer.length - common, `segment ${name}: more than a block of zeros past the other's end`).toBeLessThan(4096);
  }
}

/** Queue contents as a user sees them: offset, ID and body of each message. */
async function queueView(store: MessageStore, topic: string, queueId: number): Promise<string[]> {
  return (await readAll(store, topic, queueId)).map((r) => `${r.queueOffset}:${r.messageId}:${r.body.toString()}`);
}

/** Appends messages of `bodyBytes` to queues 0..2 of topic `t`, with keys, and a few offset commits. */
async function fill(store: MessageStore, count: number, prefix: string, bodyBytes = 900): Promise<void> {
  for (let i = 0; i < count; i += 5) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 5); j++) {
      batch.push(request({ topic: 't', queueId: j % 3, body: `${prefix}${j}-${'x'.repeat(bodyBytes)}`, keys: [`${prefix}k${j}`], tag: j % 2 ? 'odd' : 'even' }));
    }
    await store.appendMessages(batch);
    if (i % 20 === 0) await store.commitOffset('g', 't', i % 3, Math.floor(i / 3) + 1);
  }
}

/** Appends one message whose record is exactly `recordBytes` long. */
async function appendSized(store: MessageStore, recordBytes: number, body: string): Promise<void> {
  const overhead = request({ topic: 't', body: '' }).section.length + 40;
  await store.appendMessages([request({ topic: 't', body: body + 'y'.repeat(recordBytes - overhead - body.length) })]);
}

describe('MessageStore as a ReplicaLog', () => {
  it('is assignable to the replicator’s ReplicaLog', () => {
    expectTypeOf<MessageStore>().toMatchTypeOf<ReplicaLog>();
  });

  for (const flushMode of ['sync', 'async'] as const) {
    it(`copies a master’s log byte for byte across segment rolls (${flushMode}): same queues, offsets, lookups`, async () => {
      const masterDir = await tempDir();
      const replicaDir = await tempDir();
      const master = await openStore({ dataDir: masterDir, segmentSizeBytes: SEGMENT, flushMode, flushIntervalMs: 5 });
      const replica = await openReplica({ dataDir: replicaDir, segmentSizeBytes: SEGMENT, flushMode, flushIntervalMs: 5 });
      expect(await replica.lastRecord()).toBeUndefined();
      await fill(master, 200, 'a');
      await master.commitOffset('other', 't', 2, 7);
      expect(master.stats().segmentCount).toBeGreaterThan(2);

      // Chunks of several sizes, down to one record at a time.
      let chunks = 0;
      for (const chunkBytes of [1, 5000, 50_000]) {
        await fill(master, 30, `c${chunkBytes}-`);
        chunks += await copyLog(master, replica, chunkBytes);
      }
      expect(chunks).toBeGreaterThan(10);
      expect(replica.logEndOffset()).toBe(master.logEndOffset());
      expect(replica.durableOffset()).toBe(master.durableOffset());
      await expectSameLog(masterDir, replicaDir);
      expect(await replica.lastRecord()).toEqual(await master.lastRecord());

      for (let q = 0; q < 3; q++) {
        expect(replica.queueEnd('t', q)).toBe(master.queueEnd('t', q));
        expect(await queueView(replica, 't', q)).toEqual(await queueView(master, 't', q));
        expect(replica.committedOffset('g', 't', q)).toBe(master.committedOffset('g', 't', q));
      }
      expect(replica.committedOffset('other', 't', 2)).toBe(7);
      const [first] = await readAll(master, 't', 1);
      expect((await replica.lookupMessageId(first!.messageId))?.physicalOffset).toBe(first!.physicalOffset);
      expect((await replica.lookupKey('t', 'ak1', 5)).map((r) => r.messageId)).toEqual([first!.messageId]);

      // The replica keeps it all over a restart, and serves it on as an upstream (chains).
      await replica.close();
      const reopened = await openReplica({ dataDir: replicaDir, segmentSizeBytes: SEGMENT, flushMode });
      expect(reopened.logEndOffset()).toBe(master.logEndOffset());
      expect(await queueView(reopened, 't', 0)).toEqual(await queueView(master, 't', 0));
      expect(reopened.committedOffset('g', 't', 0)).toBe(master.committedOffset('g', 't', 0));
      const downstreamDir = await tempDir();
      const downstream = await openReplica({ dataDir: downstreamDir, segmentSizeBytes: SEGMENT, flushMode });
      await copyLog(reopened, downstream, 20_000);
      await downstream.close();
      await expectSameLog(masterDir, downstreamDir);
    });
  }

  it('derives the same consume queues and indexes as its master, for non-ASCII topics, IDs, keys and tags too', async () => {
    const masterDir = await tempDir();
    const replicaDir = await tempDir();
    const master = await openStore({ dataDir: masterDir, segmentSizeBytes: SEGMENT, ...RARE_CHECKPOINTS });
    const replica = await openReplica({ dataDir: replicaDir, segmentSizeBytes: SEGMENT, ...RARE_CHECKPOINTS });
    const topics = ['t', 'tøpic-ü', '主题'];
    for (let i = 0; i < 60; i++) {
      const topic = topics[i % 3]!;
      await master.appendMessages([
        request({ topic, queueId: i % 2, body: `m${i}`, keys: [`k${i}`, `ключ-${i}`], tag: i % 4 === 0 ? 'étiquette' : i % 4 === 1 ? 'plain' : '', messageId: i % 5 === 0 ? `ïd-${i}` : undefined }),
      ]);
    }
    await copyLog(master, replica, 3000);
    for (const topic of topics) {
      for (let q = 0; q < 2; q++) expect(await queueView(replica, topic, q)).toEqual(await queueView(master, topic, q));
      for (const i of [0, 1, 2, 30, 59]) {
        if (topics[i % 3] !== topic) continue;
        const onMaster = await master.lookupKey(topic, `ключ-${i}`, 5);
        expect(onMaster).toHaveLength(1);
        expect((await replica.lookupKey(topic, `ключ-${i}`, 5)).map((r) => r.messageId)).toEqual(onMaster.map((r) => r.messageId));
        expect((await replica.lookupKey(topic, `k${i}`, 5)).map((r) => r.messageId)).toEqual(onMaster.map((r) => r.messageId));
      }
    }
    expect((await replica.lookupMessageId('ïd-5'))?.physicalOffset).toBe((await master.lookupMessageId('ïd-5'))?.physicalOffset);
    // Consume-queue entries carry the tag hash, index files the ID and key hashes: the same bytes on both.
    await master.close();
    await replica.close();
    for (const dir of ['consumequeue', 'index']) {
      const files = async (root: string): Promise<Map<string, Buffer>> => {
        const out = new Map<string, Buffer>();
        for (const entry of await readdir(join(root, dir), { recursive: true, withFileTypes: true })) {
          if (entry.isFile()) out.set(join(entry.parentPath ?? entry.path, entry.name).slice(root.length), await readFile(join(entry.parentPath ?? entry.path, entry.name)));
        }
        return out;
      };
      const [left, right] = [await files(masterDir), await files(replicaDir)];
      expect([...right.keys()].sort()).toEqual([...left.keys()].sort());
      expect(left.size).toBeGreaterThan(0);
      for (const [name, bytes] of left) expect(right.get(name)!.equals(bytes), `${dir} file ${name} differs`).toBe(true);
    }
  });

  it('lands records at the same offsets after a SEGMENT_END and after a tail too short for one', async () => {
    const masterDir = await tempDir();
    const replicaDir = await tempDir();
    const master = await openStore({ dataDir: masterDir, segmentSizeBytes: SEGMENT });
    const replica = await openReplica({ dataDir: replicaDir, segmentSizeBytes: SEGMENT });

    // Segment 0 ends with a 10-byte tail: no SEGMENT_END fits, the log goes on at the next base.
    while (SEGMENT - master.logEndOffset() > 3000) await appendSized(master, 1000, 'fill');
    await appendSized(master, SEGMENT - master.logEndOffset() - 10, 'tail');
    const tailAt = SEGMENT - 10;
    expect(master.logEndOffset()).toBe(SEGMENT);
    expect(master.durableOffset()).toBe(SEGMENT);
    await appendSized(master, 500, 'second-segment');
    // Segment 1 ends with a SEGMENT_END: the next record does not fit in the 1500 bytes left.
    while (2 * SEGMENT - master.logEndOffset() > 2000) await appendSized(master, 1000, 'fill');
    const segmentEndAt = master.logEndOffset();
    await appendSized(master, 3000, 'third-segment');
    expect(master.stats().segmentCount).toBe(3);

    // From the short tail of segment 0: the answer starts at the next base.
    const afterTail = await master.readLog(tailAt, 100_000);
    expect(readRecordHeader(afterTail, 0)).toMatchObject({ physicalOffset: SEGMENT });
    // A chunk never crosses a segment: the one holding the SEGMENT_END ends with it.
    const end = await master.readLog(segmentEndAt - 1000, 100_000);
    expect(readRecordHeader(end, end.length - RECORD_HEADER_SIZE)).toMatchObject({ type: RecordType.SEGMENT_END, physicalOffset: segmentEndAt });
    // Right after the SEGMENT_END (where the segment's data ends) also reads on at the next base.
    expect(readRecordHeader(await master.readLog(segmentEndAt + RECORD_HEADER_SIZE, 100_000), 0)).toMatchObject({ physicalOffset: 2 * SEGMENT });

    await copyLog(master, replica, 7000);
    expect(replica.logEndOffset()).toBe(master.logEndOffset());
    await expectSameLog(masterDir, replicaDir);
    expect(await queueView(replica, 't', 0)).toEqual(await queueView(master, 't', 0));
    expect((await readAll(replica, 't', 0)).at(-1)!.physicalOffset).toBe(2 * SEGMENT);

    // A replica stopped right after a SEGMENT_END resumes at the next base, as its upstream does.
    const partialDir = await tempDir();
    const partial = await openReplica({ dataDir: partialDir, segmentSizeBytes: SEGMENT });
    while (partial.logEndOffset() < 2 * SEGMENT) {
      const at = partial.logEndOffset();
      await partial.appendReplicated(at, await master.readLog(at, 100_000));
    }
    expect(partial.logEndOffset()).toBe(2 * SEGMENT);
    expect(await partial.lastRecord()).toEqual({ offset: segmentEndAt, crc: await master.recordCrcAt(segmentEndAt) });
    await partial.close();
    const resumed = await openReplica({ dataDir: partialDir, segmentSizeBytes: SEGMENT });
    expect(resumed.logEndOffset()).toBe(2 * SEGMENT);
    expect(await resumed.lastRecord()).toEqual(await master.recordCrcAt(segmentEndAt).then((crc) => ({ offset: segmentEndAt, crc })));
    await copyLog(master, resumed, 100_000);
    await resumed.close();
    await expectSameLog(masterDir, partialDir);
  });

  it('refuses reads that do not start on a durable record boundary', async () => {
    const master = await openStore({ dataDir: await tempDir() });
    expect(await master.readLog(0, 1000)).toHaveLength(0);
    await fill(master, 10, 'm');
    const end = master.durableOffset();
    expect(await master.readLog(end, 1000)).toHaveLength(0);
    await expect(master.readLog(end + 1, 1000)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    await expect(master.readLog(1, 1000)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    await expect(master.readLog(-1, 1000)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    // maxBytes smaller than a record still returns that one record.
    const one = await master.readLog(0, 10);
    expect(readRecordHeader(one, 0)).toMatchObject({ physicalOffset: 0, totalLength: one.length });
    expect(await master.recordCrcAt(1)).toBeUndefined();
    expect(await master.recordCrcAt(end)).toBeUndefined();
    expect(await master.recordCrcAt(0)).toBe(one.readUInt32BE(8));
  });

  it('refuses a corrupt or misplaced chunk whole, writing nothing, and a wrong `at`', async () => {
    const master = await openStore({ dataDir: await tempDir() });
    const replicaDir = await tempDir();
    const replica = await openReplica({ dataDir: replicaDir });
    await fill(master, 20, 'm');
    const first = await master.readLog(0, 3000);
    await replica.appendReplicated(0, first);
    const at = replica.logEndOffset();
    const chunk = await master.readLog(at, 100_000);
    const segmentPath = join(replicaDir, 'commitlog', '0'.repeat(20));
    const logBefore = (await readFile(segmentPath)).subarray(0, at);
    const queueEnds = [0, 1, 2].map((q) => replica.queueEnd('t', q));

    // A flipped byte in the last record of the chunk: the records before it are refused too.
    const flipped = Buffer.from(chunk);
    flipped[flipped.length - 5] = flipped[flipped.length - 5]! ^ 0xff;
    await expect(replica.appendReplicated(at, flipped)).rejects.toMatchObject({ code: 'MESSAGE_CORRUPTED' });
    // Good bytes for another offset: they name where they belong, which is not here.
    await expect(replica.appendReplicated(at, first)).rejects.toMatchObject({ code: 'MESSAGE_CORRUPTED' });
    // Half a record.
    await expect(replica.appendReplicated(at, chunk.subarray(0, chunk.length - 3))).rejects.toMatchObject({ code: 'MESSAGE_CORRUPTED' });

    const wrongAt = await replica.appendReplicated(at + 1, chunk).catch((err: unknown) => err);
    expect(isRoomqError(wrongAt, 'BAD_REQUEST')).toBe(true);
    expect((wrongAt as Error).message).toContain(String(at + 1));
    expect((wrongAt as Error).message).toContain(String(at));

    expect(replica.logEndOffset()).toBe(at);
    expect([0, 1, 2].map((q) => replica.queueEnd('t', q))).toEqual(queueEnds);
    await replica.close();
    // Nothing written: the log's bytes are as before, and past its end there is only zero-filled space.
    const logAfter = await readFile(segmentPath);
    expect(logAfter.subarray(0, at).equals(logBefore)).toBe(true);
    expect(logAfter.subarray(at).every((byte) => byte === 0)).toBe(true);

    const reopened = await openReplica({ dataDir: replicaDir });
    await reopened.appendReplicated(at, chunk);
    expect(await queueView(reopened, 't', 1)).toEqual(await queueView(master, 't', 1));
  });

  it('keeps masters and replicas apart: each refuses the other’s writes', async () => {
    const master = await openStore({ dataDir: await tempDir() });
    const replica = await openReplica({ dataDir: await tempDir() });
    await expect(master.appendReplicated(0, Buffer.alloc(0))).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining("setRole('replica')") });
    await expect(replica.appendMessages([request({ topic: 't' })])).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining("setRole('master')") });
    // A replica keeps consumer commits in its offset overlay (offset-overlay.test.ts), never in its log.
    expect(await replica.commitOffset('g', 't', 0, 0)).toBe(0);
    expect(replica.logEndOffset()).toBe(0);
    expect(replica.stats().role).toBe('replica');

    // Promotion: the former replica continues the copied log with its own records.
    await fill(master, 10, 'm');
    await copyLog(master, replica, 100_000);
    replica.setRole('master');
    const [result] = await replica.appendMessages([request({ topic: 't', queueId: 0, body: 'after promotion' })]);
    expect(result!.queueOffset).toBe(master.queueEnd('t', 0));
  });

  it('truncates a diverged tail, returning it, and takes the new master’s records; the cut survives crash and reopen', async () => {
    const options = { segmentSizeBytes: SEGMENT, ...RARE_CHECKPOINTS };
    const oldMasterDir = await tempDir();
    const memberDir = await tempDir();
    const newMasterDir = await tempDir();
    const oldMaster = await openStore({ dataDir: oldMasterDir, ...options });
    const member = await openReplica({ dataDir: memberDir, ...options });
    const newMaster = await openReplica({ dataDir: newMasterDir, ...options });

    await fill(oldMaster, 60, 'common');
    await oldMaster.commitOffset('g', 't', 0, 5);
    await copyLog(oldMaster, member, 30_000);
    await copyLog(oldMaster, newMaster, 30_000);
    const common = newMaster.logEndOffset();
    const commonViews = await Promise.all([0, 1, 2].map((q) => queueView(member, 't', q)));

    // The old master goes on alone (into a new segment); the member copies it. Meanwhile the other member is
    // promoted and writes different records.
    await fill(oldMaster, 80, 'lost');
    await oldMaster.commitOffset('g', 't', 0, 20);
    await oldMaster.commitOffset('late', 't', 1, 3);
    await copyLog(oldMaster, member, 30_000);
    const lostId = (await readAll(member, 't', 2)).at(-1)!.messageId;
    expect(member.stats().segmentCount).toBeGreaterThan(newMaster.stats().segmentCount);
    newMaster.setRole('master');
    await fill(newMaster, 25, 'new');
    await newMaster.commitOffset('g', 't', 0, 9);

    // Rejoining: the member finds the last record both hold and cuts back to the end of it.
    expect(await member.recordCrcAt((await oldMaster.lastRecord())!.offset)).toBe((await oldMaster.lastRecord())!.crc);
    const expectedCut = await readLogBytes(oldMaster, common);
    const removed = await member.truncate(common);
    expect(removed.equals(expectedCut)).toBe(true);
    expect(removed.length).toBeGreaterThan(80 * 900);
    expect(readRecordHeader(removed, 0)).toMatchObject({ physicalOffset: common });

    expect(member.logEndOffset()).toBe(common);
    expect(await Promise.all([0, 1, 2].map((q) => queueView(member, 't', q)))).toEqual(commonViews);
    expect(member.committedOffset('g', 't', 0)).toBe(5);
    expect(member.committedOffset('late', 't', 1)).toBeUndefined();
    expect(await member.lookupMessageId(lostId)).toBeUndefined();
    expect(await member.lookupKey('t', 'lostk2', 5)).toEqual([]);
    expect((await member.lastRecord())!.offset).toBeLessThan(common);

    // What a kill -9 right after the truncate leaves behind recovers to the cut log.
    const crashed = await crashCopy(memberDir);

    await copyLog(newMaster, member, 30_000);
    await expectSameLog(newMasterDir, memberDir);
    const newest = (await readAll(newMaster, 't', 1)).at(-1)!;
    expect((await member.lookupMessageId(newest.messageId))?.physicalOffset).toBe(newest.physicalOffset);
    expect((await member.lookupKey('t', 'newk1', 5)).map((r) => r.body.toString().split('-')[0])).toEqual(['new1']);
    expect((await member.lookupKey('t', 'commonk1', 5)).map((r) => r.body.toString().split('-')[0])).toEqual(['common1']);
    for (let q = 0; q < 3; q++) expect(await queueView(member, 't', q)).toEqual(await queueView(newMaster, 't', q));
    expect(member.committedOffset('g', 't', 0)).toBe(9);
    expect(await member.lookupMessageId(lostId)).toBeUndefined();

    await member.close();
    const reopened = await openReplica({ dataDir: memberDir, ...options });
    expect(reopened.logEndOffset()).toBe(newMaster.logEndOffset());
    for (let q = 0; q < 3; q++) expect(await queueView(reopened, 't', q)).toEqual(await queueView(newMaster, 't', q));
    expect(reopened.committedOffset('g', 't', 0)).toBe(9);
    expect(reopened.committedOffset('late', 't', 1)).toBeUndefined();
    expect(await reopened.lastRecord()).toEqual(await newMaster.lastRecord());

    const recovered = await openReplica({ dataDir: crashed, ...options });
    expect(recovered.logEndOffset()).toBe(common);
    expect(await Promise.all([0, 1, 2].map((q) => queueView(recovered, 't', q)))).toEqual(commonViews);
    expect(recovered.committedOffset('g', 't', 0)).toBe(5);
    expect(recovered.committedOffset('late', 't', 1)).toBeUndefined();
    expect(await recovered.lookupMessageId(lostId)).toBeUndefined();
    await copyLog(newMaster, recovered, 30_000);
    await recovered.close();
    await expectSameLog(newMasterDir, crashed);
  });

  it('truncates consume-queue and index files already on disk, across file boundaries', async () => {
    const dataDir = await tempDir();
    const options = { dataDir, segmentSizeBytes: SEGMENT, consumeQueueEntriesPerFile: 1024, indexEntriesPerFile: 1024, ...RARE_CHECKPOINTS };
    const store = await openStore(options);
    for (let i = 0; i < 3000; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => request({ topic: 't', queueId: (i + j) % 2, body: `m${i + j}`, keys: ['shared', `k${i + j}`] }));
      await store.appendMessages(batch);
    }
    await store.close(); // everything derived goes to files
    const reopened = await openStore(options);
    const queue0 = await readAll(reopened, 't', 0);
    const cutAt = queue0[1100]!; // queue 0 keeps 1100 entries, queue 1 the 1100 or 1101 before it in the log
    const removed = await reopened.truncate(cutAt.physicalOffset);
    expect(readRecordHeader(removed, 0)).toMatchObject({ physicalOffset: cutAt.physicalOffset });

    const kept = (q: number): Promise<string[]> => readAll(reopened, 't', q).then((records) => records.map((r) => r.body.toString()));
    expect(await kept(0)).toEqual(Array.from({ length: 1100 }, (_, i) => `m${2 * i}`));
    expect(await kept(1)).toEqual(Array.from({ length: 1100 }, (_, i) => `m${2 * i + 1}`));
    expect(await reopened.lookupKey('t', 'shared', 10_000)).toHaveLength(2200);
    expect((await reopened.lookupKey('t', 'k2199', 5)).map((r) => r.body.toString())).toEqual(['m2199']);
    expect(await reopened.lookupKey('t', 'k2200', 5)).toEqual([]);
    expect(await reopened.lookupMessageId(cutAt.messageId)).toBeUndefined();

    // New records take the cut queue offsets and index positions, and all of it survives a reopen.
    const results = await reopened.appendMessages([request({ topic: 't', queueId: 0, body: 'new', keys: ['shared', 'k2200'] })]);
    expect(results[0]).toMatchObject({ queueOffset: 1100, physicalOffset: cutAt.physicalOffset });
    await reopened.close();
    const again = await openStore(options);
    expect((await readAll(again, 't', 0)).map((r) => r.body.toString()).slice(-2)).toEqual(['m2198', 'new']);
    expect(again.queueEnd('t', 1)).toBe(1100);
    expect(await again.lookupKey('t', 'shared', 10_000)).toHaveLength(2201);
    expect((await again.lookupKey('t', 'k2200', 5)).map((r) => r.body.toString())).toEqual(['new']);
  });

  it('refuses to truncate off a record boundary or past the end', async () => {
    const store = await openStore({ dataDir: await tempDir() });
    await fill(store, 10, 'm');
    const end = store.logEndOffset();
    await expect(store.truncate(5)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    await expect(store.truncate(end + 1)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    expect(await store.truncate(end)).toHaveLength(0);
    expect(store.state).toBe('ready');
    expect((await store.truncate(0)).length).toBe(end);
    expect(store.logEndOffset()).toBe(0);
    expect(store.queueEnd('t', 0)).toBe(0);
    expect(await store.lastRecord()).toBeUndefined();
    const [result] = await store.appendMessages([request({ topic: 't', body: 'fresh' })]);
    expect(result).toMatchObject({ queueOffset: 0, physicalOffset: 0 });
  });

  it('writes its log around the page cache while a replica (whole 4 KiB blocks on disk), or through it when told not to', async () => {
    const master = await openStore({ dataDir: await tempDir(), segmentSizeBytes: SEGMENT });
    await fill(master, 20, 'd', 333);
    const activeSegmentSize = async (dataDir: string): Promise<number> => [...(await logFiles(dataDir)).values()].at(-1)!.length;
    const dataEnd = master.logEndOffset() % SEGMENT;
    expect(dataEnd % 4096).not.toBe(0);
    for (const replicaDirectWrites of [true, false]) {
      const dataDir = await tempDir();
      const replica = await openReplica({ dataDir, segmentSizeBytes: SEGMENT, replicaDirectWrites, preallocateBytes: 0 });
      await copyLog(master, replica, 5000);
      expect(replica.logEndOffset()).toBe(master.logEndOffset());
      // Direct writes go out in whole blocks: the file runs on in zeros to the end of the last one.
      expect(await activeSegmentSize(dataDir)).toBe(replicaDirectWrites ? Math.ceil(dataEnd / 4096) * 4096 : dataEnd);
      expect(await queueView(replica, 't', 1)).toEqual(await queueView(master, 't', 1));
    }
  });

  it('in sync mode resolves appendReplicated and durable waits only after the fdatasync', async () => {
    const master = await openStore({ dataDir: await tempDir() });
    await fill(master, 10, 'm');
    const io = new FaultyIO();
    const replica = await openReplica({ dataDir: await tempDir(), flushMode: 'sync', ...RARE_CHECKPOINTS }, { io });
    const chunk = await master.readLog(0, 100_000);

    const controller = new AbortController();
    let durableSeen = false;
    const durable = replica.waitForDurable(0, controller.signal).then(() => (durableSeen = true));
    io.holdSyncs();
    const syncs = io.syncsStarted;
    let settled = false;
    const appended = replica.appendReplicated(0, chunk).finally(() => (settled = true));
    await waitFor(() => io.syncsStarted > syncs, 'the fdatasync to start');
    await new Promise((resolve) => setTimeout(resolve, 20)); // give a wrong early resolution the chance to show
    expect(settled).toBe(false);
    expect(durableSeen).toBe(false);
    expect(replica.durableOffset()).toBe(0);
    expect(replica.logEndOffset()).toBe(chunk.length);
    expect(replica.queueEnd('t', 0)).toBe(0);
    expect(await replica.readLog(0, 100_000)).toHaveLength(0);

    io.releaseSyncs();
    await appended;
    await durable;
    expect(replica.durableOffset()).toBe(chunk.length);
    expect(await queueView(replica, 't', 0)).toEqual(await queueView(master, 't', 0));
  });

  it('waitForDurable resolves on the next durable append and rejects ABORTED on abort', async () => {
    const store = await openStore({ dataDir: await tempDir() });
    const aborted = new AbortController();
    const waiting = store.waitForDurable(0, aborted.signal);
    aborted.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });

    const controller = new AbortController();
    const next = store.waitForDurable(0, controller.signal);
    await store.appendMessages([request({ topic: 't' })]);
    await next;
    await expect(store.waitForDurable(store.durableOffset(), AbortSignal.abort())).rejects.toMatchObject({ code: 'ABORTED' });
    const pending = store.waitForDurable(store.durableOffset(), new AbortController().signal).catch((err: unknown) => err);
    await store.close();
    expect(await pending).toMatchObject({ code: 'CLOSED' });
  });

  it('a replica killed mid-copy resumes from its durable log end; a torn tail is cut first', async () => {
    const masterDir = await tempDir();
    const replicaDir = await tempDir();
    const master = await openStore({ dataDir: masterDir, segmentSizeBytes: SEGMENT });
    const replica = await openReplica({ dataDir: replicaDir, segmentSizeBytes: SEGMENT, ...RARE_CHECKPOINTS });
    await fill(master, 150, 'm');
    for (let i = 0; i < 5; i++) {
      const at = replica.logEndOffset();
      await replica.appendReplicated(at, await master.readLog(at, 20_000));
    }
    const copied = replica.durableOffset();
    const crashed = await crashCopy(replicaDir);
    // Half of the next chunk reached the file when the process died.
    const names = (await readdir(join(crashed, 'commitlog'))).sort();
    const segment = join(crashed, 'commitlog', names.at(-1)!);
    const next = await master.readLog(copied, 20_000);
    const file = await open(segment, 'a');
    await file.write(next.subarray(0, 100));
    await file.close();

    const resumed = await openReplica({ dataDir: crashed, segmentSizeBytes: SEGMENT });
    expect(resumed.logEndOffset()).toBe(copied);
    expect((await resumed.lastRecord())!.crc).toBe(await master.recordCrcAt((await resumed.lastRecord())!.offset));
    await copyLog(master, resumed, 20_000);
    await resumed.close();
    await expectSameLog(masterDir, crashed);
  });
});

/** The upstream's log bytes from `from` to its durable end, as readLog serves them. */
async function readLogBytes(store: MessageStore, from: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const chunk = await store.readLog(at, 1 << 20);
    if (chunk.length === 0) return Buffer.concat(parts);
    parts.push(chunk);
    // A chunk may start at the next segment's base rather than at `at`: its first record says where.
    at = (readRecordHeader(chunk, 0) as { physicalOffset: number }).physicalOffset + chunk.length;
  }
}
