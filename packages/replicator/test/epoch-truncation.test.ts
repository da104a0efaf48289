import { afterEach, describe, expect, it } from 'vitest';
import { ReplicaFollower, UpstreamServer, checkEpoch, type TruncateOrder } from '../src/index.js';
import { FAST_BACKOFF, serve, until } from './helpers.js';
import { MemoryLog } from './memory-log.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('checkEpoch', () => {
  const history = [
    { epoch: 1, startOffset: 0 },
    { epoch: 2, startOffset: 1000 },
    { epoch: 4, startOffset: 5000 },
  ];
  it('cuts a replica back to where its last epoch ends in the upstream history', () => {
    expect(checkEpoch(history, 1, 1500)).toEqual({ kind: 'truncate', offset: 1000, upstreamEpoch: 4 });
    expect(checkEpoch(history, 2, 6000)).toEqual({ kind: 'truncate', offset: 5000, upstreamEpoch: 4 });
    // An epoch the upstream never saw (3) ends where the next one it knows starts.
    expect(checkEpoch(history, 3, 5200)).toEqual({ kind: 'truncate', offset: 5000, upstreamEpoch: 4 });
  });
  it('lets a replica continue when it holds no byte past its epoch end', () => {
    expect(checkEpoch(history, 1, 1000)).toEqual({ kind: 'continue' });
    expect(checkEpoch(history, 1, 400)).toEqual({ kind: 'continue' });
    expect(checkEpoch(history, 4, 9000)).toEqual({ kind: 'continue' });
  });
  it('calls an upstream stale when the replica has seen a newer epoch', () => {
    expect(checkEpoch(history, 5, 100)).toEqual({ kind: 'stale-upstream', upstreamEpoch: 4 });
  });
});

describe('rejoining after a promotion', () => {
  it('an old master is cut back to the start of the new epoch, keeps the cut aside, then follows the new leader', async () => {
    // Both hold the same first 100 records; the old master then wrote 50 that never replicated, while the new
    // leader started epoch 2 at the common end and wrote 30 of its own.
    const leader = new MemoryLog({ segmentSizeBytes: 4 * 1024 * 1024 });
    leader.appendMessages(100);
    const oldMaster = new MemoryLog({ segmentSizeBytes: 4 * 1024 * 1024 });
    await oldMaster.appendReplicated(0, leader.bytes());
    const epochStart = leader.logEndOffset();
    oldMaster.appendMessages(50, { bodyBytes: 77 });
    leader.epochs = [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: epochStart },
    ];
    leader.appendMessages(30, { bodyBytes: 300 });

    const upstream = new UpstreamServer({ log: leader, group: 'broker-a', member: 'broker-a/1@dc2', room: 'dc2' });
    const server = await serve(upstream);
    cleanups.push(async () => {
      await upstream.close();
      await server.stop();
    });
    const orders: TruncateOrder[] = [];
    const quarantined: Buffer[] = [];
    const follower = new ReplicaFollower({
      log: oldMaster,
      group: 'broker-a',
      member: 'broker-a/0@dc1',
      room: 'dc1',
      upstream: server.endpoint,
      reconnectBackoff: FAST_BACKOFF,
      truncate: async (order) => {
        orders.push(order);
        quarantined.push(await oldMaster.truncate(order.offset));
      },
    });
    cleanups.push(() => follower.close());
    await follower.start();
    await until(() => oldMaster.logEndOffset() === leader.logEndOffset() && follower.status() === 'caught-up', 'old master caught up with the new epoch');

    expect(orders).toHaveLength(1);
    expect(orders[0]).toMatchObject({ offset: epochStart, epoch: 2, leader: 'broker-a/1@dc2' });
    expect(quarantined[0]!.length).toBeGreaterThan(50 * 77);
    expect(oldMaster.bytes().equals(leader.bytes())).toBe(true);
  });

  it('an upstream at an older epoch than its replica is refused as stale, and the replica keeps waiting', async () => {
    const stale = new MemoryLog();
    stale.appendMessages(10);
    const replica = new MemoryLog();
    await replica.appendReplicated(0, stale.bytes());
    replica.epochs = [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: replica.logEndOffset() },
    ];
    const upstream = new UpstreamServer({ log: stale, group: 'broker-a', member: 'broker-a/0@dc1', room: 'dc1' });
    const server = await serve(upstream);
    cleanups.push(async () => {
      await upstream.close();
      await server.stop();
    });
    const follower = new ReplicaFollower({ log: replica, group: 'broker-a', member: 'broker-a/2@dc2', room: 'dc2', upstream: server.endpoint, reconnectBackoff: FAST_BACKOFF });
    cleanups.push(() => follower.close());
    await follower.start();
    await until(() => (follower.statusReason() ?? '').includes('stale member'), 'stale upstream refused');
    expect(follower.status()).toBe('connecting');
    expect(replica.appendCalls).toBe(1);
  });
});
