import { describe, expect, it } from 'vitest';
import { brokerState, captureLogger } from './fixtures.js';
import { BrokerRegistry } from '../src/broker-registry.js';
import type { BrokerState } from '../src/broker-state.js';

const broker = (overrides: Partial<BrokerState> = {}): BrokerState =>
  brokerState('broker-a/0@dc1', { endpoint: '127.0.0.1:10911', startedAtMs: 1, pid: 1, ...overrides });

describe('BrokerRegistry', () => {
  it('tracks liveness by the clock and logs every transition once', async () => {
    let now = 1000;
    const { logger, lines } = captureLogger();
    const registry = new BrokerRegistry({ brokerTimeoutMs: 300, logger, now: () => now });

    registry.heartbeat(broker());
    now += 100;
    registry.heartbeat(broker());
    registry.sweep();
    expect(registry.alive().map((b) => b.state.name)).toEqual(['broker-a/0@dc1']);

    now += 301;
    // Liveness does not wait for a sweep.
    expect(registry.alive()).toEqual([]);
    registry.sweep();
    registry.sweep();
    expect(registry.list()).toEqual([expect.objectContaining({ alive: false, lastHeartbeatMs: 1100, firstSeenMs: 1000 })]);

    now += 50;
    registry.heartbeat(broker());
    registry.heartbeat(broker({ status: 'failed', statusReason: 'disk full', writable: false }));
    registry.heartbeat(broker({ status: 'failed', statusReason: 'disk full', writable: false }));

    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.msg, l.level])).toEqual([
      ['broker registered', 30],
      ['broker went silent', 30],
      ['broker came back', 30],
      ['broker status changed', 40],
    ]);
    expect(lines[1]).toMatchObject({ broker: 'broker-a/0@dc1', silentMs: 301, timeoutMs: 300 });
    expect(lines[3]).toMatchObject({ status: 'failed', previousStatus: 'ready', reason: 'disk full', writable: false });
  });

  it('logs a return from silence even when no sweep saw the silence', async () => {
    let now = 0;
    const { logger, lines } = captureLogger();
    const registry = new BrokerRegistry({ brokerTimeoutMs: 100, logger, now: () => now });
    registry.heartbeat(broker());
    now = 500;
    registry.heartbeat(broker());
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.msg)).toEqual(['broker registered', 'broker came back']);
  });

  it('reports every transition that can change routes, and none for plain heartbeats', () => {
    let now = 0;
    const seen: string[] = [];
    const registry = new BrokerRegistry({ brokerTimeoutMs: 100, logger: captureLogger().logger, now: () => now, onTransition: (t) => seen.push(`${t.broker} ${t.kind}`) });
    registry.heartbeat(broker());
    registry.heartbeat(broker());
    registry.heartbeat(broker({ writable: false }));
    registry.heartbeat(broker({ writable: false, endpoint: '127.0.0.1:20000' }));
    now = 500;
    registry.sweep();
    registry.sweep();
    registry.heartbeat(broker({ name: 'broker-b/0@dc2', group: 'broker-b', room: 'dc2' }));
    registry.heartbeat(broker({ writable: false, endpoint: '127.0.0.1:20000' }));
    expect(seen).toEqual([
      'broker-a/0@dc1 registered',
      'broker-a/0@dc1 status',
      'broker-a/0@dc1 identity',
      'broker-a/0@dc1 silent',
      'broker-b/0@dc2 registered',
      'broker-a/0@dc1 returned',
    ]);
    expect([...registry.rooms()].sort()).toEqual(['dc1', 'dc2']);
  });

  it('tells the owner about every heartbeat, after its transitions', () => {
    const seen: string[] = [];
    const registry = new BrokerRegistry({
      brokerTimeoutMs: 100,
      logger: captureLogger().logger,
      now: () => 0,
      onTransition: (t) => seen.push(`transition ${t.kind}`),
      onHeartbeat: (state) => seen.push(`heartbeat ${state.flushedOffset}`),
    });
    registry.heartbeat(broker());
    registry.heartbeat(broker({ flushedOffset: 10 }));
    registry.heartbeat(broker({ flushedOffset: 20, writable: false }));
    expect(seen).toEqual(['transition registered', 'heartbeat 0', 'heartbeat 10', 'transition status', 'heartbeat 20']);
  });
});
