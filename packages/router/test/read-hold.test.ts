import { describe, expect, it } from 'vitest';
import { brokerView, captureLogger } from './fixtures.js';
import type { BrokerState, BrokerView } from '../src/broker-state.js';
import { chooseGroupServers } from '../src/group-server.js';
import { MAX_READ_HOLD_MS, nextReadHolds, type LastReader } from '../src/read-hold.js';
import { ReplicaReads } from '../src/replica-reads.js';

/** `g/<id>@<room>` of group g; member 0 is the master. */
const member = (name: string, overrides: Partial<BrokerState> = {}, alive = true): BrokerView => brokerView(name, { flushedOffset: 100, ...overrides }, alive);

const heard = (...members: string[]): Partial<BrokerState> => ({
  replication: members.map((m) => {
    const [name, status = 'caught-up'] = m.split(':');
    return { member: name!, room: name!.split('@')[1]!, durableOffset: 100, lagBytes: 0, lagMs: 0, status };
  }),
});

const down = member('g/0@dc1', {}, false);
const back = (...members: string[]) => member('g/0@dc1', heard(...members));
const r1 = member('g/1@dc1', { flushedOffset: 50 });
const r2 = member('g/2@dc2');

/** Runs the brokers through nextReadHolds, carrying the readers, and returns who serves g after each step. */
function run(steps: Array<[number, BrokerView[]]>, maxHoldMs = MAX_READ_HOLD_MS): string[] {
  let readers: ReadonlyMap<string, LastReader> = new Map();
  return steps.map(([nowMs, brokers]) => {
    const next = nextReadHolds(brokers, readers, nowMs, maxHoldMs);
    readers = next.readers;
    const s = chooseGroupServers(brokers, 'dc1', next.holds).get('g');
    return s ? `${s.view.state.name}:${s.permission}` : 'none';
  });
}

describe('nextReadHolds', () => {
  it('keeps reads on the replica that served them until the master lists it as reporting', () => {
    expect(
      run([
        [0, [back(), r1, r2]],
        [10, [down, r1, r2]],
        // Back, but it lists the replica as a configured member that never reported.
        [20, [back('g/1@dc1', 'g/2@dc2:not connected'), r1, r2]],
        [30, [back('g/1@dc1'), r1, r2]],
        [40, [back('g/1@dc1', 'g/2@dc2:streaming'), r1, r2]],
        [50, [back('g/1@dc1', 'g/2@dc2'), r1, r2]],
      ]),
    ).toEqual(['g/0@dc1:READ_WRITE', 'g/2@dc2:READ', 'g/2@dc2:READ', 'g/2@dc2:READ', 'g/0@dc1:READ_WRITE', 'g/0@dc1:READ_WRITE']);
  });

  it('holds for every client alike, even one in the room of a replica tied with the held one', () => {
    const tied = member('g/1@dc1');
    const readers = new Map([['g', { replica: 'g/2@dc2' }]]);
    const { holds } = nextReadHolds([back(), tied, r2], readers, 0);
    expect(chooseGroupServers([back(), tied, r2], 'dc1', holds).get('g')?.view.state.name).toBe('g/2@dc2');
  });

  it('gives reads back to the master at once when the held replica dies or stops being ready, and never to another replica', () => {
    expect(run([[0, [down, r1, r2]], [10, [back(), r1, r2]], [20, [back(), r1, member('g/2@dc2', {}, false)]]])).toEqual([
      'g/2@dc2:READ',
      'g/2@dc2:READ',
      'g/0@dc1:READ_WRITE',
    ]);
    expect(run([[0, [down, r1, r2]], [10, [back(), r1, member('g/2@dc2', { status: 'failed' })]]])).toEqual(['g/2@dc2:READ', 'g/0@dc1:READ_WRITE']);
    // Once ended, a hold does not come back when the replica does.
    expect(run([[0, [down, r1, r2]], [10, [back(), r1]], [20, [back(), r1, r2]]])).toEqual(['g/2@dc2:READ', 'g/0@dc1:READ_WRITE', 'g/0@dc1:READ_WRITE']);
  });

  it('ends the hold when the cap passes since the master came back', () => {
    expect(
      run(
        [
          [0, [down, r2]],
          [1000, [back(), r2]],
          [1000 + MAX_READ_HOLD_MS - 1, [back(), r2]],
          [1000 + MAX_READ_HOLD_MS, [back(), r2]],
          [1000 + MAX_READ_HOLD_MS + 1, [back(), r2]],
        ],
      ),
    ).toEqual(['g/2@dc2:READ', 'g/2@dc2:READ', 'g/2@dc2:READ', 'g/0@dc1:READ_WRITE', 'g/0@dc1:READ_WRITE']);
  });

  it('does not hold for a master that comes back not ready, and starts over when it goes away again', () => {
    const starting = member('g/0@dc1', { status: 'starting' });
    // A starting master does not serve: the replica goes on reading as a plain replica read, and the hold starts
    // only when the master is ready.
    const readers = new Map([['g', { replica: 'g/2@dc2' }]]);
    const s = nextReadHolds([starting, r2], readers, 0);
    expect([...s.holds]).toEqual([]);
    expect(s.readers.get('g')).toEqual({ replica: 'g/2@dc2' });
    const held = nextReadHolds([back(), r2], s.readers, 5);
    expect([...held.holds]).toEqual([['g', 'g/2@dc2']]);
    expect(held.started).toEqual([{ group: 'g', replica: 'g/2@dc2' }]);
    // Down again during the hold: a plain replica read, the cap counts again from the next return.
    const again = nextReadHolds([down, r2], held.readers, 6);
    expect(again.readers.get('g')).toEqual({ replica: 'g/2@dc2' });
  });

  it('forgets nothing it does not know: groups never read from a replica never hold', () => {
    const next = nextReadHolds([back(), r1, r2], new Map(), 0);
    expect([...next.holds]).toEqual([]);
    expect([...next.readers]).toEqual([]);
  });
});

describe('ReplicaReads holds', () => {

  it('reports the end of a hold as a change and logs its start and end at info', async () => {
    const { logger, lines } = captureLogger();
    const reads = new ReplicaReads(logger, 1000);
    expect(reads.update([down, r2], 0)).toBe(true);
    // The return itself is a broker transition (published anyway); the route does not change.
    expect(reads.update([back(), r2], 100)).toBe(false);
    expect([...reads.holds]).toEqual([['g', 'g/2@dc2']]);
    expect(reads.update([back(), r2], 1099)).toBe(false);
    expect(reads.update([back(), r2], 1100)).toBe(true);
    expect([...reads.holds]).toEqual([]);

    await new Promise((r) => setImmediate(r));
    const info = lines.filter((l) => l.level === 30);
    expect(info.map((l) => l.msg)).toEqual([
      'broker group master is back; reads stay on the replica until the master has heard from it',
      'reads of broker group return to its master',
      'broker group no longer read from a replica',
    ]);
    expect(info[0]).toMatchObject({ group: 'g', replica: 'g/2@dc2', maxHoldMs: 1000 });
    expect(info[1]).toMatchObject({ group: 'g', replica: 'g/2@dc2', reason: 'hold cap reached', heldMs: 1000 });
  });
});
