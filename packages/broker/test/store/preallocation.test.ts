import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readRecordHeader, writeMessageRecord } from '@roomq/protocol';
import { describe, expect, it } from 'vitest';
import type { MessageStore } from '../../src/store/index.js';
import { capturingLogger, crashCopy, openStore, readAll, request, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
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

/** Appends `list` to queue 0 of topic t, 100 a call. */
async function appendAll(store: MessageStore, list: string[]): Promise<void> {
  for (let i = 0; i < list.length; i += 100) await store.appendMessages(list.slice(i, i + 100).map((body) => request({ topic: 't', body })));
}

async function readBodies(store: MessageStore): Promise<string[]> {
  return (await readAll(store, 't', 0)).map((r) => r.body.toString());
}

/**
 * Ten messages, then what a crash left at the log end in a copy of the directory, then the copy reopened.
 */
async function reopenWithTail(tail: (end: number) => Buffer) {
  const dataDir = await tempDir();
  const store = await openStore({ dataDir, ...RARE_CHECKPOINTS });
  await appendAll(store, bodies(10, 'm'));
  const end = store.logEndOffset();
  const copy = await crashCopy(dataDir);
  await writeAt(segmentPath(copy), end, tail(end));
  const { logger, entries } = capturingLogger();
  const recovered = await openStore({ dataDir: copy }, { logger });
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
