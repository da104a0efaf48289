/** failbackGroup's steps against a simulated group: the routers' answers change as brokers would react. */
import { describe, expect, it } from 'vitest';
import type { BrokerStatus, ClusterStatus } from '../src/admin.js';
import { failbackGroup, type FailbackApi, type FailbackProgress } from '../src/failback.js';
import type { GroupControl, RoomListing, SetGroupControlOptions } from '../src/room-control.js';

function broker(name: string, overrides: Partial<BrokerStatus>): BrokerStatus {
  const [group, rest] = name.split('/') as [string, string];
  const room = rest.split('@')[1]!;
  return {
    name, group, memberId: 0, room, role: 'slave', endpoint: '', status: 'ready', statusReason: undefined, alive: true, writable: false, lastHeartbeatMs: 0,
    logEndOffset: 0, flushedOffset: 0, flushMode: 'sync', startedAtMs: 0, pid: 0, topics: [], corruptRanges: [], replicationMode: '', upstream: '', replication: [],
    epoch: 2, configuredRole: 'slave', fence: '', fenceReason: '', quarantinedBytes: 0, quarantinedRecords: 0, ...overrides,
  };
}

/** broker-a: configured master M in dc1, acting leader A in dc2 at epoch 2 after a cut; M catches up `catchUpPerPoll` bytes a poll. */
function simulated(options: { catchUpPerPoll: number; mEpoch?: number; mReplication?: BrokerStatus['replication'] }) {
  let control: GroupControl = { group: 'broker-a', epoch: 2, leader: 'broker-a/1@dc2', frozen: false, version: 1, changedAtMs: 0, changedBy: 'ops', reason: '' };
  const calls: SetGroupControlOptions[] = [];
  let aLogEnd = 5000;
  let mFlushed = 1000;
  const api: FailbackApi = {
    async listRooms(): Promise<RoomListing> {
      return {
        rooms: [{ room: 'dc1', status: 'active', version: 2, changedAtMs: 0, changedBy: '', reason: '', brokers: 1, routers: 1 }],
        groups: [{ ...control, configuredMaster: 'broker-a/0@dc1', configuredMasterRoom: 'dc1', leaderRoom: control.leader.split('@')[1]!, members: ['broker-a/0@dc1', 'broker-a/1@dc2'] }],
      };
    },
    async clusterStatus(): Promise<ClusterStatus> {
      if (!control.frozen && control.leader === 'broker-a/1@dc2') aLogEnd += 100; // producers keep writing to A
      mFlushed = Math.min(aLogEnd, mFlushed + options.catchUpPerPoll);
      const handedOver = control.leader === 'broker-a/0@dc1';
      return {
        routerName: 'r', room: 'dc1', topicCount: 0, routers: [], controlStore: 'memory', controlStoreHealth: 'healthy',
        brokers: [
          broker('broker-a/0@dc1', { configuredRole: 'master', role: handedOver ? 'master' : 'slave', epoch: handedOver ? control.epoch : (options.mEpoch ?? 2), flushedOffset: mFlushed, logEndOffset: mFlushed, fence: handedOver ? '' : 'not-leader', upstream: '127.0.0.1:9002', replication: options.mReplication ?? [] }),
          broker('broker-a/1@dc2', { role: handedOver ? 'slave' : 'master', epoch: 2, logEndOffset: aLogEnd, flushedOffset: aLogEnd, fence: control.frozen ? 'frozen' : handedOver ? 'not-leader' : '' }),
        ],
      };
    },
    async setGroupControl(o: SetGroupControlOptions) {
      calls.push(o);
      if (o.expectedVersion !== control.version) throw new Error('conflict');
      control = { ...control, epoch: o.epoch, leader: o.leader, frozen: o.frozen ?? false, version: control.version + 1 };
      return { group: control, audit: { seq: calls.length, atMs: 0, by: 'x', action: '', target: 'broker-a', reason: '', version: control.version, details: {} } };
    },
  };
  return { api, calls, control: () => control };
}

