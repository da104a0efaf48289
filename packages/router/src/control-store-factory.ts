import { RoomqError } from '@roomq/protocol';
import type { Logger } from 'pino';
import type { ControlStoreConfig } from './control-store-config.js';
import type { ControlStore } from './control-store.js';
import { FileControlStore } from './file-control-store.js';

/**
 * Builds the control store a config names (not opened yet). `routerRoom` becomes the home room of topics found in
 * a file written before topic modes existed. The file store needs its path resolved
 * (`<dataDir>/control.json` by default, done by the router). The Redis store is imported only when used, so a
 * router on the embedded file never loads ioredis.
 */
export async function createControlStore(config: ControlStoreConfig, logger: Logger, context: { routerRoom?: string } = {}): Promise<ControlStore> {
  if (config.kind === 'file') {
    if (config.path === undefined) {
      throw new RoomqError('CONFIG_INVALID', 'controlStore.path: is required for the file store (or give the router a dataDir)', { details: { field: 'controlStore.path' } });
    }
    // A file from before topic modes gives its topics the home room of the router that owned it.
    return new FileControlStore({ path: config.path, logger, ...(context.routerRoom ? { legacyHomeRoom: context.routerRoom } : {}) });
  }
  const { RedisControlStore } = await import('./redis-control-store.js');
  return new RedisControlStore({ url: config.url, keyPrefix: config.keyPrefix, logger });
}
