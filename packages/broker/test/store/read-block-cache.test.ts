import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MessageStore, MessageStoreOptions } from '../../src/store/index.js';
import { ReadBlockCache } from '../../src/store/read-block-cache.js';
import { FaultyIO, openStore, readAll, request, tempDir, waitFor } from './helpers.js';

const MiB = 1024 * 1024;

/** A log of `size` bytes where byte p is p % 251, read through a loader that counts its calls. */
function fakeLog(size: number) {
  const log = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
  const loads: Array<[number, number]> = [];
  const load = async (position: number, length: number): Promise<Buffer> => {
    loads.push([position, length]);
    return Buffer.from(log.subarray(position, Math.min(position + length, size)));
  };
  return { log, loads, load };
}

describe('ReadBlockCache', () => {
  it('loads each block once for every reader, keeps the most recently used, and never spans a segment', async () => {
    const { log, loads, load } = fakeLog(10_000);
    const cache = new ReadBlockCache(3000, load, 1000);
    // Segment [0, 4500): blocks at 0, 1000, ..., 4000 (the last one 500 bytes).
    const reads = await Promise.all([cache.blockAt(1500, 10, 0, 4500, 10_000), cache.blockAt(1900, 200, 0, 4500, 10_000)]);
    expect(loads).toEqual([[1000, 1000]]);
    expect(reads.map((r) => r.at)).toEqual([500, 900]);
    expect(reads[0]!.block).toEqual(log.subarray(1000, 2000));
    const last = await cache.blockAt(4200, 300, 0, 4500, 10_000);
    expect(loads.at(-1)).toEqual([4000, 500]);
    expect(last.block).toEqual(log.subarray(4000, 4500));
    // The next segment starts at 4500: its blocks are aligned to it.
    await cache.blockAt(4600, 10, 4500, 9000, 10_000);
    expect(loads.at(-1)).toEqual([4500, 1000]);
    await cache.blockAt(1000, 10, 0, 4500, 10_000); // touches 1000, so 4000 is now the oldest
    await cache.blockAt(6000, 10, 4500, 9000, 10_000); // a fourth block evicts 4000
    const before = loads.length;
    await cache.blockAt(1000, 10, 0, 4500, 10_000);
    await cache.blockAt(4600, 10, 4500, 9000, 10_000);
    expect(loads.length).toBe(before);
    await cache.blockAt(4100, 10, 0, 4500, 10_000);
    expect(loads.length).toBe(before + 1);
  });

  it('holds no bytes past the stable end, and reads a block cut short that way again when a reader needs more', async () => {
    const { log, loads, load } = fakeLog(10_000);
    const cache = new ReadBlockCache(10_000, load, 1000);
    const first = await cache.blockAt(2100, 50, 0, 10_000, 2300);
    expect(first.block).toEqual(log.subarray(2000, 2300));
    expect(loads).toEqual([[2000, 300]]);
    await cache.blockAt(2100, 200, 0, 10_000, 2300);
    expect(loads).toHaveLength(1);
    const grown = await cache.blockAt(2250, 400, 0, 10_000, 2900);
    expect(loads.at(-1)).toEqual([2000, 900]);
    expect(grown.block.subarray(grown.at, grown.at + 400)).toEqual(log.subarray(2250, 2650));
  });

  it('drops a load that was in flight when the log was cut back', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const loads: number[] = [];
    const cache = new ReadBlockCache(10_000, async (position, length) => {
      loads.push(position);
      if (loads.length === 1) await gate;
      return Buffer.alloc(length, loads.length);
    }, 1000);
    const stale = cache.blockAt(100, 10, 0, 10_000, 10_000);
    cache.clear();
    release();
    expect((await stale).block[0]).toBe(1);
    expect((await cache.blockAt(100, 10, 0, 10_000, 10_000)).block[0]).toBe(2);
  });

  it('loads into the buffers of evicted blocks, but only once the turn that evicted them is over', async () => {
    const { log } = fakeLog(10_000);
    const targets: ArrayBufferLike[] = [];
    // Loads as the store's loader does: into the buffer it is given, answering with the part filled.
    const load = async (position: number, length: number, into: Buffer): Promise<Buffer> => {
      targets.push(into.buffer);
      log.copy(into, 0, position, position + length);
      return into.subarray(0, length);
    };
    const cache = new ReadBlockCache(2000, load, 1000);
    const first = await cache.blockAt(10, 10, 0, 10_000, 10_000);
    const second = await cache.blockAt(1010, 10, 0, 10_000, 10_000);
    // A third block evicts the first; a reader that got it earlier copies out in this same turn, intact.
    await cache.blockAt(2010, 10, 0, 10_000, 10_000);
    await cache.blockAt(3010, 10, 0, 10_000, 10_000);
    expect(new Set(targets).size).toBe(4);
    expect(first.block).toEqual(log.subarray(0, 1000));
    await new Promise((resolve) => setImmediate(resolve));
    const reused = await cache.blockAt(4010, 10, 0, 10_000, 10_000);
    expect([first.block.buffer, second.block.buffer]).toContain(targets.at(-1));
    expect(reused.block).toEqual(log.subarray(4000, 5000));
    // copyOut serves what a held block covers, synchronously, and nothing else.
    const out = Buffer.alloc(20);
    expect(cache.copyOut(4100, 20, 0, out, 0)).toBe(true);
    expect(out).toEqual(log.subarray(4100, 4120));
    expect(cache.copyOut(4990, 20, 0, out, 0)).toBe(false);
    expect(cache.copyOut(100, 20, 0, out, 0)).toBe(false);
  });

  it('is off below one block', () => {
    expect(new ReadBlockCache(999, async () => Buffer.alloc(0), 1000).enabled).toBe(false);
  });
});

