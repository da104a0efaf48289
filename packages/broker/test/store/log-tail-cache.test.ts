import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MessageStore, MessageStoreOptions } from '../../src/store/index.js';
import { LogTailCache } from '../../src/store/log-tail-cache.js';
import { decode, openStore, readAll, request, tempDir } from './helpers.js';

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

describe('LogTailCache', () => {
  it('serves what it holds, as copies, and refuses what it does not', () => {
    const cache = new LogTailCache(1 << 20);
    cache.add(100, bytes(300, 1));
    cache.add(400, bytes(200, 2));
    expect(cache.slice(100, 500)).toEqual(Buffer.concat([bytes(300, 1), bytes(200, 2)]));
    expect(cache.slice(350, 100)).toEqual(Buffer.concat([bytes(50, 1), bytes(50, 2)]));
    expect(cache.slice(99, 10)).toBeUndefined();
    expect(cache.slice(590, 20)).toBeUndefined();
    expect(cache.slice(350, 250)).toEqual(Buffer.concat([bytes(50, 1), bytes(200, 2)]));
    expect(cache.slice(350, 251)).toBeUndefined();
    const copy = cache.slice(100, 10)!;
    copy.fill(9);
    expect(cache.slice(100, 10)).toEqual(bytes(10, 1));
  });

  it('starts over at bytes that do not continue what it holds (a new segment, a rewrite)', () => {
    const cache = new LogTailCache(1 << 20);
    cache.add(0, bytes(100, 1));
    cache.add(4096, bytes(100, 2));
    expect(cache.slice(50, 10)).toBeUndefined();
    expect(cache.slice(4096, 100)).toEqual(bytes(100, 2));
    cache.clear();
    expect(cache.slice(4096, 10)).toBeUndefined();
  });

  it('keeps the newest capacity bytes across the wrap of its ring', () => {
    const cache = new LogTailCache(1000);
    const log = Buffer.from(Array.from({ length: 2600 }, (_, i) => i % 251));
    for (let at = 0; at < log.length; at += 300) cache.add(at, log.subarray(at, Math.min(at + 300, log.length)));
    expect(cache.slice(1600, 1001)).toBeUndefined();
    expect(cache.slice(1599, 10)).toBeUndefined();
    expect(cache.slice(1600, 1000)).toEqual(log.subarray(1600, 2600));
    expect(cache.slice(1950, 120)).toEqual(log.subarray(1950, 2070));
    cache.add(2600, Buffer.from(Array.from({ length: 2500 }, (_, i) => (2600 + i) % 251)));
    expect(cache.slice(4100, 1000)).toEqual(Buffer.from(Array.from({ length: 1000 }, (_, i) => (4100 + i) % 251)));
    expect(cache.slice(4099, 1)).toBeUndefined();
  });

  it('holds nothing when its capacity is 0', () => {
    const cache = new LogTailCache(0);
    cache.add(0, bytes(10, 1));
    expect(cache.slice(0, 10)).toBeUndefined();
  });
});

describe('MessageStore reads from the tail cache', () => {
  const SEGMENT = 64 * 1024;

  it('serves the same records and log bytes as the file, across segments and after eviction', async () => {
    // 100 KB: the tail only, so early reads go to the file, and records straddle the ring's wrap.
    const cachedDir = await tempDir();
    const cached = await openStore({ dataDir: cachedDir, segmentSizeBytes: SEGMENT, tailCacheBytes: 100_000 });
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
