import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { RoomqError } from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import { parseLinkProxiesConfig, readyLine, runLinkProxies } from './link-proxies.js';

export const linkProxyUsage = 'link-proxy --config FILE';

/** How long shutdown may take before the process exits anyway. */
export const SHUTDOWN_DEADLINE_MS = 10_000;

export interface LinkProxyCommandIo {
  /** Where the ready line goes; stdout by default. */
  writeLine?: (line: string) => void;
  /** Logger; by default pino at the config's level on stderr, so stdout carries only the ready line. */
  logger?: Logger;
}

/**
 * Runs the link proxies of a config file until SIGINT or SIGTERM: `node packages/room-link/dist/main.js --config
 * FILE`, later `roomq link-proxy --config FILE`. Prints one JSON ready line (LinkProxiesReadyLine) once every
 * proxy and the control API listen. Resolves once stopped; throws RoomqError CONFIG_INVALID for a bad config.
 */
export async function linkProxyCommand(argv: string[], io: LinkProxyCommandIo = {}): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } }, strict: true, allowPositionals: false });
  if (values.config === undefined) throw new RoomqError('CONFIG_INVALID', `--config FILE is required; usage: ${linkProxyUsage}`, { details: { field: 'config' } });
  const config = parseLinkProxiesConfig(await readConfigText(values.config));
  const logger = io.logger ?? pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2));
  const running = await runLinkProxies(config, logger);
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      logger.info({ signal }, 'link proxies shutting down');
      const force = setTimeout(() => {
        logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'link proxies did not stop in time; exiting anyway');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS);
      force.unref();
      void running.close().then(() => {
        clearTimeout(force);
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  (io.writeLine ?? ((line: string) => process.stdout.write(`${line}\n`)))(JSON.stringify(readyLine(running)));
  await stopped;
}

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new RoomqError('CONFIG_INVALID', `cannot read link proxy config ${path}: ${(err as Error).message}`, { cause: err, details: { field: 'config' } });
  }
}
