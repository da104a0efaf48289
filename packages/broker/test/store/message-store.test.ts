import { isRoomqError } from '@roomq/protocol';
import { describe, expect, it } from 'vitest';
import { decode, openStore, readAll, request, tempDir } from './helpers.js';

describe('MessageStore basics', () => {
  for (const flushMode of ['sync', 'async'] as const) {
    it(`round-trips messages in ${flushMode} mode`, async () => {
      const dataDir = await tempDir();
      const store = await openStore({ dataDir, flushMode });
      const requests = [request({ topic: 'orders', body: 'one', keys: ['k1'], tag: 'TagA' }), request({ topic: 'orders', body: 'two' })];
      const results = await store.appendMessages(requests);
      expect(results.map((r) => r.queueOffset)).toEqual([0, 1]);
      expect(results[0]!.messageId).toBe(requests[0]!.summary.messageId);
      expect(results[1]!.physicalOffset).toBeGreaterThan(results[0]!.physicalOffset);
      expect(store.queueEnd('orders', 0)).toBe(2);

      const read = await store.readQueue('orders', 0, 0, 10, 1024 * 1024);
      expect(read).toMatchObject({ count: 2, nextOffset: 2, endOffset: 2 });
      const records = decode(read.records);
      expect(records.map((r) => r.body.toString())).toEqual(['one', 'two']);
      expect(records[0]).toMatchObject({ topic: 'orders', tag: 'TagA', keys: ['k1'], queueOffset: 0, properties: { origin: 'test' } });
      expect(store.queues()).toEqual([{ topic: 'orders', queueId: 0, endOffset: 2 }]);
      expect(store.stats()).toMatchObject({ state: 'ready', flushMode, logEndOffset: results[1]!.physicalOffset + requests[1]!.section.length + 40 });
    });
  }

  it('keeps per-queue order for many concurrent appends across queues', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < 300; i++) pending.push(store.appendMessages([request({ topic: 't', queueId: i % 3, body: `m${i}` })]));
    await Promise.all(pending);
    for (let q = 0; q < 3; q++) {
      const bodies = (await readAll(store, 't', q, 7)).map((r) => r.body.toString());
      expect(bodies).toEqual(Array.from({ length: 100 }, (_, j) => `m${j * 3 + q}`));
    }
  });

  it('respects maxMessages and maxBytes but always returns one message', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    await store.appendMessages(Array.from({ length: 10 }, (_, i) => request({ topic: 't', body: Buffer.alloc(1000, i) })));
    expect((await store.readQueue('t', 0, 0, 3, 1 << 20)).count).toBe(3);
    expect((await store.readQueue('t', 0, 0, 10, 2500)).count).toBe(2);
    const one = await store.readQueue('t', 0, 4, 10, 10);
    expect(one).toMatchObject({ count: 1, nextOffset: 5 });
    expect(decode(one.records)[0]!.body[0]).toBe(4);
    expect(await store.readQueue('t', 0, 10, 10, 1 << 20)).toMatchObject({ count: 0, nextOffset: 10, endOffset: 10 });
    await expect(store.readQueue('t', 0, 11, 10, 1 << 20)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
    await expect(store.readQueue('other', 0, 1, 10, 1 << 20)).rejects.toMatchObject({ code: 'INVALID_OFFSET' });
  });

  it('rolls segments, never splitting a record, and reads across them', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, segmentSizeBytes: 64 * 1024 });
    for (let i = 0; i < 200; i++) await store.appendMessages([request({ topic: 't', body: Buffer.alloc(1500, i % 256) })]);
    expect(store.stats().segmentCount).toBeGreaterThanOrEqual(4);
    const all = await readAll(store, 't', 0, 50);
    expect(all).toHaveLength(200);
    all.forEach((r, i) => {
      expect(r.queueOffset).toBe(i);
      expect(r.body[0]).toBe(i % 256);
      expect(Math.floor(r.physicalOffset / 65536)).toBe(Math.floor((r.physicalOffset + r.totalLength - 1) / 65536));
    });
    await store.close();
    const reopened = await openStore({ dataDir, segmentSizeBytes: 64 * 1024 });
    expect(await readAll(reopened, 't', 0, 33)).toHaveLength(200);
  });

  it('keeps everything and continues offsets after close and reopen', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir, flushMode: 'async' });
    await store.appendMessages(Array.from({ length: 50 }, (_, i) => request({ topic: 'a', queueId: i % 2, body: `x${i}` })));
    await store.close();
    await store.close(); // idempotent
    expect(store.state).toBe('closed');
    await expect(store.appendMessages([request({ topic: 'a' })])).rejects.toMatchObject({ code: 'CLOSED' });

    const reopened = await openStore({ dataDir, flushMode: 'async' });
    expect(reopened.queueEnd('a', 0)).toBe(25);
    expect(reopened.queueEnd('a', 1)).toBe(25);
    const [next] = await reopened.appendMessages([request({ topic: 'a', queueId: 1, body: 'after' })]);
    expect(next!.queueOffset).toBe(25);
    const bodies = (await readAll(reopened, 'a', 1)).map((r) => r.body.toString());
    expect(bodies).toEqual([...Array.from({ length: 25 }, (_, j) => `x${j * 2 + 1}`), 'after']);
  });

  it('wakes a waiting reader when data arrives and honours abort', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    const waiting = store.waitForData('t', 0, 0, new AbortController().signal);
    await store.appendMessages([request({ topic: 't' })]);
    await waiting;
    expect(store.queueEnd('t', 0)).toBe(1);
    const controller = new AbortController();
    const aborted = store.waitForData('t', 0, 5, controller.signal);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    await store.waitForData('t', 0, 0, new AbortController().signal); // already satisfied
  });

  it('stores consumer offsets that survive restarts and never go backwards', async () => {
    const dataDir = await tempDir();
    const store = await openStore({ dataDir });
    expect(store.committedOffset('g', 't', 0)).toBeUndefined();
    expect(await store.commitOffset('g', 't', 0, 10)).toBe(10);
    expect(await store.commitOffset('g', 't', 0, 4)).toBe(10);
    const [a, b] = await Promise.all([store.commitOffset('g', 't', 1, 7), store.commitOffset('g', 't', 1, 3)]);
    expect([a, b]).toEqual([7, 7]);
    await store.close();

    const reopened = await openStore({ dataDir });
    expect(reopened.committedOffset('g', 't', 0)).toBe(10);
    expect(reopened.committedOffset('g', 't', 1)).toBe(7);
    expect(await reopened.commitOffset('g', 't', 0, 2)).toBe(10);
    expect(await reopened.commitOffset('g', 't', 0, 12)).toBe(12);
    expect(reopened.committedOffset('g', 't', 0)).toBe(12);
  });

  it('finds messages by ID and by key, before and after restart', async () => {
    const dataDir = await tempDir();
    const options = { dataDir, indexSlots: 1024 }; // few slots: chains get collisions
    const store = await openStore(options);
    const requests = Array.from({ length: 3000 }, (_, i) => request({ topic: i % 2 ? 'odd' : 'even', body: `b${i}`, keys: [`order-${i % 100}`] }));
    for (let i = 0; i < requests.length; i += 500) await store.appendMessages(requests.slice(i, i + 500));
    const check = async (s: typeof store): Promise<void> => {
      const found = await s.lookupMessageId(requests[1234]!.summary.messageId);
      expect(found?.body.toString()).toBe('b1234');
      expect(await s.lookupMessageId('01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF')).toBeUndefined();
      const byKey = await s.lookupKey('even', 'order-42', 100);
      expect(byKey.map((r) => r.body.toString())).toEqual(Array.from({ length: 30 }, (_, j) => `b${2942 - j * 100}`));
      expect(await s.lookupKey('odd', 'order-42', 100)).toEqual([]);
      expect(await s.lookupKey('even', 'order-42', 2)).toHaveLength(2);
    };
    await check(store);
    await store.close();
    await check(await openStore(options));
  });

  it('stores concurrent large batches (written ahead of their flush) across segment rolls, indexed once acknowledged', async () => {
    const dataDir = await tempDir();
    // ~110 KiB a batch (written ahead of the flush), 256 KiB segments (rolled every few batches), 4 calls at once.
    const options = { dataDir, segmentSizeBytes: 256 * 1024, writeBufferBytes: 64 * 1024 };
    const store = await openStore(options);
    const batches = Array.from({ length: 24 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) => request({ topic: 't', queueId: b % 2, body: `b${b}-m${i}-${'x'.repeat(1000)}`, keys: [`key-${b}`] })),
    );
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const results = await store.appendMessages(batch);
        // Acknowledged means readable and findable at once.
        expect(store.queueEnd('t', results[0]!.queueId)).toBeGreaterThan(results[results.length - 1]!.queueOffset);
        expect((await store.lookupMessageId(batch[99]!.summary.messageId))?.physicalOffset).toBe(results[99]!.physicalOffset);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(store.stats().segmentCount).toBeGreaterThanOrEqual(8);
    const check = async (s: typeof store): Promise<void> => {
      for (const queueId of [0, 1]) {
        const bodies = (await readAll(s, 't', queueId, 64)).map((r) => r.body.toString().split('-x')[0]!);
        expect(bodies).toHaveLength(1200);
        // Each batch is stored whole and in order; batches of a queue keep their call order.
        const batchOrder = [...new Set(bodies.map((body) => body.split('-')[0]))];
        expect(batchOrder).toHaveLength(12);
        for (const b of batchOrder) {
          const of = bodies.filter((body) => body.startsWith(`${b}-`));
          expect(of).toEqual(Array.from({ length: 100 }, (_, i) => `${b}-m${i}`));
        }
      }
      expect((await s.lookupKey('t', 'key-17', 1000)).map((r) => r.body.toString().split('-x')[0])).toEqual(
        Array.from({ length: 100 }, (_, i) => `b17-m${99 - i}`),
      );
    };
    await check(store);
    await store.close();
    await check(await openStore(options));
  });

  it('rejects bad options with the field name', async () => {
    const dataDir = await tempDir();
    const error = await openStore({ dataDir, segmentSizeBytes: 1000 }).catch((err: unknown) => err);
    expect(isRoomqError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('segmentSizeBytes');
  });
});
