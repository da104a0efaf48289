import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeOverlay, encodeOverlay } from '../../src/store/offset-overlay-codec.js';
import { MessageStore, nodeFileIO, type FileIO, type MessageStoreOptions, type StoreFile } from '../../src/store/index.js';
import { openStore, request, tempDir, waitFor } from './helpers.js';

async function openReplica(options: MessageStoreOptions, deps: Parameters<typeof openStore>[1] = {}): Promise<MessageStore> {
  const store = await openStore(options, deps);
  store.setRole('replica');
  return store;
}

/** What a replicator does: copy the master's durable log to the replica's end. */
async function copyLog(from: MessageStore, to: MessageStore): Promise<void> {
  for (;;) {
    const at = to.logEndOffset();
    const chunk = await from.readLog(at, 1 << 20);
    if (chunk.length === 0) return;
    await to.appendReplicated(at, chunk);
  }
}

/** A master holding `count` messages in t/0 and t/1, and a replica holding the same log. */
async function pair(count = 10): Promise<{ master: MessageStore; replica: MessageStore; replicaDir: string }> {
  const master = await openStore({ dataDir: await tempDir() });
  for (let q = 0; q < 2; q++) await master.appendMessages(Array.from({ length: count }, (_, i) => request({ topic: 't', queueId: q, body: `m${i}` })));
  const replicaDir = await tempDir();
  const replica = await openReplica({ dataDir: replicaDir });
  await copyLog(master, replica);
  return { master, replica, replicaDir };
}

/** The real file system, logging every step on the overlay file (and failing them on demand). */
class OverlayWatchIO implements FileIO {
  readonly steps: string[] = [];
  failOverlay = false;

  async open(path: string, flags: 'r' | 'r+' | 'w+'): Promise<StoreFile> {
    const file = await nodeFileIO.open(path, flags);
    if (!path.includes('offset-overlay')) return file;
    const steps = this.steps;
    const fail = (): boolean => this.failOverlay;
    return {
      path: file.path,
      read: (buf, offset, length, position) => file.read(buf, offset, length, position),
      async writev(buffers, position) {
        steps.push('write');
        if (fail()) throw Object.assign(new Error('EIO: simulated'), { code: 'EIO', syscall: 'write', path });
        return file.writev(buffers, position);
      },
      async datasync() {
        steps.push('datasync');
        return file.datasync();
      },
      truncate: (length) => file.truncate(length),
      size: () => file.size(),
      close: () => file.close(),
    };
  }
  async rename(from: string, to: string): Promise<void> {
    if (to.endsWith('offset-overlay')) this.steps.push('rename');
    return nodeFileIO.rename(from, to);
  }
  mkdir = nodeFileIO.mkdir;
  readdir = nodeFileIO.readdir;
  stat = nodeFileIO.stat;
  unlink = nodeFileIO.unlink;
  truncate = nodeFileIO.truncate;
}

