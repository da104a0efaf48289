import { RecordType, forEachRecord } from '@roomq/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { readQuarantined } from '../../src/server/quarantine.js';
import { request, tempDir, waitFor } from '../store/helpers.js';
import { chainMember } from './chain-member.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

describe('an old master rejoining under a new epoch', () => {
  it('is cut back to where the new epoch starts, keeps every cut message in quarantine, then holds the new leader log byte for byte', async () => {
    const oldDir = await tempDir();
    const old = await chainMember(cleanups, { dataDir: oldDir, memberId: 0, room: 'dc1' });
    const replica = await chainMember(cleanups, { dataDir: await tempDir(), memberId: 1, room: 'dc2', upstreamPort: old.port });
    for (let i = 0; i < 100; i++) await old.store.appendMessages([request({ topic: 't', queueId: i % 2, keys: [`k${i}`], body: `replicated ${i}` })]);
    await old.store.commitOffset('g', 't', 0, 20);
    await waitFor(() => replica.store.durableOffset() === old.store.durableOffset(), 'replica caught up');

    // The link to the replica's room goes; the old master keeps writing what will never replicate.
    await replica.role.stopFollowing();
    for (let i = 0; i < 40; i++) await old.store.appendMessages([request({ topic: 't', queueId: 0, keys: [`lost${i}`], body: `only on the old master ${i}` })]);
    await old.store.commitOffset('g', 't', 0, 70);

    // The replica takes over in epoch 2, as an acting master does after a cut, and takes writes of its own.
    await replica.role.lead([]);
    const epochStart = replica.store.logEndOffset();
    await replica.store.markEpoch(2, epochStart);
    for (let i = 0; i < 10; i++) await replica.store.appendMessages([request({ topic: 't', queueId: 1, keys: [`new${i}`], body: `epoch 2 ${i}` })]);
    expect(replica.store.currentEpoch()).toBe(2);

    // The old master rejoins as a follower of the acting master.
    await old.role.follow(`127.0.0.1:${replica.port}`);
    await waitFor(() => old.store.currentEpoch() === 2 && old.store.logEndOffset() === replica.store.logEndOffset(), 'old master holds the new epoch');

    expect(old.store.epochHistory()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: epochStart },
    ]);
    expect(Buffer.compare(await old.store.readLog(0, 64 * 1024 * 1024), await replica.store.readLog(0, 64 * 1024 * 1024))).toBe(0);
    // The offset committed only on the old master went with its epoch: back to what the group kept.
    expect(old.store.committedOffset('g', 't', 0)).toBe(20);

    const [entry] = old.quarantine.list();
    expect(old.quarantine.list()).toHaveLength(1);
    expect(entry).toMatchObject({ from: epochStart, messages: 40, offsetCommits: 1, epoch: 2, leader: 'broker-a/1@dc2' });
    const keys: string[] = [];
    forEachRecord(await readQuarantined(oldDir, entry!.id), (record) => {
      if (record.type === RecordType.MESSAGE) keys.push(...record.keys);
    });
    expect(keys).toEqual(Array.from({ length: 40 }, (_, i) => `lost${i}`));
    expect(old.quarantine.totals()).toEqual({ bytes: entry!.bytes, records: 41 });
  });
});
