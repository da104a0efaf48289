import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MessageStore, MessageStoreOptions } from '../../src/store/index.js';
import { LogTailCache } from '../../src/store/log-tail-cache.js';
import { decode, openStore, readAll, request, tempDir } from './helpers.js';

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

describe('LogTailCache', () => {
  it('serves contiguous runs as views and refuses what it does not hold', () => {
    const cache = new LogTailCache(1 << 20, 1024);
    cache.add(100, bytes(300, 1));
    cache.add(400, bytes(200, 2));
    expect(cache.read(100, 10_000)).toEqual(Buffer.concat([bytes(300, 1), bytes(200, 2)]));
    expect(cache.read(350, 100)).toEqual(Buffer.concat([bytes(50, 1), bytes(50, 2)]));
    expect(cache.slice(420, 30)).toEqual(bytes(30, 2));
    expect(cache.read(99, 10)).toBeUndefined();
    expect(cache.read(600, 10)).toBeUndefined();
    expect(cache.slice(590, 20)).toBeUndefined();
    expect(cache.cachedBytes).toBe(500);
  });

  it('starts a block at a gap (a new segment) and never serves across it', () => {
    const cache = new LogTailCache(1 << 20, 1024);
    cache.add(0, bytes(100, 1));
    cache.add(4096, bytes(100, 2));
    expect(cache.read(50, 1000)).toEqual(bytes(50, 1));
    expect(cache.read(100, 10)).toBeUndefined();
    expect(cache.read(4096, 1000)).toEqual(bytes(100, 2));
    expect(cache.slice(50, 5000)).toBeUndefined();
  });

  it('evicts the oldest blocks beyond its capacity; what it handed out before stays intact', () => {
    const cache = new LogTailCache(2048, 1024);
    cache.add(0, bytes(1000, 1));
    const early = cache.read(0, 1000)!;
    cache.add(1000, bytes(1000, 2));
    cache.add(2000, bytes(1000, 3));
    expect(cache.read(0, 10)).toBeUndefined();
    expect(cache.read(1000, 10)).toEqual(bytes(10, 2));
    expect(cache.read(2500, 10)).toEqual(bytes(10, 3));
    expect(early).toEqual(bytes(1000, 1));
    cache.clear();
    expect(cache.read(2500, 10)).toBeUndefined();
  });

  it('gives a run bigger than a block a block of its own', () => {
    const cache = new LogTailCache(1 << 20, 1024);
    cache.add(0, bytes(5000, 7));
    expect(cache.slice(0, 5000)).toEqual(bytes(5000, 7));
  });

  it('holds nothing when its capacity is 0', () => {
    const cache = new LogTailCache(0, 1024);
    cache.add(0, bytes(10, 1));
    expect(cache.enabled).toBe(false);
    expect(cache.read(0, 10)).toBeUndefined();
  });
});