const opts = (timeoutMs: number, progress: FailbackProgress[]) => ({ timeoutMs, pollIntervalMs: 1, reason: 'test', by: 'tester', onProgress: (p: FailbackProgress) => progress.push(p) });

describe('failbackGroup', () => {
  it('freezes the acting leader, waits for the master to catch up, hands over under epoch + 1', async () => {
    const sim = simulated({ catchUpPerPoll: 1000 });
    const progress: FailbackProgress[] = [];
    const result = await failbackGroup(sim.api, 'broker-a', opts(5000, progress));
    expect(result).toMatchObject({ changed: true, fromLeader: 'broker-a/1@dc2', toLeader: 'broker-a/0@dc1', epoch: 3 });
    expect(sim.calls.map((c) => [c.epoch, c.leader, c.frozen, c.expectedVersion])).toEqual([
      [2, 'broker-a/1@dc2', true, 1],
      [3, 'broker-a/0@dc1', false, 2],
    ]);
    expect(sim.control()).toMatchObject({ epoch: 3, leader: 'broker-a/0@dc1', frozen: false });
    const phases = [...new Set(progress.map((p) => p.phase))];
    expect(phases).toEqual(['waiting-for-master', 'freezing', 'draining', 'handing-over', 'waiting-for-new-leader', 'done']);
    expect(progress.some((p) => p.phase === 'draining' && (p.behindBytes ?? 0) > 0)).toBe(true);
  });

  it('unfreezes the leader and says who was behind by how much when draining times out', async () => {
    const sim = simulated({ catchUpPerPoll: 0 });
    const err = await failbackGroup(sim.api, 'broker-a', opts(50, [])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/broker-a\/0@dc1 was \d+ bytes behind broker-a\/1@dc2.*accepts writes again/) });
    expect(sim.calls.map((c) => [c.leader, c.frozen])).toEqual([
      ['broker-a/1@dc2', true],
      ['broker-a/1@dc2', false],
    ]);
    expect(sim.control()).toMatchObject({ epoch: 2, leader: 'broker-a/1@dc2', frozen: false });
  });

  it('changes nothing while the master has not rejoined at the current epoch', async () => {
    const sim = simulated({ catchUpPerPoll: 1000, mEpoch: 1 });
    const err = await failbackGroup(sim.api, 'broker-a', opts(50, [])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/rejoin group broker-a at epoch 2: .*epoch 1/) });
    expect(sim.calls).toEqual([]);
  });

  it('says why the master does not rejoin when its replication is stuck', async () => {
    const own = (status: string, reason: string) => [{ member: 'broker-a/0@dc1', room: 'dc1', durableOffset: 1000, lagBytes: 4000, lagMs: 9000, status, reason }];
    const diverged = simulated({ catchUpPerPoll: 0, mEpoch: 1, mReplication: own('diverged', 'its record at 900 has CRC 0x1') });
    const err = await failbackGroup(diverged.api, 'broker-a', opts(50, [])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('epoch 1, waiting for 2 (replication from 127.0.0.1:9002 stopped, the log diverged: its record at 900 has CRC 0x1)') });
    const reconnecting = simulated({ catchUpPerPoll: 0, mEpoch: 1, mReplication: own('connecting', 'connection refused') });
    const err2 = await failbackGroup(reconnecting.api, 'broker-a', opts(50, [])).catch((e: unknown) => e);
    expect(err2).toMatchObject({ message: expect.stringContaining('(replication from 127.0.0.1:9002 is reconnecting after: connection refused)') });
    // Streaming behind is no trouble: the message stays as it was.
    const streaming = simulated({ catchUpPerPoll: 0, mEpoch: 1, mReplication: own('streaming', '') });
    const err3 = await failbackGroup(streaming.api, 'broker-a', opts(50, [])).catch((e: unknown) => e);
    expect((err3 as Error).message).not.toContain('replication from');
  });
});
