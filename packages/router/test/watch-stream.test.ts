import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RouteEvents } from '../src/route-events.js';
import { WATCH_MIN_INTERVAL_MS, WatchStream } from '../src/watch-stream.js';
import { waitFor } from './helpers.js';

/** A server stream whose write() reports "full" while `full` is set, like a client that stopped reading. */
class FakeCall extends EventEmitter {
  written: any[] = [];
  full = false;
  ended = false;
  write(event: unknown): boolean {
    this.written.push(event);
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
}

function open(interest: { topics?: string[]; groups?: string[] } = {}) {
  const call = new FakeCall();
  const events = new RouteEvents(() => 100);
  const ended: WatchStream[] = [];
  const stream = new WatchStream(call as any, { topics: new Set(interest.topics ?? []), groups: new Set(interest.groups ?? []) }, events, pino({ level: 'silent' }), (s) => ended.push(s));
  stream.start();
  return { call, events, stream, ended };
}

describe('WatchStream', () => {
  it('sends hello, then only what the client watches', async () => {
    const { call, events } = open({ topics: ['orders'], groups: ['billing'] });
    expect(call.written).toEqual([{ kind: 'hello', topic: '', group: '', version: 100 }]);
    events.publish({ kind: 'route', topic: 'other' });
    events.publish({ kind: 'assignment', group: 'other' });
    events.publish({ kind: 'route', topic: 'orders' });
    events.publish({ kind: 'assignment' });
    await waitFor(() => call.written.length >= 3, 'events');
    await new Promise((r) => setTimeout(r, WATCH_MIN_INTERVAL_MS * 2));
    expect(call.written.slice(1)).toEqual([
      { kind: 'route', topic: 'orders', group: '', version: 104 },
      { kind: 'assignment', topic: '', group: 'billing', version: 104 },
    ]);
  });

  it('coalesces a burst into one event per key and waits for drain when the stream is full', async () => {
    const { call, events } = open({ groups: ['g'] });
    call.full = true;
    events.publish({ kind: 'route', topic: 'a' });
    await waitFor(() => call.written.length === 2, 'the first event');
    for (let i = 0; i < 1000; i++) events.publish({ kind: i % 2 ? 'assignment' : 'route', ...(i % 2 ? { group: 'g' } : { topic: `t${i % 40}` }) } as any);
    await new Promise((r) => setTimeout(r, WATCH_MIN_INTERVAL_MS * 3));
    expect(call.written).toHaveLength(2); // nothing more until 'drain'
    call.full = false;
    call.emit('drain');
    await waitFor(() => call.written.length > 2, 'events after drain');
    await new Promise((r) => setTimeout(r, WATCH_MIN_INTERVAL_MS * 2));
    // Forty topics collapsed into one "any topic" hint, 500 assignment hints into one.
    expect(call.written.slice(2).map((e) => `${e.kind}:${e.topic}${e.group}`).sort()).toEqual(['assignment:g', 'route:']);
  });

  it('ends once, unsubscribes, and tells its owner', () => {
    const { call, events, stream, ended } = open();
    expect(events.listenerCount).toBe(1);
    call.emit('cancelled');
    stream.end();
    expect(call.ended).toBe(true);
    expect(events.listenerCount).toBe(0);
    expect(ended).toEqual([stream]);
  });
});
