/**
 * Quick throughput figures for the store (not a test). Run from the repo root:
 *   npx esbuild packages/broker/test/store/bench.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=/tmp/store-bench.mjs && node /tmp/store-bench.mjs
 * (an output outside the repo needs the repo's node_modules on its resolution path, e.g. /tmp/node_modules as a
 * symlink to it; vite-node also runs it, but its module proxies roughly halve the figures.)
 * BENCH_ONLY=sync|async|cpu|read, BENCH_WORKLOAD=4x256 and BENCH_SECONDS=3 narrow a run; BENCH_PREALLOCATE_BYTES=0
 * turns preallocation off (the store's default otherwise), for A/B runs of one build.
 *
 * The append workload is what the broker server does: K concurrent appendMessages calls (one per publish frame)
 * of B ~1 KiB messages each. Each sync figure is compared with the raw disk ceiling measured in the same run at
 * the same number of messages per fdatasync (one write + one fdatasync of that many records, back to back).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageIdGenerator, encodeMessageSection, messageRecordSize, summarizeMessageSection } from '@roomq/protocol';
import { MessageStore, nodeFileIO, type AppendRequest, type FileIO } from '../../src/store/index.js';

const BODY = Buffer.alloc(1024, 7);
const ids = new MessageIdGenerator();
/** Seconds each measurement aims for. */
const TARGET_SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
/** Alternating store/ceiling slices per sync figure. */
const ROUNDS = 5;
/** The store's preallocation window; undefined: its default. */
const PREALLOCATE_BYTES = process.env.BENCH_PREALLOCATE_BYTES === undefined ? undefined : Number(process.env.BENCH_PREALLOCATE_BYTES);

function message(queueId: number): AppendRequest {
  const section = encodeMessageSection({ topic: 'bench', messageId: ids.next(), tag: 'TagA', keys: ['k'], properties: {}, body: BODY, bornTimestampMs: Date.now() });
  return { queueId, section, summary: summarizeMessageSection(section, 0, section.length) };
}

const RECORD_BYTES = messageRecordSize(message(0).section.length);

/** Raw disk: one write + one fdatasync of `batch` records at a time, appended to one file. */
async function rawCeiling(batch: number, seconds: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'roomq-bench-'));
  const file = await open(join(dir, 'raw'), 'w+');
  const buf = Buffer.alloc(batch * RECORD_BYTES, 1);
  let at = 0;
  let rounds = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await file.write(buf, 0, buf.length, at);
    await file.datasync();
    at += buf.length;
    rounds++;
  }
  const elapsed = (performance.now() - start) / 1000;
  await file.close();
  await rm(dir, { recursive: true, force: true });
  return (batch * rounds) / elapsed;
}

/** nodeFileIO counting the commit log's fdatasyncs (not those of the descriptors that zero-fill ahead). */
function countingIO(counter: { syncs: number }): FileIO {
  return {
    ...nodeFileIO,
    async open(path, flags) {
      const file = await nodeFileIO.open(path, flags);
      if (!path.includes('commitlog')) return file;
      const datasync = file.datasync.bind(file);
      const writeZeros = file.writeZeros?.bind(file);
      let zeroFill = false;
      if (writeZeros) {
        file.writeZeros = (position, length) => {
          zeroFill = true;
          return writeZeros(position, length);
        };
      }
      file.datasync = () => {
        if (!zeroFill) counter.syncs++;
        return datasync();
      };
      return file;
    },
  };
}

/** nodeFileIO whose commit-log writes and fdatasyncs do nothing: what is left is the store's CPU cost. */
function nullLogIO(counter: { syncs: number }): FileIO {
  return {
    ...nodeFileIO,
    async open(path, flags) {
      const file = await nodeFileIO.open(path, flags);
      if (!path.includes('commitlog')) return file;
      file.writev = () => Promise.resolve();
      file.datasync = () => {
        counter.syncs++;
        return Promise.resolve();
      };
      return file;
    },
  };
}

interface AppendFigures {
  rate: number;
  messagesPerSync: number;
}

/** A store on a fresh directory with `calls` x 4 prepared batches of `batch` messages over four queues. */
async function openBenchStore(flushMode: 'sync' | 'async', calls: number, batch: number, nullDisk = false) {
  const dataDir = await mkdtemp(join(tmpdir(), 'roomq-bench-'));
  const counter = { syncs: 0 };
  const preallocation = PREALLOCATE_BYTES === undefined ? {} : { preallocateBytes: PREALLOCATE_BYTES };
  const store = await MessageStore.open({ dataDir, flushMode, ...preallocation }, { io: nullDisk ? nullLogIO(counter) : countingIO(counter) });
  // Prepared batches reused round-robin: preparing them is the producer's and the server's work, not the store's.
  const pool = Array.from({ length: Math.max(64, calls * 4) }, (_, i) => Array.from({ length: batch }, () => message(i % 4)));
  const close = async (): Promise<void> => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  return { store, counter, pool, close };
}

