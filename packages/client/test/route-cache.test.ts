import { RoomqError, SILENT_LOGGER } from '@roomq/protocol';
import { describe, expect, it } from 'vitest';
import { RouteCache } from '../src/route-cache.js';
import type { RouteSource } from '../src/route-source.js';
import type { TopicRoute } from '../src/topic-route.js';

function source(): RouteSource & { calls: number; fail?: RoomqError } {
  const s = {
    calls: 0,
    fail: undefined as RoomqError | undefined,
    async queryRoute(topic: string): Promise<TopicRoute> {
      s.calls++;
      if (s.fail) throw s.fail;
      return { topic, queues: [{ topic, queueId: s.calls, broker: 'a', brokerName: 'a/0@dc1', room: 'dc1', brokerId: 0, endpoint: 'a:1', permission: 'READ_WRITE' }] };
    },
  };
  return s;
}

describe('RouteCache', () => {
  it('shares one request among concurrent callers and caches the answer', async () => {
    const s = source();
    const cache = new RouteCache(s, { refreshMs: 60_000, logger: SILENT_LOGGER });
    const [a, b] = await Promise.all([cache.get('t'), cache.get('t')]);
    expect(a).toBe(b);
    expect(await cache.get('t')).toBe(a);
    expect(cache.peek('t')).toBe(a);
    expect(s.calls).toBe(1);
  });

  it('refreshes on demand, at most once per minimum interval, reporting changes', async () => {
    let now = 0;
    const changes: TopicRoute[] = [];
    const s = source();
    const cache = new RouteCache(s, { refreshMs: 60_000, logger: SILENT_LOGGER, minRefreshIntervalMs: 100, now: () => now, onChange: (r) => changes.push(r) });
    await cache.get('t');
    await cache.refresh('t');
    expect(s.calls).toBe(1);
    now = 150;
    await cache.refresh('t');
    expect(s.calls).toBe(2);
    expect(changes).toHaveLength(1);
  });

  it('keeps the previous route when a refresh fails, and forgets topics that never loaded', async () => {
    let now = 0;
    const s = source();
    const cache = new RouteCache(s, { refreshMs: 60_000, logger: SILENT_LOGGER, minRefreshIntervalMs: 0, now: () => ++now });
    const first = await cache.get('t');
    s.fail = new RoomqError('UNAVAILABLE', 'down');
    await expect(cache.refresh('t')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(cache.peek('t')).toBe(first);
    await expect(cache.get('u')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(cache.peek('u')).toBeUndefined();
  });
});

describe('RouteCache.invalidate', () => {
  it('fetches at once, whatever the minimum interval, and again after a fetch that was on its way', async () => {
    const s = source();
    let release!: () => void;
    const slow: RouteSource & { calls: number } = {
      calls: 0,
      async queryRoute(topic: string): Promise<TopicRoute> {
        slow.calls++;
        if (slow.calls === 2) await new Promise<void>((resolve) => (release = resolve));
        return s.queryRoute(topic);
      },
    };
    const cache = new RouteCache(slow, { refreshMs: 60_000, logger: SILENT_LOGGER, minRefreshIntervalMs: 60_000 });
    await cache.get('t');
    cache.invalidate('t');
    expect(slow.calls).toBe(2);
    // A change announced while that fetch is on its way: its answer may predate the change.
    cache.invalidate('t');
    cache.invalidate('t');
    release();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(slow.calls).toBe(3);
    expect(cache.peek('t')!.queues[0]!.queueId).toBe(3);
    cache.invalidate('unknown');
    expect(slow.calls).toBe(3);
  });
});
