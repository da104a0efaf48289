import { open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordType, forEachRecord, writeMessageRecord } from '@roomq/protocol';
import { describe, expect, it } from 'vitest';
import { capturingLogger, crashCopy, decode, openStore, readAll, request, tempDir } from './helpers.js';

/** A checkpoint interval long enough that only open and close write checkpoints. */
const RARE_CHECKPOINTS = { checkpointIntervalMs: 3_600_000 };

async function lastSegment(dataDir: string): Promise<string> {
  const names = (await readdir(join(dataDir, 'commitlog'))).filter((n) => /^\d{20}$/.test(n)).sort();
  return join(dataDir, 'commitlog', names[names.length - 1]!);
}

async function flipByte(path: string, at: number): Promise<void> {
  const file = await open(path, 'r+');
  const one = Buffer.alloc(1);
  await file.read(one, 0, 1, at);
  one[0] = one[0]! ^ 0xff;
  await file.write(one, 0, 1, at);
  await file.close();
}

describe('MessageStore recovery', () => {
  it('after a crash with a torn last record, keeps every acknowledged message exactly once, in order', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, segmentSizeBytes: 64 * 1024, ...RARE_CHECKPOINTS });
    const acknowledged: string[][] = [[], []];
    for (let i = 0; i < 120; i++) {
      const body = `m${i}-${'x'.repeat(700)}`;
      await store.appendMessages([request({ topic: 't', queueId: i % 2, body })]);
      acknowledged[i % 2]!.push(body);
    }
    await store.commitOffset('g', 't', 0, 17);
    const copy = await crashCopy(dataDir);

    // A write that was in progress: half of the next record reached the file.
    const segment = await lastSegment(copy);
    const size = (await stat(segment)).size;
    const base = Number(segment.slice(-20));
    const torn = request({ topic: 't', queueId: 0, body: 'never acknowledged' });
    const bytes = Buffer.alloc(torn.section.length + 40);
    writeMessageRecord(bytes, 0, { physicalOffset: base + size, storeTimestampMs: 1, queueId: 0, queueOffset: 60 }, torn.section);
    const file = await open(segment, 'a');
    await file.write(bytes.subarray(0, 50));
    await file.close();

    const { logger, entries } = capturingLogger();
    const recovered = await openStore({ dataDir: copy, segmentSizeBytes: 64 * 1024 }, { logger });
    const cut = entries.find((e) => e.msg === 'cut a torn tail off the commit log');
    expect(cut).toMatchObject({ level: 40, offset: base + size, bytes: 50 });
    for (let q = 0; q < 2; q++) {
      expect((await readAll(recovered, 't', q)).map((r) => r.body.toString())).toEqual(acknowledged[q]);
    }
    expect(recovered.committedOffset('g', 't', 0)).toBe(17);
    const [next] = await recovered.appendMessages([request({ topic: 't', queueId: 0, body: 'next' })]);
    expect(next!.queueOffset).toBe(60);
    expect(next!.physicalOffset).toBe(base + size);
    expect((await recovered.readQueue('t', 0, 60, 1, 1 << 20)).count).toBe(1);
  });

  it('cuts a tail whose checksum fails, and one cut back to inside a record', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, ...RARE_CHECKPOINTS });
    const results = await store.appendMessages(Array.from({ length: 10 }, (_, i) => request({ topic: 't', body: `m${i}` })));
    const copyA = await crashCopy(dataDir);
    const copyB = await crashCopy(dataDir);
    // A: the last record's bytes are garbage (a lost write of a whole page); B: the file is cut mid-record.
    await flipByte(join(copyA, 'commitlog', '00000000000000000000'), results[9]!.physicalOffset + 45);
    await truncate(join(copyB, 'commitlog', '00000000000000000000'), results[9]!.physicalOffset + 10);
    for (const copy of [copyA, copyB]) {
      const recovered = await openStore({ dataDir: copy });
      expect(recovered.queueEnd('t', 0)).toBe(9);
      expect(recovered.stats().corruptRanges).toEqual([]);
      expect((await readAll(recovered, 't', 0)).map((r) => r.body.toString())).toEqual(Array.from({ length: 9 }, (_, i) => `m${i}`));
    }
  });

  it('reports a corrupt record in the middle, refuses it, serves around it, and remembers it after restarts', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, ...RARE_CHECKPOINTS });
    const results = await store.appendMessages(Array.from({ length: 20 }, (_, i) => request({ topic: 't', body: `m${i}` })));
    await store.appendMessages([request({ topic: 'other', body: 'fine' })]);
    const copy = await crashCopy(dataDir);
    const bad = results[10]!;
    await flipByte(join(copy, 'commitlog', '00000000000000000000'), bad.physicalOffset + 50);

    const { logger, entries } = capturingLogger();
    const recovered = await openStore({ dataDir: copy }, { logger });
    const ranges = recovered.stats().corruptRanges;
    expect(ranges).toHaveLength(1);
    expect(ranges[0]!.start).toBe(bad.physicalOffset);
    expect(ranges[0]!.end).toBe(results[11]!.physicalOffset);
    expect(ranges[0]!.reason).toContain('restore it from a replica');
    expect(entries.some((e) => e.level === 50 && String(e.msg).includes(`corrupt bytes [${bad.physicalOffset}, ${results[11]!.physicalOffset})`))).toBe(true);

    // Records before it are served, the bad one is refused, the ones after it are still readable.
    const before = await recovered.readQueue('t', 0, 0, 100, 1 << 20);
    expect(before.count).toBe(10);
    expect(decode(before.records).map((r) => r.body.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    const error = await recovered.readQueue('t', 0, 10, 100, 1 << 20).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'MESSAGE_CORRUPTED', details: { offset: 10, physicalOffset: bad.physicalOffset } });
    const after = await recovered.readQueue('t', 0, 11, 100, 1 << 20);
    expect(decode(after.records).map((r) => r.body.toString())).toEqual(Array.from({ length: 9 }, (_, i) => `m${i + 11}`));
    expect(decode((await recovered.readQueue('other', 0, 0, 10, 1 << 20)).records)[0]!.body.toString()).toBe('fine');
    // The log continues after it.
    expect((await recovered.appendMessages([request({ topic: 't', body: 'm20' })]))[0]!.queueOffset).toBe(20);

    await recovered.close();
    const again = await openStore({ dataDir: copy });
    expect(again.stats().corruptRanges.map((r) => r.start)).toEqual([bad.physicalOffset]);
    await expect(again.readQueue('t', 0, 10, 1, 1 << 20)).rejects.toMatchObject({ code: 'MESSAGE_CORRUPTED' });
    expect((await again.readQueue('t', 0, 11, 100, 1 << 20)).count).toBe(10);
  });

  it('detects corruption in checkpointed data when it is read, and keeps reporting it', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    const results = await store.appendMessages(Array.from({ length: 5 }, (_, i) => request({ topic: 't', body: `m${i}` })));
    await store.close();
    await flipByte(join(dataDir, 'commitlog', '00000000000000000000'), results[2]!.physicalOffset + 60);

    const reopened = await openStore({ dataDir });
    const before = await reopened.readQueue('t', 0, 0, 10, 1 << 20);
    expect(before.count).toBe(2);
    // The good records ahead of the bad one are really served, not just counted.
    const bodies: string[] = [];
    forEachRecord(before.records, (r) => r.type === RecordType.MESSAGE && bodies.push(r.body.toString()));
    expect(bodies).toEqual(['m0', 'm1']);
    await expect(reopened.readQueue('t', 0, 2, 10, 1 << 20)).rejects.toMatchObject({ code: 'MESSAGE_CORRUPTED', details: { offset: 2 } });
    expect(reopened.stats().corruptRanges.map((r) => r.start)).toEqual([results[2]!.physicalOffset]);
    expect((await reopened.readQueue('t', 0, 3, 10, 1 << 20)).count).toBe(2);
    await reopened.close();
    expect((await openStore({ dataDir })).stats().corruptRanges).toHaveLength(1);
  });

  it('rebuilds a deleted consume-queue directory and a truncated consume queue', async () => {
    const dataDir = await tempDir();
    const options = { dataDir, consumeQueueEntriesPerFile: 1024 };
    const store = await openStore(options);
    for (let i = 0; i < 3000; i += 300) {
      await store.appendMessages(Array.from({ length: 300 }, (_, j) => request({ topic: i % 600 ? 'a' : 'b', queueId: j % 2, body: `m${i + j}` })));
    }
    const expected = {
      a0: (await readAll(store, 'a', 0)).map((r) => r.body.toString()),
      a1: (await readAll(store, 'a', 1)).map((r) => r.body.toString()),
      b0: (await readAll(store, 'b', 0)).map((r) => r.body.toString()),
    };
    await store.close();

    await rm(join(dataDir, 'consumequeue', 'a'), { recursive: true });
    const files = (await readdir(join(dataDir, 'consumequeue', 'b', '0'))).sort();
    expect(files.length).toBeGreaterThan(0);
    await truncate(join(dataDir, 'consumequeue', 'b', '0', files[0]!), 16 * 100 + 5);

    const { logger, entries } = capturingLogger();
    const reopened = await openStore(options, { logger });
    expect(entries.filter((e) => e.msg === 'consume queue is behind; rebuilding it from the commit log')).toHaveLength(3);
    expect((await readAll(reopened, 'a', 0)).map((r) => r.body.toString())).toEqual(expected.a0);
    expect((await readAll(reopened, 'a', 1)).map((r) => r.body.toString())).toEqual(expected.a1);
    expect((await readAll(reopened, 'b', 0)).map((r) => r.body.toString())).toEqual(expected.b0);
    expect(reopened.queueEnd('a', 0)).toBe(expected.a0.length);
    await reopened.close();
    const third = await openStore(options);
    expect((await readAll(third, 'a', 0)).length).toBe(expected.a0.length);
  });

  it('rebuilds the index and offsets when the checkpoint is lost', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    const requests = Array.from({ length: 50 }, (_, i) => request({ topic: 't', body: `m${i}`, keys: [`k${i}`] }));
    await store.appendMessages(requests);
    await store.commitOffset('g', 't', 0, 30);
    await store.close();
    await rm(join(dataDir, 'checkpoint'));
    await rm(join(dataDir, 'index'), { recursive: true });

    const reopened = await openStore({ dataDir });
    expect((await reopened.lookupMessageId(requests[7]!.summary.messageId))?.body.toString()).toBe('m7');
    expect((await reopened.lookupKey('t', 'k9', 5)).map((r) => r.body.toString())).toEqual(['m9']);
    expect(reopened.committedOffset('g', 't', 0)).toBe(30);
    expect(reopened.queueEnd('t', 0)).toBe(50);
  });
});

