import { readFile } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { RoomqError } from '@roomq/protocol';

/** Message a server child sends its parent (roomq local, tests) over IPC when it is ready. */
export interface ReadyMessage {
  type: 'ready';
  role: 'router' | 'broker';
  name: string;
  room: string;
  endpoint: string;
  pid: number;
  group?: string;
  brokerRole?: string;
}

export async function readConfigFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new RoomqError('CONFIG_INVALID', `cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RoomqError('CONFIG_INVALID', `${what} ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export function serverLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } });
}

/**
 * Runs a server until SIGINT/SIGTERM (or the parent's IPC channel closing), then closes it cleanly.
 * Reports readiness to a parent over IPC when there is one.
 */
export async function runServer(
  logger: Logger,
  start: () => Promise<ReadyMessage>,
  close: () => Promise<void>,
): Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        logger.error('shutdown took longer than 10 s; exiting anyway');
        process.exit(1);
      }, 10_000);
      force.unref();
      try {
        await close();
      } finally {
        clearTimeout(force);
        logger.flush();
      }
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop(signal).then(() => process.exit(0));
    });
  }
  // A parent that dies (even by kill -9) must not leave its servers behind.
  process.on('disconnect', () => {
    void stop('parent-gone').then(() => process.exit(0));
  });
  const ready = await start();
  process.send?.(ready);
}
