import { describe, expect, it } from 'vitest';
import { brokerView } from './fixtures.js';
import type { BrokerState, BrokerView } from '../src/broker-state.js';
import { chooseGroupServers, replicaCandidates } from '../src/group-server.js';

/** `g/<id>@<room>` of group g; member 0 is the master unless told otherwise. */
const member = (name: string, overrides: Partial<BrokerState> = {}, alive = true): BrokerView => brokerView(name, overrides, alive);

/** group → `instance:permission` (with `(replica)` when a replica serves it). */
const served = (brokers: BrokerView[], clientRoom?: string) =>
  Object.fromEntries([...chooseGroupServers(brokers, clientRoom)].map(([group, s]) => [group, `${s.view.state.name}:${s.permission}${s.replica ? ' (replica)' : ''}`]));

describe('chooseGroupServers', () => {
  it('keeps an alive, ready master, writable or not, over any replica', () => {
    const slaves = [member('g/1@dc1', { flushedOffset: 1000 }), member('g/2@dc2', { flushedOffset: 1000 })];
    expect(served([member('g/0@dc1'), ...slaves])).toEqual({ g: 'g/0@dc1:READ_WRITE' });
    expect(served([member('g/0@dc1', { writable: false }), ...slaves])).toEqual({ g: 'g/0@dc1:READ' });
  });

  it('reads from the replica with the highest flushed offset when the master is dead, starting, failed or stopping', () => {
    const slaves = [member('g/1@dc1', { flushedOffset: 100 }), member('g/2@dc2', { flushedOffset: 900 })];
    for (const master of [member('g/0@dc1', {}, false), member('g/0@dc1', { status: 'starting' }), member('g/0@dc1', { status: 'failed', writable: false }), member('g/0@dc1', { status: 'stopping' })]) {
      expect(served([master, ...slaves])).toEqual({ g: 'g/2@dc2:READ (replica)' });
    }
    expect(served(slaves)).toEqual({ g: 'g/2@dc2:READ (replica)' });
  });

  it('keeps a failed master serving reads while its replica holds less, so an async replica never hides messages', () => {
    const failed = member('g/0@dc1', { status: 'failed', writable: false, flushedOffset: 500 });
    expect(served([failed, member('g/1@dc2', { flushedOffset: 300 })])).toEqual({ g: 'g/0@dc1:READ' });
    expect(served([failed, member('g/1@dc2', { flushedOffset: 500 })])).toEqual({ g: 'g/1@dc2:READ (replica)' });
  });

  it('breaks ties by the client room, then the lower member id', () => {
    const slaves = [member('g/2@dc2', { flushedOffset: 700 }), member('g/1@dc1', { flushedOffset: 700 }), member('g/3@dc2', { flushedOffset: 700 })];
    expect(served(slaves, 'dc2')).toEqual({ g: 'g/2@dc2:READ (replica)' });
    expect(served(slaves, 'dc1')).toEqual({ g: 'g/1@dc1:READ (replica)' });
    expect(served(slaves, 'dc9')).toEqual({ g: 'g/1@dc1:READ (replica)' });
    // Without a client room (assignments) every client gets the same: the lower member id.
    expect(served(slaves)).toEqual({ g: 'g/1@dc1:READ (replica)' });
  });

  it('never reads from dead, starting or failed replicas, nor ones with a bad endpoint', () => {
    const master = member('g/0@dc1', {}, false);
    expect(
      served([
        master,
        member('g/1@dc1', { flushedOffset: 900 }, false),
        member('g/2@dc1', { flushedOffset: 900, status: 'starting' }),
        member('g/3@dc1', { flushedOffset: 900, status: 'failed' }),
        member('g/4@dc1', { flushedOffset: 900, endpoint: 'nonsense' }),
        member('g/5@dc2', { flushedOffset: 10 }),
      ]),
    ).toEqual({ g: 'g/5@dc2:READ (replica)' });
  });

  it('falls back to a failed master for reads when no replica is ready, and leaves out a group with nobody', () => {
    expect(served([member('g/0@dc1', { status: 'failed', writable: false }), member('g/1@dc1', { status: 'starting' })])).toEqual({ g: 'g/0@dc1:READ' });
    expect(served([member('g/0@dc1', {}, false), member('g/1@dc1', {}, false), member('h/0@dc2')])).toEqual({ h: 'h/0@dc2:READ_WRITE' });
  });

  it('prefers the readier of two masters claiming a group (a promotion in flight)', () => {
    expect(served([member('g/0@dc1', { status: 'failed' }), member('g/1@dc2', { role: 'master', writable: false })])).toEqual({ g: 'g/1@dc2:READ' });
    expect(served([member('g/0@dc1', { writable: false }), member('g/1@dc2', { role: 'master', writable: true })])).toEqual({ g: 'g/1@dc2:READ_WRITE' });
  });
});

describe('replicaCandidates', () => {
  it('lists, per group read from replicas, every replica some client could be given', () => {
    const brokers = [
      member('g/0@dc1', {}, false),
      member('g/1@dc1', { flushedOffset: 700 }),
      member('g/2@dc2', { flushedOffset: 700 }),
      member('g/3@dc2', { flushedOffset: 600 }),
      member('h/0@dc1'),
      member('h/1@dc2', { flushedOffset: 700 }),
    ];
    expect(Object.fromEntries(replicaCandidates(brokers))).toEqual({ g: ['g/1@dc1', 'g/2@dc2'] });
  });
});
