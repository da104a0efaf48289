import { isRoomqError, type RoomqError } from '@roomq/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ReplicaFollower, SyncGate, UpstreamServer, parseReplicationMode, type MemberProgress, type ProgressSource } from '../src/index.js';
import { FAST_BACKOFF, serve, until } from './helpers.js';
import { MemoryLog } from './memory-log.js';

class FakeSource implements ProgressSource {
  members: MemberProgress[] = [];
  private listeners = new Set<(p: MemberProgress[]) => void>();
  progress(): MemberProgress[] {
    return this.members;
  }
  onProgress(listener: (p: MemberProgress[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  report(member: string, durableOffset: number): void {
    this.members = [...this.members.filter((m) => m.member !== member), { member, room: 'dc2', durableOffset, logEndOffset: durableOffset, reportedAtMs: Date.now() }];
    for (const l of this.listeners) l(this.members);
  }
}

const CHAIN = ['broker-a/1@dc1', 'broker-a/2@dc2'];

describe('replication mode', () => {
  it('parses async and sync:N', () => {
    expect(parseReplicationMode('async')).toEqual({ kind: 'async' });
    expect(parseReplicationMode('sync:2')).toEqual({ kind: 'sync', replicas: 2 });
  });
  it.each(['sync', 'sync:0', 'sync:-1', 'SYNC:1', 'semi', 3])('rejects %j with a clear error', (text) => {
    try {
      parseReplicationMode(text, 'groups.broker-a.replication');
      expect.unreachable();
    } catch (err) {
      expect(isRoomqError(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as RoomqError).message).toContain('groups.broker-a.replication');
      expect((err as RoomqError).message).toContain('sync:N');
    }
  });
});

describe('SyncGate', () => {
  it('resolves once the first N members report the offset durable', async () => {
    const source = new FakeSource();
    const gate = new SyncGate({ group: 'broker-a', replicas: 2, chain: CHAIN, source });
    let done = false;
    const wait = gate.waitFor(1000, 5_000).then(() => (done = true));
    source.report('broker-a/1@dc1', 1000);
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false); // the second member has not reported
    source.report('broker-a/2@dc2', 1200);
    await wait;
    expect(gate.syncedOffset()).toBe(1000);
    await gate.waitFor(900, 10); // already synced: immediate
    gate.close();
  });

  it('needs only the first N: a later member may lag', async () => {
    const source = new FakeSource();
    const gate = new SyncGate({ group: 'broker-a', replicas: 1, chain: CHAIN, source });
    const wait = gate.waitFor(500, 5_000);
    source.report('broker-a/2@dc2', 10_000); // not the first member
    source.report('broker-a/1@dc1', 500);
    await wait;
    gate.close();
  });

  it('times out with REPLICATION_TIMEOUT naming who is behind and what the producer can do', async () => {
    const source = new FakeSource();
    const gate = new SyncGate({ group: 'broker-a', replicas: 2, chain: CHAIN, source });
    source.report('broker-a/1@dc1', 400);
    const err = (await gate.waitFor(1000, 50).catch((e: unknown) => e)) as RoomqError;
    expect(isRoomqError(err, 'REPLICATION_TIMEOUT')).toBe(true);
    expect(err.retriable).toBe(true);
    expect(err.message).toContain('broker-a/1@dc1 is 600 bytes behind');
    expect(err.message).toContain('broker-a/2@dc2 has not reported');
    expect(err.message).toContain('stored on the master but not yet on 2 replica');
    expect(err.message).toMatch(/retry \(at-least-once/);
    expect(err.details).toMatchObject({ group: 'broker-a', offset: 1000 });
    gate.close();
  });

  it('aborts with the signal and rejects pending waits on close', async () => {
    const source = new FakeSource();
    const gate = new SyncGate({ group: 'broker-a', replicas: 1, chain: CHAIN, source });
    const controller = new AbortController();
    const aborted = gate.waitFor(100, 5_000, controller.signal).catch((e: unknown) => e);
    controller.abort();
    expect(isRoomqError(await aborted, 'ABORTED')).toBe(true);
    const pending = gate.waitFor(100, 5_000).catch((e: unknown) => e);
    gate.close();
    expect(isRoomqError(await pending, 'CLOSED')).toBe(true);
  });

  it('counts any N members, and keeps waiting writes across a change of chain (a room cut or restored)', async () => {
    const source = new FakeSource();
    const gate = new SyncGate({ group: 'broker-a', replicas: 1, chain: ['broker-a/0@dc1', 'broker-a/2@dc2'], source });
    source.report('broker-a/2@dc2', 100); // not the first in the chain, but one of them
    await gate.waitFor(100, 1000);
    const waiting = gate.waitFor(300, 5000);
    // Every other member is cut: the write stands on the leader's disk and goes through at once.
    gate.reconfigure([], 0);
    await waiting;
    await gate.waitFor(10_000, 10);
    // Restored: waits for a member again, and one still catching up holds nothing back.
    gate.reconfigure(['broker-a/0@dc1', 'broker-a/2@dc2'], 1);
    const next = gate.waitFor(400, 5000);
    source.report('broker-a/0@dc1', 50);
    source.report('broker-a/2@dc2', 400);
    await next;
    gate.close();
  });

  it('releases waits in offset order as reports arrive, and times out each on its own deadline', async () => {
    const source = new FakeSource();
    const gate = new SyncGate({ group: 'broker-a', replicas: 1, chain: CHAIN, source });
    const settled: string[] = [];
    const track = (name: string, p: Promise<void>): Promise<void> =>
      p.then(
        () => void settled.push(`${name} ok`),
        (e: RoomqError) => void settled.push(`${name} ${e.code}`),
      );
    // Out of order on purpose: a write that reaches the gate late must still be ordered by its offset.
    const waits = [
      track('a', gate.waitFor(100, 5_000)),
      track('c', gate.waitFor(300, 5_000)),
      track('b', gate.waitFor(200, 5_000)),
      track('short', gate.waitFor(400, 30)),
      track('d', gate.waitFor(500, 5_000)),
    ];
    source.report('broker-a/1@dc1', 250);
    await new Promise((r) => setTimeout(r, 60));
    expect(settled).toEqual(['a ok', 'b ok', 'short REPLICATION_TIMEOUT']);
    source.report('broker-a/1@dc1', 500);
    await Promise.all(waits);
    expect(settled).toEqual(['a ok', 'b ok', 'short REPLICATION_TIMEOUT', 'c ok', 'd ok']);
    // Thousands of waits resolve in one report, and the gate holds none afterwards.
    const many = Array.from({ length: 5000 }, (_, i) => gate.waitFor(1000 + i, 5_000));
    source.report('broker-a/1@dc1', 10_000);
    await Promise.all(many);
    gate.close();
  });

  it('rejects sync:N larger than the chain at construction', () => {
    expect(() => new SyncGate({ group: 'broker-a', replicas: 3, chain: CHAIN, source: new FakeSource() })).toThrow(/replicas: sync:N needs N replicas/);
  });

  it('a follower reports after every durable append only when told to; otherwise on its interval', async () => {
    const log = new MemoryLog();
    const upstream = new UpstreamServer({ log, group: 'broker-a', member: 'broker-a/0@dc1', room: 'dc1' });
    const server = await serve(upstream);
    let reports = 0;
    upstream.onProgress(() => reports++);
    const replica = new MemoryLog();
    const f = new ReplicaFollower({ log: replica, group: 'broker-a', member: 'broker-a/1@dc2', room: 'dc2', upstream: server.endpoint, reconnectBackoff: FAST_BACKOFF, promptReports: false, progressIntervalMs: 60_000 });
    try {
      await f.start();
      await until(() => reports >= 1, 'the report sent with the hello');
      const appendAll = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++) {
          const end = log.appendMessages(5);
          await until(() => replica.durableOffset() >= end, 'the replica to hold the records');
          await new Promise((r) => setImmediate(r));
        }
      };
      const quiet = reports;
      await appendAll(20);
      await new Promise((r) => setTimeout(r, 50));
      expect(reports).toBe(quiet); // nothing but the interval (a minute here) reports
      f.setPromptReports(true);
      await until(() => reports > quiet, 'a report when told to be prompt');
      const prompt = reports;
      await appendAll(20);
      await until(() => reports >= prompt + 20, 'a report after each durable append', 5_000);
      // What the upstream saw last is this member's own end.
      expect(upstream.progress().find((m) => m.member === 'broker-a/1@dc2')?.durableOffset).toBe(replica.durableOffset());
    } finally {
      await f.close();
      await upstream.close();
      await server.stop();
    }
  });

  it('gates on real replication: resolves once the replica holds the records', async () => {
    const log = new MemoryLog();
    const upstream = new UpstreamServer({ log, group: 'broker-a', member: 'broker-a/0@dc1', room: 'dc1' });
    const server = await serve(upstream);
    const gate = new SyncGate({ group: 'broker-a', replicas: 1, chain: ['broker-a/1@dc2'], source: upstream });
    const replica = new MemoryLog();
    const f = new ReplicaFollower({ log: replica, group: 'broker-a', member: 'broker-a/1@dc2', room: 'dc2', upstream: server.endpoint, reconnectBackoff: FAST_BACKOFF });
    try {
      await f.start();
      for (let i = 0; i < 20; i++) {
        const end = log.appendMessages(10);
        await gate.waitFor(end, 5_000);
        expect(replica.durableOffset()).toBeGreaterThanOrEqual(end);
      }
      await f.close();
      const end = log.appendMessages(1);
      const err = (await gate.waitFor(end, 100).catch((e: unknown) => e)) as RoomqError;
      expect(isRoomqError(err, 'REPLICATION_TIMEOUT')).toBe(true);
    } finally {
      gate.close();
      await f.close();
      await upstream.close();
      await server.stop();
    }
  });
});
