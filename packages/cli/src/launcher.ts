import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoomqError } from '@roomq/protocol';
import { withAllocatorEnv } from './allocator-env.js';
import type { ReadyMessage } from './server-process.js';

/** The roomq entry point that children run. */
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** How long a server may take from fork to ready. */
const READY_TIMEOUT_MS = 30_000;
/** How long a server may take to stop after SIGTERM before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

export interface ServerHandle {
  role: 'router' | 'broker';
  ready: ReadyMessage;
  child: ChildProcess;
  configPath: string;
  logPath: string;
  /** Resolves with the exit code or signal when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `roomq <role> --config <file>` as a child process, its log in `logPath`, and waits for its ready
 * message. A child that exits first fails with the end of its log, which says why.
 */
export async function launchServer(role: 'router' | 'broker', config: object, dir: string, name: string): Promise<ServerHandle> {
  await mkdir(dir, { recursive: true });
  const configPath = join(dir, `${name}.json`);
  const logPath = join(dir, `${name}.log`);
  await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = fork(MAIN, [role, '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: withAllocatorEnv(process.env) });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new RoomqError('TIMEOUT', `${role} ${name} did not become ready within ${READY_TIMEOUT_MS} ms; see ${logPath}`));
    }, READY_TIMEOUT_MS);
    child.on('message', (message: ReadyMessage) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      }
    });
    void exited.then(async ({ code, signal }) => {
      clearTimeout(timer);
      const tail = await readFile(logPath, 'utf8').catch(() => '');
      reject(new RoomqError('UNAVAILABLE', `${role} ${name} exited (${signal ?? `code ${code}`}) before it was ready:\n${lastLines(tail, 15)}`));
    });
  });
  return { role, ready, child, configPath, logPath, exited };
}

/** SIGTERM, then SIGKILL if it does not stop in time. Safe on a process that already ended. */
export async function stopServer(handle: ServerHandle, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
  if (handle.child.exitCode !== null || handle.child.signalCode !== null) return;
  handle.child.kill('SIGTERM');
  const timer = setTimeout(() => handle.child.kill('SIGKILL'), timeoutMs);
  await handle.exited;
  clearTimeout(timer);
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
