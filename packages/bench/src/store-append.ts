import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MessageStore } from '@roomq/broker';
import { encodeMessageSection, summarizeMessageSection, type SectionSummary } from '@roomq/protocol';
import { oneInFlight } from './one-in-flight.js';

interface Prepared {
  queueId: number;
  section: Buffer;
  summary: SectionSummary;
}

/** Pre-encoded 1 KiB messages, so the figure is the store's cost, not the encoder's. */
function prepare(count: number, bodyBytes: number, queues: number): Prepared[] {
  const body = Buffer.alloc(bodyBytes, 0x61);
  const out: Prepared[] = [];
  for (let i = 0; i < count; i++) {
    const section = encodeMessageSection({ topic: 'bench', messageId: `01BENCH${i.toString(16).padStart(26, '0')}`, tag: '', keys: [`k-${i}`], properties: {}, body, bornTimestampMs: Date.now() });
    out.push({ queueId: i % queues, section, summary: summarizeMessageSection(section, 0, section.length) });
  }
  return out;
}

/**
 * Appends for `seconds` with `concurrency` appendMessages calls of `batch` messages each in flight, the way the
 * broker calls the store for concurrent publish frames. Returns messages per second.
 */
export async function storeAppend(
  dir: string,
  flushMode: 'sync' | 'async',
  batch: number,
  concurrency: number,
  seconds: number,
  bodyBytes = 1024,
): Promise<{ msgsPerSec: number }> {
  const dataDir = await mkdtemp(join(dir, `store-${flushMode}-${batch}-`));
  const store = await MessageStore.open({ dataDir, flushMode, segmentSizeBytes: 256 * 1024 * 1024 });
  const pool = prepare(Math.max(batch * concurrency * 4, 4096), bodyBytes, 8);
  let cursor = 0;
  let appended = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const requests: Prepared[] = new Array(batch);
      for (let i = 0; i < batch; i++) requests[i] = pool[(cursor++) % pool.length]!;
      await store.appendMessages(requests);
      appended += batch;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
  return { msgsPerSec: appended / elapsed };
}

/**
 * Latency of one-message sync appends with exactly one in flight: the store's part of a sync publish (one write
 * and one fdatasync each). The warm-up (~4 s) writes past the first MiB of the segment, which is never
 * preallocated, and lets the first fill of the preallocation window finish (~2 s at this load here), as in a
 * broker that has run a while. Each append is followed by a turn of the event loop, as a broker's appends
 * arrive in network callbacks: back to back, small sync appends run as one chain of microtasks in which no
 * I/O callback runs (the preallocation's included).
 */
export async function storeLatency(dir: string, count: number, bodyBytes = 1024): Promise<Record<string, number>> {
  const dataDir = await mkdtemp(join(dir, 'store-latency-'));
  const store = await MessageStore.open({ dataDir, flushMode: 'sync', segmentSizeBytes: 256 * 1024 * 1024 });
  const pool = prepare(256, bodyBytes, 1);
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const latency = await oneInFlight((i) => store.appendMessages([pool[i % pool.length]!]), 20_000, count, turn);
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
  return latency;
}

/** Reads a backlog of `count` messages from one queue with the broker's subscribe batch size. */
export async function storeRead(dir: string, count: number, bodyBytes = 1024): Promise<{ msgsPerSec: number }> {
  const dataDir = await mkdtemp(join(dir, 'store-read-'));
  const store = await MessageStore.open({ dataDir, flushMode: 'async', segmentSizeBytes: 256 * 1024 * 1024 });
  const pool = prepare(256, bodyBytes, 1);
  for (let written = 0; written < count; written += 256) await store.appendMessages(pool.slice(0, Math.min(256, count - written)));
  const started = performance.now();
  let offset = 0;
  while (offset < count) {
    const read = await store.readQueue('bench', 0, offset, 512, 1024 * 1024);
    offset = read.nextOffset;
  }
  const elapsed = (performance.now() - started) / 1000;
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
  return { msgsPerSec: count / elapsed };
}
