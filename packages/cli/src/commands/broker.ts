import { parseArgs } from 'node:util';
import { Broker, parseBrokerConfig } from '@roomq/broker';
import { tuneServerHeap } from '../server-heap.js';
import { readConfigFile, runServer, serverLogger } from '../server-process.js';
import { requireOption } from '../usage-error.js';

export const brokerUsage = 'roomq broker --config FILE';

/** `roomq broker --config FILE`: one broker process until SIGTERM. */
export async function brokerCommand(argv: string[]): Promise<void> {
  tuneServerHeap();
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } }, strict: true });
  const path = requireOption(values.config, '--config');
  const config = parseBrokerConfig(await readConfigFile(path, 'broker config'), `broker config ${path}`);
  const logger = serverLogger(config.logLevel);
  const broker = new Broker(config, logger);
  await runServer(
    logger,
    async () => {
      const info = await broker.start();
      return { type: 'ready', role: 'broker', name: info.name, room: config.room, endpoint: info.endpoint, pid: process.pid, group: config.group, brokerRole: config.role };
    },
    () => broker.close(),
  );
}
