import { describe, expect, it } from 'vitest';
import { brokerView, captureLogger } from './fixtures.js';
import type { BrokerView } from '../src/broker-state.js';
import { ReplicaReads } from '../src/replica-reads.js';

const member = (name: string, role: 'master' | 'slave', flushedOffset: number, alive = true): BrokerView =>
  brokerView(name, { role, writable: role === 'master', endpoint: '127.0.0.1:10911', logEndOffset: flushedOffset, flushedOffset, startedAtMs: 1, pid: 1 }, alive);

describe('ReplicaReads', () => {
  it('reports a change only when the replicas a client could be given change, and logs each once', async () => {
    const { logger, lines } = captureLogger();
    const reads = new ReplicaReads(logger);
    expect(reads.update([member('g/0@dc1', 'master', 100), member('g/1@dc2', 'slave', 90)])).toBe(false);

    expect(reads.update([member('g/0@dc1', 'master', 100, false), member('g/1@dc2', 'slave', 90), member('g/2@dc2', 'slave', 80)])).toBe(true);
    // More progress by the same leader is no change.
    expect(reads.update([member('g/0@dc1', 'master', 100, false), member('g/1@dc2', 'slave', 95), member('g/2@dc2', 'slave', 80)])).toBe(false);
    expect(reads.update([member('g/0@dc1', 'master', 100, false), member('g/1@dc2', 'slave', 95), member('g/2@dc2', 'slave', 95)])).toBe(true);
    // The master is back and has heard from the replica that served (see read-hold.test.ts for the hold).
    const back = { ...member('g/0@dc1', 'master', 100) };
    back.state = { ...back.state, replication: [{ member: 'g/1@dc2', room: 'dc2', durableOffset: 95, lagBytes: 0, lagMs: 0, status: 'caught-up' }] };
    expect(reads.update([back, member('g/1@dc2', 'slave', 95)])).toBe(true);
    expect(reads.update([back, member('g/1@dc2', 'slave', 99)])).toBe(false);

    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.msg, l.level, l.replicas ?? l.previousReplicas ?? l.replica])).toEqual([
      ['broker group has no ready master; its queues are read from a replica, producers go to other groups', 40, ['g/1@dc2']],
      ['replica serving broker group changed', 30, ['g/1@dc2', 'g/2@dc2']],
      ['reads of broker group return to its master', 30, 'g/1@dc2'],
      ['broker group no longer read from a replica', 30, ['g/1@dc2', 'g/2@dc2']],
    ]);
    expect(lines[0]).toMatchObject({ group: 'g', room: 'dc2', flushedOffset: 90 });
  });
});