/** `calls` concurrent appendMessages calls of `batch` messages each, for `seconds`. */
async function appendSlice(bench: Awaited<ReturnType<typeof openBenchStore>>, calls: number, batch: number, seconds: number): Promise<AppendFigures> {
  const { store, counter, pool } = bench;
  let next = 0;
  let done = 0;
  let stop = false;
  const syncsBefore = counter.syncs;
  const start = performance.now();
  const deadline = setTimeout(() => (stop = true), seconds * 1000);
  const worker = async (): Promise<void> => {
    while (!stop) {
      await store.appendMessages(pool[next++ % pool.length]!);
      done += batch;
    }
  };
  await Promise.all(Array.from({ length: calls }, worker));
  const elapsed = (performance.now() - start) / 1000;
  clearTimeout(deadline);
  const syncs = counter.syncs - syncsBefore;
  return { rate: done / elapsed, messagesPerSync: syncs > 0 ? done / syncs : done };
}

async function appendRate(flushMode: 'sync' | 'async', calls: number, batch: number, nullDisk = false): Promise<AppendFigures> {
  const bench = await openBenchStore(flushMode, calls, batch, nullDisk);
  await appendSlice(bench, calls, batch, 0.3); // warm-up
  const figures = await appendSlice(bench, calls, batch, TARGET_SECONDS);
  await bench.close();
  return figures;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

/**
 * The disk's speed drifts by 2x from one second to the next here, so store and ceiling are measured in
 * alternating slices and compared slice by slice; the median ratio is reported.
 */
async function syncVersusCeiling(calls: number, batch: number): Promise<{ rate: number; messagesPerSync: number; ceiling: number; ratio: number }> {
  const bench = await openBenchStore('sync', calls, batch);
  await appendSlice(bench, calls, batch, 0.3); // warm-up
  const rates: number[] = [];
  const ceilings: number[] = [];
  const ratios: number[] = [];
  const perSync: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const figures = await appendSlice(bench, calls, batch, TARGET_SECONDS / ROUNDS);
    const ceiling = await rawCeiling(Math.max(1, Math.round(figures.messagesPerSync)), TARGET_SECONDS / ROUNDS);
    rates.push(figures.rate);
    ceilings.push(ceiling);
    perSync.push(figures.messagesPerSync);
    ratios.push(figures.rate / ceiling);
  }
  await bench.close();
  return { rate: median(rates), messagesPerSync: median(perSync), ceiling: median(ceilings), ratio: median(ratios) };
}

async function readRate(total: number): Promise<{ rate: number; batchAppendRate: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'roomq-bench-'));
  const store = await MessageStore.open({ dataDir, flushMode: 'async' });
  const batches = Array.from({ length: total / 256 }, () => Array.from({ length: 256 }, () => message(0)));
  const appendStart = performance.now();
  for (const batch of batches) await store.appendMessages(batch);
  const batchAppendRate = total / ((performance.now() - appendStart) / 1000);
  const start = performance.now();
  let offset = 0;
  let count = 0;
  while (offset < store.queueEnd('bench', 0)) {
    const result = await store.readQueue('bench', 0, offset, 256, 1024 * 1024);
    offset = result.nextOffset;
    count += result.count;
  }
  const rate = count / ((performance.now() - start) / 1000);
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
  return { rate, batchAppendRate };
}

const fmt = (n: number): string => `${Math.round(n).toLocaleString('en-US')}`.padStart(9);
const workloads: Array<{ calls: number; batch: number }> = [
  { calls: 4, batch: 1 },
  { calls: 4, batch: 16 },
  { calls: 4, batch: 64 },
  { calls: 4, batch: 256 },
  { calls: 256, batch: 1 },
].filter(({ calls, batch }) => !process.env.BENCH_WORKLOAD || process.env.BENCH_WORKLOAD === `${calls}x${batch}`); // e.g. "4x256"
const only = process.env.BENCH_ONLY; // "sync", "async", "cpu" or "read"
console.log(`record size ${RECORD_BYTES} bytes; ~${TARGET_SECONDS} s a figure; msgs/s`);
if (!only || only === 'sync') {
  console.log('sync   K x B      store   msgs/sync  ceiling@same   % of ceiling (median of 5 alternating slices)');
  for (const { calls, batch } of workloads) {
    const figures = await syncVersusCeiling(calls, batch);
    const label = `${calls} x ${batch}`.padEnd(9);
    console.log(`sync   ${label} ${fmt(figures.rate)}  ${figures.messagesPerSync.toFixed(1).padStart(9)}  ${fmt(figures.ceiling)}      ${(100 * figures.ratio).toFixed(0).padStart(3)}%`);
  }
}
if (!only || only === 'async') {
  console.log('async  K x B      store');
  for (const { calls, batch } of workloads) {
    const figures = await appendRate('async', calls, batch);
    console.log(`async  ${`${calls} x ${batch}`.padEnd(9)} ${fmt(figures.rate)}`);
  }
}
if (!only || only === 'cpu') {
  console.log('cpu    K x B      store on a no-op commit-log disk (sync mode): CPU cost a message');
  for (const { calls, batch } of workloads) {
    const figures = await appendRate('sync', calls, batch, true);
    console.log(`cpu    ${`${calls} x ${batch}`.padEnd(9)} ${fmt(figures.rate)}  ${(1e6 / figures.rate).toFixed(2).padStart(6)} µs/msg`);
  }
}
if (!only || only === 'read') {
  const { rate, batchAppendRate } = await readRate(200_000);
  console.log(`append async, one call of 256 messages at a time: ${fmt(batchAppendRate)}`);
  console.log(`readQueue over a 200,000-message backlog (256 a read): ${fmt(rate)}`);
}