describe('offset overlay (offsets committed at a replica)', () => {
  it('round-trips its file format and refuses a damaged file', () => {
    const data = { offsets: [{ group: 'g', topic: 't', queueId: 3, offset: 42 }] };
    const bytes = encodeOverlay(data);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('52514f5600010000');
    expect(decodeOverlay(bytes)).toEqual(data);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 2] = flipped[flipped.length - 2]! ^ 0xff;
    expect(decodeOverlay(flipped)).toBe('checksum mismatch');
    expect(decodeOverlay(bytes.subarray(0, 10))).toBe('file is shorter than its header');
  });

  it('takes a commit at a replica, durable before it resolves, and keeps it across a reopen', async () => {
    const { replica, replicaDir } = await pair();
    await replica.close();
    const io = new OverlayWatchIO();
    const reopened = await openReplica({ dataDir: replicaDir }, { io });
    expect(await reopened.commitOffset('g', 't', 0, 7)).toBe(7);
    // temp file written and fdatasynced, then renamed into place (then the directory is synced).
    expect(io.steps).toEqual(['write', 'datasync', 'rename']);
    expect(reopened.committedOffset('g', 't', 0)).toBe(7);
    expect(reopened.overlayOffsets()).toEqual([{ group: 'g', topic: 't', queueId: 0, offset: 7 }]);
    // The log stays the upstream's: nothing was appended.
    expect(reopened.stats().logEndOffset).toBe(reopened.logEndOffset());
    await reopened.close();

    const again = await openReplica({ dataDir: replicaDir });
    expect(again.committedOffset('g', 't', 0)).toBe(7);
    expect(again.overlayOffsets()).toEqual([{ group: 'g', topic: 't', queueId: 0, offset: 7 }]);
  });

  it('never lowers an offset: max semantics, also for concurrent commits', async () => {
    const { replica, replicaDir } = await pair();
    expect(await replica.commitOffset('g', 't', 0, 8)).toBe(8);
    expect(await replica.commitOffset('g', 't', 0, 3)).toBe(8);
    const results = await Promise.all([4, 9, 6, 10, 2].map((o) => replica.commitOffset('g', 't', 0, o)));
    expect(Math.max(...results)).toBe(10);
    for (const r of results) expect(r).toBeGreaterThanOrEqual(8);
    expect(replica.committedOffset('g', 't', 0)).toBe(10);
    await replica.close();
    expect((await openReplica({ dataDir: replicaDir })).committedOffset('g', 't', 0)).toBe(10);
  });

  it('validates like the master: offset within the queue, well-formed', async () => {
    const { replica } = await pair(5);
    await expect(replica.commitOffset('g', 't', 0, 6)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    await expect(replica.commitOffset('g', 'unknown', 0, 1)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    await expect(replica.commitOffset('g', 't', 0, -1)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(replica.commitOffset('g', 't', -1, 1)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(await replica.commitOffset('g', 't', 0, 5)).toBe(5);
    expect(replica.committedOffset('g', 't', 1)).toBeUndefined();
  });

  it('drops an entry once the log table (replicated OFFSET_COMMIT records) reaches it, not before', async () => {
    const { master, replica, replicaDir } = await pair();
    await master.commitOffset('g', 't', 0, 2);
    await master.commitOffset('g', 't', 1, 1);
    await copyLog(master, replica);
    await replica.commitOffset('g', 't', 0, 6);
    await replica.commitOffset('g', 't', 1, 4);

    // A lower record from the master lowers nothing and keeps the entry.
    await master.commitOffset('g', 't', 0, 5);
    await copyLog(master, replica);
    expect(replica.committedOffset('g', 't', 0)).toBe(6);
    expect(replica.overlayOffsets()).toHaveLength(2);

    // The master's record for the same offset comes back: the entry goes (and stays gone after a reopen).
    await master.commitOffset('g', 't', 0, 6);
    await master.commitOffset('g', 't', 1, 9);
    await copyLog(master, replica);
    expect(replica.overlayOffsets()).toEqual([]);
    expect(replica.committedOffset('g', 't', 0)).toBe(6);
    expect(replica.committedOffset('g', 't', 1)).toBe(9);
    await replica.close();
    const overlay = decodeOverlay(await readFile(join(replicaDir, 'offset-overlay')));
    expect(overlay).toEqual({ offsets: [] });
    const reopened = await openReplica({ dataDir: replicaDir });
    expect(reopened.overlayOffsets()).toEqual([]);
    expect(reopened.committedOffset('g', 't', 0)).toBe(6);
  });

  it('drops covered entries on open when the log caught up before the file was rewritten', async () => {
    const { master, replica, replicaDir } = await pair();
    await replica.commitOffset('g', 't', 0, 3);
    const file = await readFile(join(replicaDir, 'offset-overlay'));
    await master.commitOffset('g', 't', 0, 4);
    await copyLog(master, replica);
    await replica.close();
    await writeFile(join(replicaDir, 'offset-overlay'), file); // as if a crash came before the rewrite
    const reopened = await openReplica({ dataDir: replicaDir });
    expect(reopened.overlayOffsets()).toEqual([]);
    expect(reopened.committedOffset('g', 't', 0)).toBe(4);
  });

  it('refuses to open over a damaged overlay file, saying what to do', async () => {
    const { replica, replicaDir } = await pair();
    await replica.commitOffset('g', 't', 0, 3);
    await replica.close();
    const path = join(replicaDir, 'offset-overlay');
    const bytes = await readFile(path);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    await writeFile(path, bytes);
    await expect(MessageStore.open({ dataDir: replicaDir })).rejects.toMatchObject({ code: 'STORAGE_FAILED', message: expect.stringContaining('move it aside') });
  });

  it('fails the store (and the commit) when the overlay cannot be written', async () => {
    const io = new OverlayWatchIO();
    const { replica, replicaDir } = await pair();
    await replica.close();
    const reopened = await openReplica({ dataDir: replicaDir }, { io });
    io.failOverlay = true;
    await expect(reopened.commitOffset('g', 't', 0, 3)).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    expect(reopened.state).toBe('failed');
    expect(reopened.committedOffset('g', 't', 0)).toBeUndefined();
  });

  it('on a master, applies forwarded offsets with max semantics and counts them before they are durable', async () => {
    const { master } = await pair();
    await master.commitOffset('g', 't', 0, 5);
    const applying = master.applyForwardedOffsets([
      { group: 'g', topic: 't', queueId: 0, offset: 8 },
      { group: 'g', topic: 't', queueId: 1, offset: 4 },
      { group: 'g', topic: 't', queueId: 1, offset: 99 }, // past the queue end: skipped
    ]);
    expect(master.committedOffset('g', 't', 0)).toBe(8);
    expect(master.committedOffset('g', 't', 1)).toBe(4);
    await applying;
    // A lower forwarded offset changes nothing.
    await master.applyForwardedOffsets([{ group: 'g', topic: 't', queueId: 0, offset: 2 }]);
    expect(master.committedOffset('g', 't', 0)).toBe(8);
    const end = master.logEndOffset();
    await master.applyForwardedOffsets([{ group: 'g', topic: 't', queueId: 0, offset: 8 }]);
    expect(master.logEndOffset()).toBe(end); // nothing new to write
    // The records are in the log: a fresh replica holds them.
    const replica = await openReplica({ dataDir: await tempDir() });
    await copyLog(master, replica);
    expect(replica.committedOffset('g', 't', 0)).toBe(8);
    expect(replica.committedOffset('g', 't', 1)).toBe(4);
    await expect(replica.applyForwardedOffsets([])).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a promoted replica writes its overlay into its log', async () => {
    const { replica } = await pair();
    await replica.commitOffset('g', 't', 1, 6);
    replica.setRole('master');
    await waitFor(() => replica.overlayOffsets().length === 0, 'overlay written into the log');
    expect(replica.committedOffset('g', 't', 1)).toBe(6);
    const follower = await openReplica({ dataDir: await tempDir() });
    await copyLog(replica, follower);
    expect(follower.committedOffset('g', 't', 1)).toBe(6);
  });
});
