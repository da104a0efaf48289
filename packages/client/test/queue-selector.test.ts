import { describe, expect, it } from 'vitest';
import { QueueSelector, hashKey, interleaveByBroker } from '../src/queue-selector.js';
import type { QueueRef, TopicRoute } from '../src/topic-route.js';

function route(spec: Record<string, QueueRef['permission'][]>): TopicRoute {
  const queues: QueueRef[] = [];
  for (const [broker, perms] of Object.entries(spec)) {
    perms.forEach((permission, queueId) => queues.push({ topic: 't', queueId, broker, brokerName: `${broker}/0@dc1`, room: 'dc1', brokerId: 0, endpoint: `${broker}:1`, permission }));
  }
  return { topic: 't', queues };
}

const rw = (n: number): QueueRef['permission'][] => Array.from({ length: n }, () => 'READ_WRITE');

describe('QueueSelector', () => {
  it('uses writable queues only, round-robin, alternating brokers', () => {
    const selector = new QueueSelector();
    const r = route({ a: ['READ_WRITE', 'READ', 'WRITE'], b: ['READ_WRITE', 'NONE'] });
    const picks = Array.from({ length: 6 }, () => selector.select(r)!).map((q) => `${q.broker}${q.queueId}`);
    expect(picks).toEqual(['a0', 'b0', 'a2', 'a0', 'b0', 'a2']);
  });

  it('returns undefined when nothing is writable', () => {
    expect(new QueueSelector().select(route({ a: ['READ', 'NONE'] }))).toBeUndefined();
  });

  it('maps a sharding key to the same queue while the route is unchanged', () => {
    const selector = new QueueSelector();
    const r = route({ a: rw(4), b: rw(4) });
    const first = selector.select(r, { shardingKey: 'customer-7' });
    for (let i = 0; i < 10; i++) expect(selector.select(r, { shardingKey: 'customer-7' })).toBe(first);
    const spread = new Set(Array.from({ length: 200 }, (_, i) => selector.select(r, { shardingKey: `k${i}` })));
    expect(spread.size).toBe(8);
    expect(hashKey('customer-7')).toBe(hashKey('customer-7'));
  });

  it('avoids brokers already tried, unless no other is writable', () => {
    const selector = new QueueSelector();
    const r = route({ a: rw(2), b: rw(2) });
    for (let i = 0; i < 5; i++) expect(selector.select(r, { avoid: new Set(['a']) })!.broker).toBe('b');
    expect(selector.select(r, { avoid: new Set(['a', 'b']) })).toBeDefined();
    const single = route({ a: rw(2) });
    expect(selector.select(single, { avoid: new Set(['a']) })!.broker).toBe('a');
  });

  it('prefers healthy brokers but falls back to isolated ones', () => {
    const selector = new QueueSelector();
    const r = route({ a: rw(2), b: rw(2) });
    for (let i = 0; i < 4; i++) expect(selector.select(r, { isolated: new Set(['b']) })!.broker).toBe('a');
    expect(selector.select(r, { avoid: new Set(['a']), isolated: new Set(['b']) })!.broker).toBe('b');
  });

  it('interleaves queues by broker in a stable order', () => {
    const r = route({ b: rw(1), a: rw(3) });
    expect(interleaveByBroker(r.queues).map((q) => `${q.broker}${q.queueId}`)).toEqual(['a0', 'b0', 'a1', 'a2']);
  });
});
