import { Redis } from 'ioredis';

/**
 * Deletes every key of a Redis control store under `keyPrefix`: what a throwaway cluster (a drill, a test)
 * leaves in a shared Redis. Returns how many keys went. Never call it on a prefix live routers use.
 */
export async function dropRedisControlState(url: string, keyPrefix: string): Promise<number> {
  if (keyPrefix.length === 0) throw new Error('refusing to drop a Redis control state without a key prefix');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectionName: 'roomq-drop-control-state' });
  try {
    await redis.connect();
    let cursor = '0';
    let dropped = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) dropped += await redis.del(...keys);
    } while (cursor !== '0');
    return dropped;
  } finally {
    redis.disconnect();
  }
}
