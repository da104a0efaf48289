import { afterEach, describe, expect, it } from 'vitest';
import { ReplicaFollower, UpstreamServer, type FollowerStatus } from '../src/index.js';
import { FAST_BACKOFF, captureLogger, serve, until } from './helpers.js';
import { MemoryLog } from './memory-log.js';

const GROUP = 'broker-a';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function master(log: MemoryLog, options: { chunkBytes?: number; heartbeatIntervalMs?: number } = {}) {
  const upstream = new UpstreamServer({ log, group: GROUP, member: 'broker-a/0@dc1', room: 'dc1', ...options });
  const server = await serve(upstream);
  cleanups.push(async () => {
    await upstream.close();
    await server.stop();
  });
  return { upstream, server };
}

function follower(log: MemoryLog, member: string, endpoint: string, extra: Partial<ConstructorParameters<typeof ReplicaFollower>[0]> = {}) {
  const f = new ReplicaFollower({ log, group: GROUP, member, room: 'dc2', upstream: endpoint, reconnectBackoff: FAST_BACKOFF, ...extra });
  cleanups.push(() => f.close());
  return f;
}

describe('chain replication over gRPC', () => {
  it('catches an empty replica up from zero with identical bytes, across segments', async () => {
    const source = new MemoryLog({ segmentSizeBytes: 1024 * 1024 });
    source.appendMessages(12_000, { bodyBytes: 1000 }); // ~12.5 MB, 12+ segments
    const { server } = await master(source);
    const replica = new MemoryLog({ segmentSizeBytes: 1024 * 1024 });
    const f = follower(replica, 'broker-a/1@dc2', server.endpoint);
    await f.start();
    await until(() => replica.logEndOffset() === source.logEndOffset() && f.status() === 'caught-up', 'replica caught up');
    expect(replica.bytes().equals(source.bytes())).toBe(true);
    expect(replica.recordCount()).toBe(source.recordCount());
    expect(f.lag()).toEqual({ bytes: 0, ms: 0 });

    // New durable records keep flowing.
    source.appendMessages(500);
    await until(() => replica.logEndOffset() === source.logEndOffset(), 'replica follows new records');
    expect(replica.bytes().equals(source.bytes())).toBe(true);
  });

  it('ships only durable bytes', async () => {
    const source = new MemoryLog({ autoDurable: false });
    source.appendMessages(100);
    source.makeDurable(source.logEndOffset() - 1); // the last record is not durable yet
    const { server } = await master(source);
    const replica = new MemoryLog();
    const f = follower(replica, 'broker-a/1@dc2', server.endpoint);
    await f.start();
    await until(() => replica.recordCount() === 99, '99 durable records');
    await new Promise((r) => setTimeout(r, 100));
    expect(replica.recordCount()).toBe(99);
    source.makeDurable();
    await until(() => replica.recordCount() === 100, 'the last record once durable');
    expect(replica.bytes().equals(source.bytes())).toBe(true);
  });

  it('chains master -> r1 -> r2; the master sees r1 and r2 through r1', async () => {
    const source = new MemoryLog({ segmentSizeBytes: 256 * 1024 });
    source.appendMessages(3_000);
    const { server, upstream } = await master(source);

    const r1Log = new MemoryLog({ segmentSizeBytes: 256 * 1024 });
    const r1Upstream = new UpstreamServer({ log: r1Log, group: GROUP, member: 'broker-a/1@dc1', room: 'dc1' });
    const r1Server = await serve(r1Upstream);
    cleanups.push(async () => {
      await r1Upstream.close();
      await r1Server.stop();
    });
    const r1 = follower(r1Log, 'broker-a/1@dc1', server.endpoint, { downstreamProgress: () => r1Upstream.downstreamProgress() });
    r1Upstream.onProgress(() => r1.reportProgress());

    const r2Log = new MemoryLog({ segmentSizeBytes: 256 * 1024 });
    const r2 = follower(r2Log, 'broker-a/2@dc2', r1Server.endpoint);
    await r1.start();
    await r2.start();

    const end = source.logEndOffset();
    await until(() => r2Log.logEndOffset() === end, 'r2 caught up');
    expect(r2Log.bytes().equals(source.bytes())).toBe(true);
    expect(r1Log.bytes().equals(source.bytes())).toBe(true);
    await until(() => upstream.progress().find((m) => m.member === 'broker-a/2@dc2')?.durableOffset === end, 'master sees r2');
    const seen = upstream.progress();
    expect(seen.map((m) => m.member)).toEqual(['broker-a/0@dc1', 'broker-a/1@dc1', 'broker-a/2@dc2']);
    expect(seen.every((m) => m.durableOffset === end)).toBe(true);
    expect(seen[2]!.room).toBe('dc2');
  });

  it('resumes from the log end after the upstream stops and restarts, without duplicates or gaps', async () => {
    const source = new MemoryLog({ segmentSizeBytes: 512 * 1024 });
    source.appendMessages(2_000);
    const first = new UpstreamServer({ log: source, group: GROUP, member: 'broker-a/0@dc1', room: 'dc1' });
    const server = await serve(first);
    const replica = new MemoryLog({ segmentSizeBytes: 512 * 1024 });
    const statuses: FollowerStatus[] = [];
    const f = follower(replica, 'broker-a/1@dc2', server.endpoint);
    f.onStatus((s) => statuses.push(s));
    await f.start();
    await until(() => replica.logEndOffset() === source.logEndOffset(), 'first catch-up');

    await first.close();
    await server.stop();
    await until(() => f.status() === 'connecting', 'follower notices the upstream is gone');
    source.appendMessages(2_000); // written while the replica is disconnected

    const second = new UpstreamServer({ log: source, group: GROUP, member: 'broker-a/0@dc1', room: 'dc1' });
    const again = await serve(second, server.port);
    cleanups.push(async () => {
      await second.close();
      await again.stop();
    });
    await until(() => replica.logEndOffset() === source.logEndOffset() && f.status() === 'caught-up', 'catch-up after restart');
    expect(replica.recordCount()).toBe(source.recordCount());
    expect(replica.bytes().equals(source.bytes())).toBe(true);
    expect(statuses).toContain('connecting');
  });

  it('refuses a diverged replica: follower stops as diverged and appends nothing', async () => {
    const source = new MemoryLog();
    source.appendMessages(200, { fill: 0x61 });
    const { server } = await master(source);
    const replica = new MemoryLog();
    replica.appendMessages(100, { fill: 0x62 }); // same layout, different bytes
    const before = replica.bytes();
    const { logger, lines } = captureLogger();
    const f = follower(replica, 'broker-a/1@dc2', server.endpoint, { logger });
    await f.start();
    await until(() => f.status() === 'diverged', 'diverged');
    const logged = lines.find((l) => l.level === 'error' && l.fields['to'] === 'diverged');
    expect(logged?.fields).toMatchObject({ component: 'replica-follower', group: GROUP, broker: 'broker-a/1@dc2' });
    expect(String(logged?.fields['reason'])).toContain('diverged from broker-a/0@dc1');
    const lastOffset = (await replica.lastRecord())!.offset;
    expect(f.statusReason()).toContain(`at log offset ${lastOffset}`);
    expect(f.statusReason()).toMatch(/truncate|rebuild/);
    await new Promise((r) => setTimeout(r, 200)); // no retry happens
    expect(f.status()).toBe('diverged');
    expect(replica.appendCalls).toBe(0);
    expect(replica.bytes().equals(before)).toBe(true);
  });

  it('refuses a replica whose log is longer than its upstream', async () => {
    const source = new MemoryLog();
    source.appendMessages(50);
    const { server } = await master(source);
    const replica = new MemoryLog();
    replica.appendMessages(80);
    const f = follower(replica, 'broker-a/1@dc2', server.endpoint);
    await f.start();
    await until(() => f.status() === 'diverged', 'diverged');
    expect(f.statusReason()).toContain('past the end');
    expect(replica.appendCalls).toBe(0);
  });

  it('resumes a replica that already holds a prefix of the same log', async () => {
    const source = new MemoryLog({ segmentSizeBytes: 64 * 1024 });
    source.appendMessages(500);
    const replica = new MemoryLog({ segmentSizeBytes: 64 * 1024 });
    // Give the replica the first ~half, ending right after a SEGMENT_END (the hardest resume point).
    const half = source.bytes();
    let at = 0;
    let chunkEnd = 0;
    while (chunkEnd < half.length / 2) {
      const records = await source.readLog(at, 64 * 1024);
      await replica.appendReplicated(at, records);
      chunkEnd = at + records.length;
      at = replica.nextPosition();
    }
    const last = (await replica.lastRecord())!;
    expect(replica.logEndOffset() - last.offset).toBe(28); // ends with SEGMENT_END, log end is not the next base
    expect(replica.logEndOffset() % (64 * 1024)).not.toBe(0);
    const { server } = await master(source);
    const f = follower(replica, 'broker-a/1@dc2', server.endpoint);
    await f.start();
    await until(() => replica.logEndOffset() === source.logEndOffset(), 'caught up');
    expect(replica.bytes().equals(source.bytes())).toBe(true);
  });

  it('refuses a replica of another group or segment size, and keeps retrying', async () => {
    const source = new MemoryLog({ segmentSizeBytes: 64 * 1024 });
    source.appendMessages(10);
    const { server } = await master(source);
    const f = follower(new MemoryLog({ segmentSizeBytes: 128 * 1024 }), 'broker-a/1@dc2', server.endpoint);
    await f.start();
    await until(() => (f.statusReason() ?? '').includes('segmentSizeBytes'), 'segment size refusal');
    expect(f.status()).toBe('connecting');
  });

  it('reports lag in bytes and ms while behind, 0 when caught up', async () => {
    const source = new MemoryLog();
    source.appendMessages(2_000, { storeTimestampMs: Date.now() - 10_000 });
    const { server } = await master(source, { chunkBytes: 64 * 1024 });
    const replica = new MemoryLog({ appendDelayMs: 20 });
    const f = follower(replica, 'broker-a/1@dc2', server.endpoint);
    await f.start();
    await until(() => f.status() === 'streaming', 'streaming');
    const lag = f.lag();
    expect(lag.bytes).toBeGreaterThan(0);
    expect(lag.bytes).toBeLessThanOrEqual(source.logEndOffset());
    expect(lag.ms).toBeGreaterThanOrEqual(10_000);
    await until(() => f.status() === 'caught-up', 'caught up');
    expect(f.lag()).toEqual({ bytes: 0, ms: 0 });
  });

  it('reconnects when the upstream goes silent (idle timeout) and closes cleanly', async () => {
    const source = new MemoryLog();
    source.appendMessages(10);
    const { server } = await master(source, { heartbeatIntervalMs: 10_000 });
    const replica = new MemoryLog();
    const f = follower(replica, 'broker-a/1@dc2', server.endpoint, { idleTimeoutMs: 150 });
    await f.start();
    await until(() => f.status() === 'caught-up', 'caught up');
    await until(() => (f.statusReason() ?? '').includes('idleTimeoutMs'), 'idle reconnect');
    await until(() => f.status() === 'caught-up', 'caught up again');
    await f.close();
    expect(f.status()).toBe('stopped');
    expect(replica.bytes().equals(source.bytes())).toBe(true);
  });
});
