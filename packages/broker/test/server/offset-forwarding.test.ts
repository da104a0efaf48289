import { RecordType, forEachRecord } from '@roomq/protocol';
import { ReplicaFollower } from '@roomq/replicator';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageStore } from '../../src/store/index.js';
import { openStore, request, tempDir, waitFor } from '../store/helpers.js';
import { chainMember } from './chain-member.js';

const GROUP = 'broker-a';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

/** Every OFFSET_COMMIT record of a store's durable log, in log order. */
async function offsetRecords(store: MessageStore): Promise<Array<{ group: string; topic: string; queueId: number; offset: number }>> {
  const found: Array<{ group: string; topic: string; queueId: number; offset: number }> = [];
  let at = 0;
  while (at < store.durableOffset()) {
    const chunk = await store.readLog(at, 1 << 20);
    if (chunk.length === 0) break;
    let start = -1;
    forEachRecord(chunk, (record, offset) => {
      if (start < 0) start = record.physicalOffset - offset;
      if (record.type === RecordType.OFFSET_COMMIT) found.push({ group: record.group, topic: record.topic, queueId: record.queueId, offset: record.offset });
    });
    at = start + chunk.length;
  }
  return found;
}

describe('offsets committed at replicas reach the master and never roll back', () => {
  it('master -> r1 -> r2: commits at r1 and r2 while the master is down survive a restart and are in force on the master once it returns', async () => {
    const masterDir = await tempDir();
    const r1Dir = await tempDir();
    let master = await chainMember(cleanups, { dataDir: masterDir, memberId: 0, room: 'dc1' });
    const masterPort = master.port;
    let r1 = await chainMember(cleanups, { dataDir: r1Dir, memberId: 1, room: 'dc1', upstreamPort: masterPort });
    const r2 = await chainMember(cleanups, { dataDir: await tempDir(), memberId: 2, room: 'dc2', upstreamPort: r1.port });
    const r1Port = r1.port;

    for (let q = 0; q < 2; q++) await master.store.appendMessages(Array.from({ length: 20 }, (_, i) => request({ topic: 't', queueId: q, body: `m${q}-${i}` })));
    await master.store.commitOffset('g', 't', 0, 3);
    await waitFor(() => r2.store.logEndOffset() === master.store.logEndOffset() && r2.store.committedOffset('g', 't', 0) === 3, 'r2 holds the master log');

    // The master's room goes dark; consumers move to the replicas and commit there.
    await master.stop();
    expect(await r1.store.commitOffset('g', 't', 0, 12)).toBe(12);
    expect(await r2.store.commitOffset('g', 't', 1, 9)).toBe(9);
    // r2's entry travels up to r1 (which has nowhere to send it yet).
    await waitFor(() => r1.role.upstreamServer.downstreamOffsets().some((o) => o.queueId === 1 && o.offset === 9), 'r1 hears of r2’s commit');

    // r1 restarts: its commit is still in force.
    await r1.stop();
    r1 = await chainMember(cleanups, { dataDir: r1Dir, memberId: 1, room: 'dc1', upstreamPort: masterPort, port: r1Port });
    expect(r1.store.committedOffset('g', 't', 0)).toBe(12);
    expect(r1.store.overlayOffsets()).toEqual([{ group: 'g', topic: 't', queueId: 0, offset: 12 }]);

    // The master returns on its address; the first progress report of r1 carries both commits.
    master = await chainMember(cleanups, { dataDir: masterDir, memberId: 0, room: 'dc1', port: masterPort });
    expect(master.store.committedOffset('g', 't', 0)).toBe(3);
    await waitFor(() => master.role.upstreamServer.connectedReplicas() === 1, 'r1 reconnects', 20_000);
    const connectedAt = Date.now();
    await waitFor(() => master.store.committedOffset('g', 't', 0) === 12 && master.store.committedOffset('g', 't', 1) === 9, 'forwarded offsets in force on the master');
    expect(Date.now() - connectedAt).toBeLessThan(1_000);

    // The master wrote OFFSET_COMMIT records; they replicate down and the overlays empty.
    await waitFor(() => r1.store.overlayOffsets().length === 0 && r2.store.overlayOffsets().length === 0, 'overlays emptied by the replicated records');
    expect(r2.store.logEndOffset()).toBe(master.store.logEndOffset());
    const records = await offsetRecords(r2.store);
    expect(records).toContainEqual({ group: 'g', topic: 't', queueId: 0, offset: 12 });
    expect(records).toContainEqual({ group: 'g', topic: 't', queueId: 1, offset: 9 });
    for (const store of [master.store, r1.store, r2.store]) {
      expect(store.committedOffset('g', 't', 0)).toBe(12);
      expect(store.committedOffset('g', 't', 1)).toBe(9);
    }

    // A replica forwarding a stale, lower offset lowers nothing.
    const staleStore = await openStore({ dataDir: await tempDir(), segmentSizeBytes: 256 * 1024 });
    staleStore.setRole('replica');
    const stale = new ReplicaFollower({
      log: staleStore,
      group: GROUP,
      member: 'broker-a/3@dc2',
      room: 'dc2',
      upstream: `127.0.0.1:${masterPort}`,
      offsetCommits: () => [{ group: 'g', topic: 't', queueId: 0, offset: 1 }],
    });
    cleanups.push(() => stale.close());
    await stale.start();
    const endBefore = master.store.logEndOffset();
    await waitFor(() => master.role.upstreamServer.downstreamOffsets().some((o) => o.offset === 1), 'the stale offset reaches the master');
    await waitFor(() => staleStore.durableOffset() === endBefore && staleStore.committedOffset('g', 't', 0) === 12, 'the stale member caught up');
    expect(master.store.committedOffset('g', 't', 0)).toBe(12);
    expect(master.store.logEndOffset()).toBe(endBefore);
    expect(staleStore.committedOffset('g', 't', 0)).toBe(12);
  });
});
