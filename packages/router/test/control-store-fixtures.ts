/** Fixtures of the control store tests: temp dirs, a real Redis namespace per test, a TCP proxy to cut it. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RoomqError } from '@roomq/protocol';
import { expect } from 'vitest';

/** The Redis the tests use; CI starts one. The Redis cases fail (never skip) when it is not there. */
export const TEST_REDIS_URL = process.env.ROOMQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const cleanups: Array<() => Promise<void> | void> = [];

export function onCleanup(step: () => Promise<void> | void): void {
  cleanups.push(step);
}

export async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch {
      // keep cleaning up the rest
    }
  }
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'roomq-control-test-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh key prefix in the test Redis, whose keys are deleted after the test. */
export async function redisNamespace(): Promise<string> {
  const prefix = `roomq-test:${randomUUID()}:`;
  const admin = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  let lastError: string | undefined;
  admin.on('error', (err: Error) => (lastError = err.message));
  try {
    await admin.connect();
  } catch (err) {
    admin.disconnect();
    throw new Error(
      `the Redis control store tests need a Redis at ${TEST_REDIS_URL} (set ROOMQ_TEST_REDIS_URL to use another): ${lastError ?? (err as Error).message}; start one, e.g. \`redis-server --port 6379\``,
    );
  }
  onCleanup(async () => {
    const keys = await admin.keys(`${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
    if (keys.length > 0) await admin.del(...keys);
    admin.disconnect();
  });
  return prefix;
}

/** Waits until `condition` holds, polling; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A TCP proxy in front of a real server; stop() is a real network failure for whoever connects through it. */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function startProxyToRedis(): Promise<TcpProxy> {
  const target = new URL(TEST_REDIS_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
  await proxy.start();
  onCleanup(() => proxy.stop());
  return proxy;
}

/** Opens a store for this test and closes it in cleanup. */
export async function openedStore<T extends { open(): Promise<void>; close(): Promise<void> }>(store: T): Promise<T> {
  await store.open();
  onCleanup(() => store.close());
  return store;
}

/** The RoomqError a promise rejects with (fails the test if it resolves or rejects with anything else). */
export async function failure(promise: Promise<unknown>): Promise<RoomqError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RoomqError);
  return err as RoomqError;
}