describe('MessageStore reads from the tail cache', () => {
  const SEGMENT = 64 * 1024;

  it('serves the same records and log bytes as the file, across segments and after eviction', async () => {
    // 4 MiB blocks: a cache of one block holds the tail only, so early reads go to the file.
    const cachedDir = await tempDir();
    const cached = await openStore({ dataDir: cachedDir, segmentSizeBytes: SEGMENT, tailCacheBytes: 1 });
    const plain = await openStore({ dataDir: await tempDir(), segmentSizeBytes: SEGMENT, tailCacheBytes: 0 });
    for (let i = 0; i < 300; i++) {
      const batch = [request({ topic: 't', queueId: i % 2, body: bytes(700 + (i % 5) * 300, i % 256), keys: [`k${i}`] })];
      await cached.appendMessages(batch);
      await plain.appendMessages(batch);
    }
    expect(cached.stats().segmentCount).toBeGreaterThan(4);
    for (const queueId of [0, 1]) {
      const view = async (store: MessageStore): Promise<string[]> => (await readAll(store, 't', queueId, 7)).map((r) => `${r.queueOffset}@${r.physicalOffset}:${r.body.toString('hex')}`);
      const fromCache = await view(cached);
      expect(fromCache).toHaveLength(150);
      expect(fromCache).toEqual(await view(plain));
    }
    // The log as a replica copies it: chunk by chunk, whole records, the very bytes of the segment files.
    for (const chunkBytes of [1, 5000, 100_000]) {
      const replica = await openReplica({ segmentSizeBytes: SEGMENT });
      let chunks = 0;
      for (;;) {
        const at = replica.logEndOffset();
        const chunk = await cached.readLog(at, chunkBytes);
        if (chunk.length === 0) break;
        expect(chunk.equals(await segmentBytes(cachedDir, SEGMENT, at, chunk.length)), `chunk at ${at}`).toBe(true);
        await replica.appendReplicated(at, chunk);
        chunks++;
      }
      expect(replica.logEndOffset()).toBe(cached.logEndOffset());
      expect(chunks).toBeGreaterThan(chunkBytes === 1 ? 300 : 4);
      await replica.close();
    }
    await cached.close();
    await plain.close();
  });

  it('serves bytes damaged on disk after they were written as they were written; a restart finds the damage', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    const [result] = await store.appendMessages([request({ topic: 't', body: 'precious' })]);
    const segment = await open(join(dataDir, 'commitlog', (await readdir(join(dataDir, 'commitlog')))[0]!), 'r+');
    await segment.write(Buffer.from('XXXX'), 0, 4, result!.physicalOffset + 60);
    await segment.close();
    expect(decode((await store.readQueue('t', 0, 0, 10, 1 << 20)).records)[0]!.body.toString()).toBe('precious');
    await store.close();
    const reopened = await openStore({ dataDir });
    await expect(reopened.readQueue('t', 0, 0, 10, 1 << 20)).rejects.toMatchObject({ code: 'MESSAGE_CORRUPTED' });
    await reopened.close();
  });

  it('forgets what a truncation cut off: records later appended at the same offsets read back as themselves', async () => {
    const first = await openStore({ dataDir: await tempDir() });
    await first.appendMessages(Array.from({ length: 10 }, (_, i) => request({ topic: 't', body: `old-${i}` })));
    const cut = decode((await first.readQueue('t', 0, 5, 1, 1 << 20)).records)[0]!.physicalOffset;
    const replica = await openReplica();
    await replica.appendReplicated(0, await first.readLog(0, 1 << 20));
    expect((await readAll(replica, 't', 0)).map((r) => r.body.toString())).toHaveLength(10);
    // A new leader that kept the first five and then took other writes.
    const leader = await openReplica();
    await leader.appendReplicated(0, (await first.readLog(0, 1 << 20)).subarray(0, cut));
    leader.setRole('master');
    await leader.appendMessages(Array.from({ length: 5 }, (_, i) => request({ topic: 't', body: `new-${i}` })));

    await replica.truncate(cut);
    await replica.appendReplicated(cut, await leader.readLog(cut, 1 << 20));
    const expected = [...Array.from({ length: 5 }, (_, i) => `old-${i}`), ...Array.from({ length: 5 }, (_, i) => `new-${i}`)];
    expect((await readAll(replica, 't', 0)).map((r) => r.body.toString())).toEqual(expected);
    expect((await replica.readLog(0, 1 << 20)).equals(await leader.readLog(0, 1 << 20))).toBe(true);
    for (const s of [first, replica, leader]) await s.close();
  });
});

async function openReplica(options: Partial<MessageStoreOptions> = {}): Promise<MessageStore> {
  const store = await openStore({ dataDir: await tempDir(), ...options });
  store.setRole('replica');
  return store;
}

/** `length` bytes of the commit log at `position`, read from its segment file. */
async function segmentBytes(dataDir: string, segmentSizeBytes: number, position: number, length: number): Promise<Buffer> {
  const base = Math.floor(position / segmentSizeBytes) * segmentSizeBytes;
  const file = await open(join(dataDir, 'commitlog', String(base).padStart(20, '0')), 'r');
  try {
    const out = Buffer.alloc(length);
    await file.read(out, 0, length, position - base);
    return out;
  } finally {
    await file.close();
  }
}
