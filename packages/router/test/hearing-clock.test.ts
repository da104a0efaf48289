import { describe, expect, it } from 'vitest';
import { BrokerRegistry } from '../src/broker-registry.js';
import { HearingClock } from '../src/hearing-clock.js';
import { brokerState, captureLogger } from './fixtures.js';

describe('HearingClock', () => {
  it('follows the wall clock between regular ticks and counts at most maxGapMs of a stall', () => {
    let wall = 10_000;
    const clock = new HearingClock({ tickMs: 50, maxGapMs: 200, now: () => wall });
    expect(clock.now()).toBe(10_000);
    for (let i = 0; i < 10; i++) {
      wall += 60; // late timers still count in full
      clock.tick();
    }
    expect(clock.now()).toBe(10_600);

    wall += 5_000; // the process was stalled for 5 s
    // The first read after the stall can come before the tick timer runs: it is capped too.
    expect(clock.now()).toBe(10_800);
    clock.tick();
    expect(clock.now()).toBe(10_800);
    wall += 30;
    expect(clock.now()).toBe(10_830);
  });
});

describe('BrokerRegistry on a hearing clock', () => {
  it('does not take its own stall for a silence of the brokers, but still finds a broker that stopped', () => {
    let wall = 1_000;
    const clock = new HearingClock({ tickMs: 50, maxGapMs: 200, now: () => wall });
    const { logger } = captureLogger();
    const registry = new BrokerRegistry({ brokerTimeoutMs: 1_000, logger, now: () => wall, hearingNow: () => clock.now() });
    const a = brokerState('broker-a/0@dc1', { endpoint: '127.0.0.1:10911', startedAtMs: 1, pid: 1 });
    const b = brokerState('broker-b/0@dc2', { endpoint: '127.0.0.1:10921', startedAtMs: 1, pid: 2 });
    registry.heartbeat(a);
    registry.heartbeat(b);

    wall += 3_000; // a stall three times the timeout; the heartbeats wait in the sockets
    registry.sweep();
    expect(registry.alive().map((v) => v.state.name)).toEqual(['broker-a/0@dc1', 'broker-b/0@dc2']);
    registry.heartbeat(a);
    registry.heartbeat(b);
    // What operators see stays the wall clock.
    expect(registry.list().map((v) => v.lastHeartbeatMs)).toEqual([4_000, 4_000]);

    // broker-b stops; a keeps beating every 100 ms while the router ticks normally. (The first tick after the
    // stall adds nothing: its gap was counted, capped, by the reads above.)
    for (let elapsed = 0; elapsed <= 1_050; elapsed += 50) {
      wall += 50;
      clock.tick();
      if (elapsed % 100 === 0) registry.heartbeat(a);
    }
    registry.sweep();
    expect(registry.alive().map((v) => v.state.name)).toEqual(['broker-a/0@dc1']);
  });
});
