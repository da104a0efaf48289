import { describe, expect, it } from 'vitest';
import { brokerView } from './fixtures.js';
import type { BrokerState, BrokerView } from '../src/broker-state.js';
import { buildRoute, routeForRoom } from '../src/route-builder.js';

/** Every broker here is a writable dc1 master unless `overrides` say otherwise, whatever its name. */
const view = (name: string, overrides: Partial<BrokerState> = {}, alive = true): BrokerView =>
  brokerView(name, { memberId: 0, room: 'dc1', role: 'master', endpoint: '10.0.0.1:10911', writable: true, ...overrides }, alive);

const route = (brokers: BrokerView[], queuesPerBroker = 1) =>
  buildRoute({ topic: 't', queuesPerBroker, brokers }).map((q) => `${q.brokerName}#${q.queueId}:${q.permission}@${q.brokerInstance}`);

describe('buildRoute', () => {
  it('gives every queue of every live master, groups in name order', () => {
    expect(route([view('broker-b/0@dc1'), view('broker-a/0@dc1')], 2)).toEqual([
      'broker-a#0:READ_WRITE@broker-a/0@dc1',
      'broker-a#1:READ_WRITE@broker-a/0@dc1',
      'broker-b#0:READ_WRITE@broker-b/0@dc1',
      'broker-b#1:READ_WRITE@broker-b/0@dc1',
    ]);
  });

  it('skips dead brokers, slaves of groups with a ready master, starting brokers and unparseable endpoints', () => {
    expect(
      route([
        view('a/0@dc1', {}, false),
        view('b/1@dc2', { group: 'f', role: 'slave', flushedOffset: 100 }),
        view('c/0@dc1', { status: 'starting' }),
        view('d/0@dc1', { endpoint: 'nonsense' }),
        view('e/0@dc1', { status: 'weird' }),
        view('f/0@dc1', { group: 'f', status: 'ready', writable: false }),
      ]),
    ).toEqual(['f#0:READ@f/0@dc1']);
  });

  it("serves a master-less group's reads from its most caught-up replica, never for writes", () => {
    const brokers = [
      view('g/0@dc1', { group: 'g' }, false),
      view('g/1@dc1', { group: 'g', memberId: 1, role: 'slave', flushedOffset: 500, endpoint: '10.0.0.2:10911' }),
      view('g/2@dc2', { group: 'g', memberId: 2, role: 'slave', room: 'dc2', flushedOffset: 900, endpoint: '10.0.0.3:10911' }),
      view('h/0@dc1', { group: 'h' }),
    ];
    const queues = buildRoute({ topic: 't', queuesPerBroker: 2, brokers });
    expect(queues.map((q) => `${q.brokerName}#${q.queueId}:${q.permission}@${q.brokerInstance}`)).toEqual([
      'g#0:READ@g/2@dc2',
      'g#1:READ@g/2@dc2',
      'h#0:READ_WRITE@h/0@dc1',
      'h#1:READ_WRITE@h/0@dc1',
    ]);
    expect(queues[0]).toMatchObject({ brokerId: 0, room: 'dc2', endpoint: { host: '10.0.0.3', port: 10911 } });
    // Producers of a client in dc1 keep writing to h; g stays readable only.
    expect(routeForRoom(queues, { kind: 'active-active' }, 'dc2')).toMatchObject({ spilled: true });
  });

  it('makes failed, stopping and write-disabled masters READ', () => {
    expect(route([view('a/0@dc1', { status: 'failed' }), view('b/0@dc1', { status: 'stopping' }), view('c/0@dc1', { writable: false })])).toEqual([
      'a#0:READ@a/0@dc1',
      'b#0:READ@b/0@dc1',
      'c#0:READ@c/0@dc1',
    ]);
  });

  it('keeps one master per group, preferring the writable one', () => {
    expect(route([view('g/0@dc1', { group: 'g', writable: false }), view('g/1@dc2', { group: 'g' })])).toEqual(['g#0:READ_WRITE@g/1@dc2']);
    expect(route([view('g/1@dc2', { group: 'g' }), view('g/0@dc1', { group: 'g' })])).toEqual(['g#0:READ_WRITE@g/0@dc1']);
  });
});

describe('routeForRoom', () => {
  const brokers = [
    view('broker-a/0@dc1', { room: 'dc1' }),
    view('broker-b/0@dc2', { room: 'dc2' }),
    view('broker-c/0@dc2', { room: 'dc2', status: 'failed', writable: false }),
  ];
  const queues = () => buildRoute({ topic: 't', queuesPerBroker: 1, brokers });
  const summary = (r: ReturnType<typeof routeForRoom>) => ({
    writable: r.queues.filter((q) => q.permission === 'READ_WRITE').map((q) => q.brokerInstance),
    read: r.queues.filter((q) => q.permission === 'READ').map((q) => q.brokerInstance),
    preferredRoom: r.preferredRoom,
    spilled: r.spilled,
  });

  it('active-active: writable only in the client room, every other master readable', () => {
    expect(summary(routeForRoom(queues(), { kind: 'active-active' }, 'dc1'))).toEqual({
      writable: ['broker-a/0@dc1'],
      read: ['broker-b/0@dc2', 'broker-c/0@dc2'],
      preferredRoom: 'dc1',
      spilled: false,
    });
    expect(summary(routeForRoom(queues(), { kind: 'active-active' }, 'dc2'))).toEqual({
      writable: ['broker-b/0@dc2'],
      read: ['broker-a/0@dc1', 'broker-c/0@dc2'],
      preferredRoom: 'dc2',
      spilled: false,
    });
  });

  it('home: writable in the home room whatever the client room', () => {
    expect(summary(routeForRoom(queues(), { kind: 'home', room: 'dc1' }, 'dc2')).writable).toEqual(['broker-a/0@dc1']);
  });

  it('spills to every writable master elsewhere when the preferred room has none', () => {
    expect(summary(routeForRoom(queues(), { kind: 'active-active' }, 'dc3'))).toEqual({
      writable: ['broker-a/0@dc1', 'broker-b/0@dc2'],
      read: ['broker-c/0@dc2'],
      preferredRoom: 'dc3',
      spilled: true,
    });
    const noWritable = buildRoute({ topic: 't', queuesPerBroker: 1, brokers: [view('broker-a/0@dc1', { room: 'dc1', writable: false })] });
    expect(summary(routeForRoom(noWritable, { kind: 'home', room: 'dc1' }, 'dc1'))).toMatchObject({ writable: [], spilled: false });
  });
});