describe('MessageStore reads through read blocks', () => {
  /** 4 queues, messages spread over them one by one, as the producer does. */
  async function interleaved(options: Partial<MessageStoreOptions>, io: FaultyIO, count: number): Promise<MessageStore> {
    const store = await openStore({ dataDir: await tempDir(), tailCacheBytes: 0, ...options }, { io });
    for (let i = 0; i < count; i += 50) {
      await store.appendMessages(Array.from({ length: 50 }, (_, j) => request({ topic: 't', queueId: (i + j) % 4, body: `m${i + j}-${'x'.repeat(900 + ((i + j) % 7) * 50)}` })));
    }
    return store;
  }

  const queueView = async (store: MessageStore, queueId: number): Promise<string[]> =>
    (await readAll(store, 't', queueId, 128)).map((r) => `${r.queueOffset}@${r.physicalOffset}:${r.body.toString()}`);

  it('serves the same records as plain reads across segments, reading each stretch of log once for all queues', async () => {
    const options = { segmentSizeBytes: 768 * 1024 };
    const plainIo = new FaultyIO();
    const blockIo = new FaultyIO();
    const plain = await interleaved({ ...options, readCacheBytes: 0 }, plainIo, 4000);
    const blocks = await interleaved({ ...options, readCacheBytes: 16 * MiB }, blockIo, 4000);
    expect(blocks.stats().segmentCount).toBeGreaterThan(4);
    const logBytes = blocks.logEndOffset();
    plainIo.commitLogBytesRead = 0;
    blockIo.commitLogBytesRead = 0;
    for (let queueId = 0; queueId < 4; queueId++) {
      const view = await queueView(blocks, queueId);
      expect(view).toHaveLength(1000);
      expect(view).toEqual(await queueView(plain, queueId));
    }
    // Plain reads fetch each queue's stretch of log once per queue; the blocks fetch the log once.
    expect(plainIo.commitLogBytesRead).toBeGreaterThan(3 * logBytes);
    expect(blockIo.commitLogBytesRead).toBeLessThan(1.1 * logBytes);
    await plain.close();
    await blocks.close();
  });

  it('never serves the zeros of preallocated space that a later write filled', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, preallocateBytes: 4 * MiB, tailCacheBytes: 0, checkpointIntervalMs: 3_600_000 });
    const body = (i: number) => `m${i}-${'y'.repeat(1000)}`;
    await store.appendMessages(Array.from({ length: 20 }, (_, i) => request({ topic: 't', body: body(i) })));
    const segment = join(dataDir, 'commitlog', '0'.repeat(20));
    await waitFor(async () => (await stat(segment)).size >= 4 * MiB, 'the window to be zero-filled');
    for (let round = 1; round < 5; round++) {
      // Read up to the end: the block holding it is loaded while zeros lie past the data.
      expect((await readAll(store, 't', 0)).map((r) => r.body.toString())).toEqual(Array.from({ length: round * 20 }, (_, i) => body(i)));
      for (let i = round * 20; i < (round + 1) * 20; i++) await store.appendMessages([request({ topic: 't', body: body(i) })]);
    }
    expect((await readAll(store, 't', 0)).map((r) => r.body.toString())).toEqual(Array.from({ length: 100 }, (_, i) => body(i)));
    await store.close();
  });
});
