import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoomqError } from '@roomq/protocol';
import { describe, expect, it } from 'vitest';
import { FaultyIO, capturingLogger, openStore, readAll, request, tempDir, waitFor } from './helpers.js';

function expectStorageFailed(err: unknown, errno: string): void {
  expect(isRoomqError(err, 'STORAGE_FAILED')).toBe(true);
  expect((err as Error).message).toContain(errno);
  expect((err as Error).message).toContain('nothing unflushed was acknowledged');
}

describe('MessageStore fail-stop', () => {
  for (const fault of ['write', 'fdatasync'] as const) {
    it(`stops accepting writes after a ${fault} EIO, acknowledging nothing unflushed`, async () => {
      const dataDir = await tempDir();
      const io = new FaultyIO();
      const { logger, entries } = capturingLogger();
      const store = await openStore({ dataDir }, { io, logger });
      await store.appendMessages([request({ topic: 't', body: 'durable' })]);

      io.hold();
      const started = io.writesStarted;
      const outcomes: Array<Promise<unknown>> = [];
      outcomes.push(store.appendMessages([request({ topic: 't', body: 'a' })]));
      await waitFor(() => io.writesStarted > started, 'the write to start');
      // These gather behind the held write.
      outcomes.push(store.appendMessages([request({ topic: 't', body: 'b' }), request({ topic: 't', queueId: 1, body: 'c' })]));
      outcomes.push(store.commitOffset('g', 't', 0, 1));
      if (fault === 'write') io.writeError = 'EIO';
      else io.syncError = 'EIO';
      io.release();

      const settled = await Promise.allSettled(outcomes);
      for (const outcome of settled) {
        expect(outcome.status).toBe('rejected');
        expectStorageFailed((outcome as PromiseRejectedResult).reason, 'EIO');
      }
      expect(store.state).toBe('failed');
      expect(store.failure?.message).toContain(dataDir);
      expect(store.stats()).toMatchObject({ state: 'failed' });
      expect(entries.some((e) => e.level === 50 && e.errno === 'EIO')).toBe(true);

      // Nothing after the failure is visible; what was durable still reads.
      expect(store.queueEnd('t', 0)).toBe(1);
      expect(store.queueEnd('t', 1)).toBe(0);
      expect((await readAll(store, 't', 0)).map((r) => r.body.toString())).toEqual(['durable']);
      await expect(store.appendMessages([request({ topic: 't' })])).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
      await expect(store.commitOffset('g', 't', 0, 5)).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
      expect(store.committedOffset('g', 't', 0)).toBeUndefined();
      await store.close();
    });
  }

  for (const flushMode of ['sync', 'async'] as const) {
    it(`fails stop when a small group written on the event loop fails (${flushMode} flush), acknowledging none of it`, async () => {
      const dataDir = await tempDir();
      const io = new FaultyIO(false, true);
      const store = await openStore({ dataDir, flushMode }, { io });
      await store.appendMessages([request({ topic: 't', body: 'durable' })]);
      const before = io.writesStarted;
      io.writeError = 'EIO';
      const failed = store.appendMessages([request({ topic: 't', body: 'lost' })]);
      await expect(failed).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
      expectStorageFailed(await failed.catch((err: unknown) => err), 'EIO');
      // It went through the on-thread path, not the thread pool's.
      expect(io.writesStarted).toBe(before + 1);
      expect(store.state).toBe('failed');
      expect(store.queueEnd('t', 0)).toBe(1);
      expect((await readAll(store, 't', 0)).map((r) => r.body.toString())).toEqual(['durable']);
      await store.close();
    });
  }

  it('fails stop when a large batch written ahead of its flush fails, acknowledging and indexing none of it', async () => {
    const dataDir = await tempDir();
    const io = new FaultyIO();
    const store = await openStore({ dataDir }, { io });
    await store.appendMessages([request({ topic: 't', body: 'durable' })]);

    io.hold();
    const started = io.writesStarted;
    const small = store.appendMessages([request({ topic: 't', body: 'small' })]);
    await waitFor(() => io.writesStarted > started, 'the first flush to start');
    // ~200 KiB: its write starts at once, while the flush before it is still in progress.
    const big = Array.from({ length: 200 }, (_, i) => request({ topic: 't', queueId: 1, body: `big${i}-${'x'.repeat(1000)}`, keys: ['big'] }));
    const bigOutcome = store.appendMessages(big);
    expect(io.writesStarted).toBe(started + 2);
    io.writeError = 'EIO';
    io.release();

    for (const outcome of await Promise.allSettled([small, bigOutcome])) {
      expect(outcome.status).toBe('rejected');
      expectStorageFailed((outcome as PromiseRejectedResult).reason, 'EIO');
    }
    expect(store.queueEnd('t', 0)).toBe(1);
    expect(store.queueEnd('t', 1)).toBe(0);
    expect(await store.lookupMessageId(big[0]!.summary.messageId)).toBeUndefined();
    expect(await store.lookupKey('t', 'big', 10)).toEqual([]);
    expect((await readAll(store, 't', 0)).map((r) => r.body.toString())).toEqual(['durable']);
  });

  it('fails stop in async mode when the periodic fdatasync fails', async () => {
    const dataDir = await tempDir();
    const io = new FaultyIO();
    const store = await openStore({ dataDir, flushMode: 'async', flushIntervalMs: 5 }, { io });
    await store.appendMessages([request({ topic: 't', body: 'written' })]);
    io.syncError = 'EIO';
    // The timer may fail the store while this one is still being written: then it is refused, never half-kept.
    const second = store.appendMessages([request({ topic: 't', body: 'written too' })]).then(
      () => 'acknowledged',
      (err: unknown) => err,
    );
    await waitFor(() => store.state === 'failed', 'the store to fail');
    const outcome = await second;
    if (outcome !== 'acknowledged') expectStorageFailed(outcome, 'EIO');
    await expect(store.appendMessages([request({ topic: 't' })])).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    // Everything acknowledged (written, in async mode) stays readable.
    expect((await readAll(store, 't', 0)).map((r) => r.body.toString())).toEqual(outcome === 'acknowledged' ? ['written', 'written too'] : ['written']);
  });

  it('fails stop with ENOSPC when the next segment is on a full disk (/dev/full)', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, segmentSizeBytes: 64 * 1024 });
    await symlink('/dev/full', join(dataDir, 'commitlog', String(64 * 1024).padStart(20, '0')));
    const acknowledged: string[] = [];
    let failure: unknown;
    for (let i = 0; i < 100 && failure === undefined; i++) {
      try {
        await store.appendMessages([request({ topic: 't', body: `m${i}-${'x'.repeat(2000)}` })]);
        acknowledged.push(`m${i}`);
      } catch (err) {
        failure = err;
      }
    }
    expectStorageFailed(failure, 'ENOSPC');
    expect(store.state).toBe('failed');
    expect(acknowledged.length).toBeGreaterThan(20);
    expect((await readAll(store, 't', 0)).map((r) => r.body.toString().split('-')[0])).toEqual(acknowledged);
    await expect(store.appendMessages([request({ topic: 't' })])).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
  });
});