describe('MessageStore recovery of a sync:N master', () => {
  it('rebuilds the entries of records durable but still held for the replicas when the checkpoint was taken', async () => {
    // A sync:N master keeps durable records invisible until its replicas hold them. A checkpoint taken then
    // must not vouch for those records' consume-queue and index entries, which it does not count: after a
    // restart (kill -9 or not) they would be in the log and missing from their queue for good. close() writes
    // a checkpoint like the periodic one, with nothing else moving, so the test is exact.
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, segmentSizeBytes: 64 * 1024, checkpointIntervalMs: 3_600_000 });
    store.holdVisibilityForReplication(true);
    const replicated = await store.appendMessages(Array.from({ length: 10 }, (_, i) => request({ topic: 't', queueId: i % 2, keys: [`a-${i}`] })));
    store.replicatedTo(store.logEndOffset());
    expect(store.queueEnd('t', 0)).toBe(5);
    const held = await store.appendMessages(Array.from({ length: 10 }, (_, i) => request({ topic: 't', queueId: i % 2, keys: [`b-${i}`] })));
    expect(store.queueEnd('t', 0)).toBe(5);
    await store.close();

    const recovered = await openStore({ dataDir, segmentSizeBytes: 64 * 1024 });
    expect([recovered.queueEnd('t', 0), recovered.queueEnd('t', 1)]).toEqual([10, 10]);
    expect((await readAll(recovered, 't', 0)).map((m) => m.physicalOffset)).toEqual([...replicated, ...held].filter((r) => r.queueId === 0).map((r) => r.physicalOffset));
    // The index finds every message, held or not.
    for (const r of [...replicated, ...held]) expect((await recovered.lookupMessageId(r.messageId))?.physicalOffset, r.messageId).toBe(r.physicalOffset);
    expect((await recovered.lookupKey('t', 'b-9', 5)).map((m) => m.physicalOffset)).toEqual([held[9]!.physicalOffset]);
  });
});
