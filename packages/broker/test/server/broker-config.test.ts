import { describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../src/server/broker-config.js';
import { DEFAULT_PREALLOCATE_BYTES, DEFAULT_READ_CACHE_BYTES, DEFAULT_TAIL_CACHE_BYTES } from '../../src/store/index.js';

const base = { group: 'broker-a', room: 'dc1', routers: ['127.0.0.1:9876'], dataDir: 'x' };

describe('broker config', () => {
  it('passes the store its preallocation window: the store default, 0 to turn it off, a bad one named', () => {
    expect(parseBrokerConfig(base).preallocateBytes).toBe(DEFAULT_PREALLOCATE_BYTES);
    expect(parseBrokerConfig({ ...base, preallocateBytes: 0 }).preallocateBytes).toBe(0);
    expect(() => parseBrokerConfig({ ...base, preallocateBytes: 1024 })).toThrow(/preallocateBytes/);
  });

  it('passes the store its cache sizes: the store default, 0 to turn one off, a bad one named', () => {
    expect(parseBrokerConfig(base).tailCacheBytes).toBe(DEFAULT_TAIL_CACHE_BYTES);
    expect(parseBrokerConfig({ ...base, tailCacheBytes: 0 }).tailCacheBytes).toBe(0);
    expect(() => parseBrokerConfig({ ...base, tailCacheBytes: -1 })).toThrow(/tailCacheBytes/);
    expect(parseBrokerConfig(base).readCacheBytes).toBe(DEFAULT_READ_CACHE_BYTES);
    expect(parseBrokerConfig({ ...base, readCacheBytes: 0 }).readCacheBytes).toBe(0);
    expect(() => parseBrokerConfig({ ...base, readCacheBytes: 1.5 })).toThrow(/readCacheBytes/);
  });
});
