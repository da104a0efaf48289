import { afterEach, describe, expect, it } from 'vitest';
import { ReplicaFollower, UpstreamServer, mergeOffsetCommits, type OffsetCommit } from '../src/index.js';
import { offsetsFromWire, progressToWire } from '../src/replication-wire.js';
import { FAST_BACKOFF, serve, until } from './helpers.js';
import { MemoryLog } from './memory-log.js';

const GROUP = 'broker-a';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function upstream(log: MemoryLog, member: string) {
  const server = new UpstreamServer({ log, group: GROUP, member, room: 'dc1' });
  const served = await serve(server);
  cleanups.push(async () => {
    await server.close();
    await served.stop();
  });
  return { server, endpoint: served.endpoint };
}

function follower(log: MemoryLog, member: string, endpoint: string, extra: Partial<ConstructorParameters<typeof ReplicaFollower>[0]> = {}) {
  const f = new ReplicaFollower({ log, group: GROUP, member, room: 'dc2', upstream: endpoint, reconnectBackoff: FAST_BACKOFF, progressIntervalMs: 60_000, ...extra });
  cleanups.push(() => f.close());
  return f;
}

const commit = (queueId: number, offset: number, group = 'g'): OffsetCommit => ({ group, topic: 't', queueId, offset });

describe('forwarded consumer offsets', () => {
  it('merge to the highest offset per queue', () => {
    expect(mergeOffsetCommits([commit(0, 5), commit(1, 2)], [commit(0, 3), commit(1, 7), commit(0, 1, 'h')])).toEqual([commit(0, 5), commit(1, 7), commit(0, 1, 'h')]);
  });

  it('round-trip through the wire form; entries without group or topic are dropped', () => {
    const wire = progressToWire([], [commit(3, 2 ** 40)]);
    expect(offsetsFromWire(wire.progress!.offsets)).toEqual([commit(3, 2 ** 40)]);
    expect(offsetsFromWire([{ topic: 't', offset: 4 }, { group: 'g', topic: 't' }])).toEqual([commit(0, 0)]);
  });

  it('reach the master with the first report of a (re)connecting replica, through a middle member', async () => {
    const source = new MemoryLog();
    source.appendMessages(50);
    const master = await upstream(source, 'broker-a/0@dc1');
    const received: Array<{ offsets: OffsetCommit[]; from: string }> = [];
    master.server.onOffsetCommits((offsets, from) => received.push({ offsets, from }));

    // r1 (middle) forwards its own offsets and r2's; r2's report also triggers one from r1.
    const r1Log = new MemoryLog();
    const r1Up = await upstream(r1Log, 'broker-a/1@dc1');
    let r1Own: OffsetCommit[] = [commit(0, 7)];
    const r1 = follower(r1Log, 'broker-a/1@dc1', master.endpoint, {
      downstreamProgress: () => r1Up.server.downstreamProgress(),
      offsetCommits: () => [...r1Own, ...r1Up.server.downstreamOffsets()],
    });
    r1Up.server.onProgress(() => r1.reportProgress());
    const r2 = follower(new MemoryLog(), 'broker-a/2@dc2', r1Up.endpoint, { offsetCommits: () => [commit(0, 4), commit(1, 9)] });

    // Progress timers are an hour: only the report sent with the hello (and reports after appends) carry them.
    await r1.start();
    await until(() => received.length > 0, 'r1’s first report');
    expect(received[0]).toEqual({ offsets: [commit(0, 7)], from: 'broker-a/1@dc1' });
    await r2.start();
    await until(() => received.some((r) => r.offsets.some((o) => o.queueId === 1)), 'r2’s offsets through r1');
    expect(received.at(-1)!.offsets).toEqual([commit(0, 7), commit(1, 9)]); // r2's lower 4 merged away

    // Once the master's records come back, r1 stops forwarding; the master's view of it empties.
    r1Own = [];
    await r2.close();
    await until(() => r1Up.server.downstreamOffsets().length === 0, 'r2’s session gone');
    r1.reportProgress();
    await until(() => master.server.downstreamOffsets().length === 0, 'nothing left to forward');
  });
});
