import { open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordType, readRecordHeader, writeMessageRecord } from '@roomq/protocol';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/store/checkpoint-codec.js';
import type { MessageStore } from '../../src/store/index.js';
import { FaultyIO, capturingLogger, crashCopy, openStore, readAll, request, tempDir, waitFor } from './helpers.js';

const MiB = 1024 * 1024;
/** The smallest window: the tests zero-fill a few MiB, not 64. */
const WINDOW = { preallocateBytes: 4 * MiB };
const RARE_CHECKPOINTS = { checkpointIntervalMs: 3_600_000 };
const FIRST_SEGMENT = '0'.repeat(20);

function segmentPath(dataDir: string, name = FIRST_SEGMENT): string {
  return join(dataDir, 'commitlog', name);
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** Writes `bytes` at `position` of a file, as a crash or a stale earlier write would have left them. */
async function writeAt(path: string, position: number, bytes: Buffer): Promise<void> {
  const file = await open(path, 'r+');
  await file.write(bytes, 0, bytes.length, position);
  await file.close();
}

function bodies(count: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}-${'x'.repeat(1000)}`);
}

/**
 * Appends `list` to queue 0 of topic t, `perCall` a call. 100 (~110 KiB) is a load under which zeroing pauses;
 * 20 (~22 KiB) is light enough for it to go on.
 */
async function appendAll(store: MessageStore, list: string[], perCall = 100): Promise<void> {
  for (let i = 0; i < list.length; i += perCall) await store.appendMessages(list.slice(i, i + perCall).map((body) => request({ topic: 't', body })));
}

async function readBodies(store: MessageStore): Promise<string[]> {
  return (await readAll(store, 't', 0)).map((r) => r.body.toString());
}

/** A store whose first segment exists and is zero-filled `WINDOW` ahead of its write position. */
async function preallocatedStore(dataDir: string, deps: Parameters<typeof openStore>[1] = {}): Promise<MessageStore> {
  const store = await openStore({ dataDir, ...WINDOW, ...RARE_CHECKPOINTS }, deps);
  await store.appendMessages([request({ topic: 't', body: 'first' })]);
  await waitFor(async () => (await fileSize(segmentPath(dataDir))) >= 4 * MiB, 'the window to be zero-filled');
  return store;
}

/**
 * Ten messages, then what a crash left at the log end in a copy of the directory, then the copy reopened.
 * Neither store preallocates, so the test alone decides what lies past the end.
 */
async function reopenWithTail(tail: (end: number) => Buffer) {
  const dataDir = await tempDir();
  const store = await openStore({ dataDir, preallocateBytes: 0, ...RARE_CHECKPOINTS });
  await appendAll(store, bodies(10, 'm'));
  const end = store.logEndOffset();
  const copy = await crashCopy(dataDir);
  await writeAt(segmentPath(copy), end, tail(end));
  const { logger, entries } = capturingLogger();
  const recovered = await openStore({ dataDir: copy, preallocateBytes: 0 }, { logger });
  return { end, copy, recovered, entries };
}

describe('commit-log recovery with zero-filled space', () => {
  it('takes zeros from a record boundary to the end of the file as the clean end, and keeps them', async () => {
    const { end, copy, recovered, entries } = await reopenWithTail(() => Buffer.alloc(3 * MiB));
    expect(entries.filter((e) => (e.level as number) >= 40)).toEqual([]);
    expect(recovered.stats().corruptRanges).toEqual([]);
    expect(recovered.logEndOffset()).toBe(end);
    expect(await fileSize(segmentPath(copy))).toBe(end + 3 * MiB); // neither cut nor zeroed again
    const [next] = await recovered.appendMessages([request({ topic: 't', body: 'next' })]);
    expect(next!.physicalOffset).toBe(end);
    await recovered.close();
    expect(await readBodies(await openStore({ dataDir: copy }))).toEqual([...bodies(10, 'm'), 'next']);
  });

  it('never takes zeros over fsynced records for the clean end: acknowledged messages a disk zeroed are reported corrupt', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, preallocateBytes: 0 });
    const results = await store.appendMessages(bodies(10, 'm').map((body) => request({ topic: 't', body })));
    const end = store.logEndOffset();
    await store.close();
    // A checkpoint that vouches for every byte as fsynced but derived nothing yet, so recovery scans them all.
    const path = join(dataDir, 'checkpoint');
    const checkpoint = decodeCheckpoint(await readFile(path));
    if (typeof checkpoint === 'string') throw new Error(checkpoint);
    expect(checkpoint.flushedOffset).toBe(end);
    await writeFile(path, encodeCheckpoint({ ...checkpoint, derivedOffset: 0, queues: [], indexEntries: 0 }));
    // The disk lost the last three records' blocks and reads zeros there.
    await writeAt(segmentPath(dataDir), results[7]!.physicalOffset, Buffer.alloc(end - results[7]!.physicalOffset));

    const { logger, entries } = capturingLogger();
    const reopened = await openStore({ dataDir, preallocateBytes: 0 }, { logger });
    expect(reopened.stats().corruptRanges).toMatchObject([{ start: results[7]!.physicalOffset, end }]);
    expect(entries.some((e) => (e.level as number) >= 50)).toBe(true);
    expect(await readBodies(reopened)).toEqual(bodies(7, 'm'));
    // Nothing is appended over the lost records: the log goes on past them.
    const [next] = await reopened.appendMessages([request({ topic: 't', body: 'next' })]);
    expect(next!.physicalOffset).toBeGreaterThanOrEqual(end);
    await reopened.close();
  });

  it('cuts a torn record followed by zeros exactly as a torn tail, counting the torn record, not the zeros', async () => {
    // Half a record reached the zero-filled space when the process died.
    const torn = request({ topic: 't', body: 'never acknowledged' });
    const record = Buffer.alloc(torn.section.length + 40);
    const { end, copy, recovered, entries } = await reopenWithTail((at) => {
      writeMessageRecord(record, 0, { physicalOffset: at, storeTimestampMs: 1, queueId: 0, queueOffset: 10 }, torn.section);
      return Buffer.concat([record.subarray(0, 50), Buffer.alloc(3 * MiB)]);
    });
    expect(entries.find((e) => e.msg === 'cut a torn tail off the commit log')).toMatchObject({ level: 40, offset: end, bytes: record.length });
    expect(recovered.stats().corruptRanges).toEqual([]);
    expect(await fileSize(segmentPath(copy))).toBe(end);
    const [next] = await recovered.appendMessages([request({ topic: 't', body: 'next' })]);
    expect(next).toMatchObject({ physicalOffset: end, queueOffset: 10 });
    expect(await readBodies(recovered)).toEqual([...bodies(10, 'm'), 'next']);
  });

  it('cuts stale bytes found past zeros at the log end, so they can never read as records', async () => {
    const { end, copy, recovered, entries } = await reopenWithTail(() => Buffer.concat([Buffer.alloc(MiB), Buffer.alloc(100, 0xab)]));
    expect(entries.find((e) => e.msg === 'cut a torn tail off the commit log')).toMatchObject({ offset: end, bytes: MiB + 100 });
    expect(await fileSize(segmentPath(copy))).toBe(end);
    expect(recovered.logEndOffset()).toBe(end);
    expect(await readBodies(recovered)).toEqual(bodies(10, 'm'));
  });

  it('cuts a spent segment back to its data when a crash left zero-filled space after it', async () => {
    const dataDir = await tempDir();
    const segmentSizeBytes = 64 * 1024;
    const store = await openStore({ dataDir, segmentSizeBytes, ...RARE_CHECKPOINTS });
    await appendAll(store, bodies(100, 'm'));
    expect(store.stats().segmentCount).toBeGreaterThan(1);
    const copy = await crashCopy(dataDir);
    const dataEnd = await fileSize(segmentPath(copy));
    await writeAt(segmentPath(copy), dataEnd, Buffer.alloc(segmentSizeBytes - dataEnd));

    const { logger, entries } = capturingLogger();
    const recovered = await openStore({ dataDir: copy, segmentSizeBytes }, { logger });
    expect(entries.some((e) => e.msg === 'cut the unused tail of a spent segment')).toBe(true);
    expect(await fileSize(segmentPath(copy))).toBe(dataEnd);
    // A reader at the end of the segment's data goes on at the next segment, as a replica does.
    const chunk = await recovered.readLog(dataEnd, 4096);
    expect((readRecordHeader(chunk, 0) as { physicalOffset: number }).physicalOffset).toBe(segmentSizeBytes);
    expect(await readBodies(recovered)).toEqual(bodies(100, 'm'));
  });
});

describe('commit-log preallocation', () => {
  for (const stop of ['close', 'kill -9'] as const) {
    it(`writes into zero-filled space; after a ${stop} every record is kept and the next append lands right after`, async () => {
      const dataDir = await tempDir();
      const store = await preallocatedStore(dataDir);
      // More than the distance zeroing keeps from the write position: these land in zero-filled space.
      await appendAll(store, bodies(3000, 'm'));
      const end = store.logEndOffset();
      let reopenDir = dataDir;
      if (stop === 'close') await store.close();
      else reopenDir = await crashCopy(dataDir);
      expect(await fileSize(segmentPath(reopenDir))).toBeGreaterThan(end);

      const { logger, entries } = capturingLogger();
      const reopened = await openStore({ dataDir: reopenDir, ...WINDOW }, { logger });
      expect(entries.filter((e) => (e.level as number) >= 40)).toEqual([]);
      expect(reopened.stats().corruptRanges).toEqual([]);
      expect(reopened.logEndOffset()).toBe(end);
      expect(await fileSize(segmentPath(reopenDir))).toBeGreaterThan(end); // the zeros are kept, not cut
      const [next] = await reopened.appendMessages([request({ topic: 't', body: 'next' })]);
      expect(next!.physicalOffset).toBe(end);
      expect(await readBodies(reopened)).toEqual(['first', ...bodies(3000, 'm'), 'next']);
    });
  }

  it('loses nothing when a zero write fails: it warns and appends without preallocation', async () => {
    const dataDir = await tempDir();
    const io = new FaultyIO(true);
    const { logger, entries } = capturingLogger();
    const store = await preallocatedStore(dataDir, { io, logger });
    io.zeroWriteError = 'ENOSPC';
    const zeroWrites = io.zeroWritesStarted;
    await appendAll(store, bodies(3000, 'm'), 20);
    expect(io.zeroWritesStarted).toBeGreaterThan(zeroWrites);
    expect(entries.filter((e) => e.msg === 'could not zero-fill ahead of the commit log; appending to this segment without preallocation')).toHaveLength(1);
    expect(store.state).toBe('ready');
    await appendAll(store, bodies(1000, 'more'), 20);
    expect(io.zeroWritesStarted).toBe(zeroWrites + 1);
    const copy = await crashCopy(dataDir);
    expect(await readBodies(await openStore({ dataDir: copy }))).toEqual(['first', ...bodies(3000, 'm'), ...bodies(1000, 'more')]);
  });

  it('a data write over a zero write still in flight waits for it and ends with the right bytes; load pauses zeroing', async () => {
    const dataDir = await tempDir();
    const io = new FaultyIO(true);
    io.holdZeroWrites();
    const store = await openStore({ dataDir, ...WINDOW, ...RARE_CHECKPOINTS }, { io });
    await store.appendMessages([request({ topic: 't', body: 'first' })]);
    // The first chunk starts a lead past the write position; it is held there.
    await waitFor(() => io.zeroWritesHeld === 1, 'the first zero write');
    const list = bodies(2000, 'm');
    let acknowledged = false;
    // One call, so one write of ~2 MiB, over the held chunk.
    const appending = store.appendMessages(list.map((body) => request({ topic: 't', body }))).then(() => (acknowledged = true));
    try {
      // Give a write that did not wait every chance to be issued.
      for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(io.writesOverZeroWrites).toBe(0);
      expect(acknowledged).toBe(false);
    } finally {
      io.releaseZeroWrites();
    }
    await appending;
    expect(io.writesOverZeroWrites).toBe(0);
    expect(await readBodies(store)).toEqual(['first', ...list]);
    // Big groups: zeroing stays paused; a light one resumes it.
    await appendAll(store, bodies(2000, 'n'));
    expect(io.zeroWritesStarted).toBe(1);
    await store.appendMessages([request({ topic: 't', body: 'light' })]);
    await waitFor(() => io.zeroWritesStarted === 2, 'zeroing to resume');
    const copy = await crashCopy(dataDir);
    expect(await readBodies(await openStore({ dataDir: copy }))).toEqual(['first', ...list, ...bodies(2000, 'n'), 'light']);
  });

  it('truncates inside zero-filled space; later appends read back, also after a restart', async () => {
    const dataDir = await tempDir();
    const store = await preallocatedStore(dataDir);
    const list = bodies(3000, 'm');
    await appendAll(store, list);
    const cutAt = (await readAll(store, 't', 0))[2001]!.physicalOffset;
    const end = store.logEndOffset();
    expect((await store.truncate(cutAt)).length).toBe(end - cutAt);
    expect(store.queueEnd('t', 0)).toBe(2001);
    const results = await store.appendMessages(bodies(5, 'after').map((body) => request({ topic: 't', body })));
    expect(results.map((r) => r.queueOffset)).toEqual([2001, 2002, 2003, 2004, 2005]);
    expect(results[0]!.physicalOffset).toBe(cutAt);
    const expected = ['first', ...list.slice(0, 2000), ...bodies(5, 'after')];
    expect(await readBodies(store)).toEqual(expected);
    await store.close();
    expect(await readBodies(await openStore({ dataDir, ...WINDOW }))).toEqual(expected);
  });

  it('rolls segments: the sealed one ends where its data does, the new one is zero-filled', async () => {
    const dataDir = await tempDir();
    const segmentSizeBytes = 4 * MiB;
    const store = await openStore({ dataDir, segmentSizeBytes, ...WINDOW, ...RARE_CHECKPOINTS });
    const list = bodies(5000, 'm'); // ~5.5 MiB
    await appendAll(store, list);
    const names = (await readdir(join(dataDir, 'commitlog'))).sort();
    expect(names).toHaveLength(2);
    // The sealed segment's file is its records, SEGMENT_END last, and nothing more.
    const sealed = await readFile(segmentPath(dataDir));
    let at = 0;
    let last: number | undefined;
    while (at < sealed.length) {
      const header = readRecordHeader(sealed, at);
      if (typeof header === 'string') throw new Error(`no record at ${at}: ${header}`);
      last = header.type;
      at += header.totalLength;
    }
    expect(at).toBe(sealed.length);
    expect(last).toBe(RecordType.SEGMENT_END);
    const chunk = await store.readLog(sealed.length, 4096);
    expect((readRecordHeader(chunk, 0) as { physicalOffset: number }).physicalOffset).toBe(segmentSizeBytes);
    const active = segmentPath(dataDir, names[1]!);
    await store.appendMessages([request({ topic: 't', body: 'light' })]); // zeroing pauses under load; this resumes it
    const activeData = store.logEndOffset() - segmentSizeBytes;
    await waitFor(async () => (await fileSize(active)) > activeData, 'the new segment to be zero-filled ahead');
    await store.close();
    expect(await readBodies(await openStore({ dataDir, segmentSizeBytes, ...WINDOW }))).toEqual([...list, 'light']);
  });

  it('close waits for a zero write in flight and issues none after it', async () => {
    const dataDir = await tempDir();
    const io = new FaultyIO(true);
    io.holdZeroWrites();
    const store = await openStore({ dataDir, ...WINDOW }, { io });
    await store.appendMessages([request({ topic: 't', body: 'first' })]);
    await waitFor(() => io.zeroWritesHeld === 1, 'the first zero write');
    let closed = false;
    const closing = store.close().then(() => (closed = true));
    try {
      for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(closed).toBe(false);
    } finally {
      io.releaseZeroWrites();
    }
    await closing;
    expect(io.zeroWritesStarted).toBe(1);
    expect(io.writesAfterClose).toBe(0);
  });

  it('does not preallocate in async mode', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, flushMode: 'async', ...WINDOW });
    await appendAll(store, bodies(3000, 'm'));
    const end = store.logEndOffset();
    await store.close();
    expect(await fileSize(segmentPath(dataDir))).toBe(end);
  });

  it('refuses a window below 4 MiB that is not 0, naming the option', async () => {
    await expect(openStore({ dataDir: await tempDir(), preallocateBytes: MiB })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('preallocateBytes') });
  });
});
