/**
 * Throughput check of catch-up replication (not a timed test): an in-memory master log of the given size is
 * streamed over real gRPC on loopback to an empty in-memory replica; prints MB/s. Run from the repo root after
 * `npx tsc -b packages/replicator`:
 *
 *   npx vite-node packages/replicator/test/perf/catch-up-throughput.ts [megabytes=128] [chunkKiB=1024] [bodyBytes=1000]
 *
 * No disk is involved, so the figure is the ceiling set by the replicator, grpc-js and the loopback; a real
 * broker adds its write + fdatasync per appended chunk.
 */
import { ReplicaFollower, UpstreamServer } from '../../src/index.js';
import { serve } from '../helpers.js';
import { MemoryLog } from '../memory-log.js';

const megabytes = Number(process.argv[2] ?? 128);
const chunkBytes = Number(process.argv[3] ?? 1024) * 1024;
const bodyBytes = Number(process.argv[4] ?? 1000);
const SEGMENT = 64 * 1024 * 1024;

const source = new MemoryLog({ segmentSizeBytes: SEGMENT });
while (source.logEndOffset() < megabytes * 1024 * 1024) source.appendMessages(10_000, { bodyBytes });
const total = source.logEndOffset();

const upstream = new UpstreamServer({ log: source, group: 'perf', member: 'perf/0@dc1', room: 'dc1', chunkBytes });
const server = await serve(upstream);
const replica = new MemoryLog({ segmentSizeBytes: SEGMENT });
const follower = new ReplicaFollower({ log: replica, group: 'perf', member: 'perf/1@dc2', room: 'dc2', upstream: server.endpoint });

const started = process.hrtime.bigint();
await follower.start();
while (replica.logEndOffset() < total) await new Promise((r) => setTimeout(r, 2));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const identical = replica.bytes().equals(source.bytes());

console.log(
  JSON.stringify({
    megabytes: +(total / 1024 / 1024).toFixed(1),
    records: source.recordCount(),
    chunkKiB: chunkBytes / 1024,
    seconds: +seconds.toFixed(2),
    mbPerSecond: +(total / 1024 / 1024 / seconds).toFixed(1),
    recordsPerSecond: Math.round(source.recordCount() / seconds),
    identical,
  }),
);
await follower.close();
await upstream.close();
await server.stop();
