import { parseArgs } from 'node:util';
import { Router, parseRouterConfig, routerOptionsFromConfig } from '@roomq/router';
import { tuneServerHeap } from '../server-heap.js';
import { readConfigFile, runServer, serverLogger } from '../server-process.js';
import { requireOption } from '../usage-error.js';

export const routerUsage = 'roomq router --config FILE';

/** `roomq router --config FILE`: one router process until SIGTERM. */
export async function routerCommand(argv: string[]): Promise<void> {
  tuneServerHeap();
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } }, strict: true });
  const path = requireOption(values.config, '--config');
  const config = parseRouterConfig(await readConfigFile(path, 'router config'));
  const logger = serverLogger(config.logLevel);
  const router = new Router(routerOptionsFromConfig(config, logger));
  await runServer(
    logger,
    async () => {
      await router.start();
      return { type: 'ready', role: 'router', name: config.name, room: config.room, endpoint: router.endpoint!, pid: process.pid };
    },
    () => router.close(),
  );
}
