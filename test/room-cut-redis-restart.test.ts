/**
 * The cut lives in the control store, not in a router's memory: it survives the Redis server restarting (with
 * its append-only file) and the routers restarting. While Redis is down, the routers serve the last known
 * state and the brokers keep their write lease, because routers of both rooms still answer them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Admin } from '@roomq/client';
import { launchServer, stopServer } from '@roomq/cli';
import { waitFor } from './helpers/cluster.js';
import { TwoRooms } from './helpers/two-rooms.js';

let rooms: TwoRooms | undefined;
let redis: ChildProcess | undefined;
let redisDir: string | undefined;
const admins: Admin[] = [];

afterEach(async () => {
  for (const a of admins.splice(0)) await a.close();
  await rooms?.stop();
  rooms = undefined;
  redis?.kill('SIGKILL');
  redis = undefined;
  if (redisDir) await rm(redisDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A private Redis that fsyncs every write to its append-only file, so a kill -9 loses nothing acknowledged. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean | undefined>((resolve) => {
        const socket = createConnection(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(undefined));
      }),
    `redis-server on port ${port}`,
  );
  return child;
}

function adminOf(endpoint: string): Admin {
  const admin = new Admin({ router: endpoint });
  admins.push(admin);
  return admin;
}

async function dc1State(endpoint: string): Promise<{ status: string; version: number } | undefined> {
  return (await adminOf(endpoint).listRooms()).rooms.find((r) => r.room === 'dc1');
}

describe('a room cut in Redis', () => {
  it('survives kill -9 of Redis and a restart of both routers; brokers keep writing in between', async () => {
    redisDir = await mkdtemp(join(tmpdir(), 'roomq-redis-'));
    const port = await freePort();
    redis = await startRedis(port, redisDir);
    rooms = await TwoRooms.start({ controlStore: () => ({ kind: 'redis', url: `redis://127.0.0.1:${port}`, keyPrefix: 'roomq-cut-test:' }) });
    const cluster = rooms;
    const dc2 = cluster.router('dc2');
    await waitFor(async () => ((await adminOf(dc2).listRooms()).rooms.length === 2 ? true : undefined), 'both rooms known');

    await adminOf(dc2).cutRoom({ room: 'dc1', reason: 'redis restart test', by: 'test' });
    await waitFor(async () => ((await dc1State(cluster.router('dc1')))?.status === 'cut' ? true : undefined), 'dc1 router sees the cut');

    redis.kill('SIGKILL');
    await waitFor(async () => ((await adminOf(dc2).clusterStatus()).controlStoreHealth?.startsWith('degraded') ? true : undefined), 'routers notice Redis is gone');
    // Past the brokers' write lease (4 s): broker-b (dc2) still writable, since routers of both rooms answer it.
    await new Promise((r) => setTimeout(r, 4500));
    const during = await adminOf(dc2).clusterStatus();
    expect(during.brokers.find((b) => b.name === 'broker-b/0@dc2')).toMatchObject({ writable: true });
    expect(during.brokers.find((b) => b.name === 'broker-a/0@dc1')).toMatchObject({ writable: false });
    expect((await dc1State(dc2))?.status).toBe('cut');

    redis = await startRedis(port, redisDir);
    await waitFor(async () => ((await adminOf(dc2).clusterStatus()).controlStoreHealth === 'healthy' ? true : undefined), 'routers reconnect to Redis', 20_000);
    expect(await dc1State(dc2)).toMatchObject({ status: 'cut', version: 1 });

    for (const room of ['dc1', 'dc2'] as const) {
      const handle = cluster.routers.get(room)!;
      const config = JSON.parse(await readFile(handle.configPath, 'utf8')) as Record<string, unknown>;
      await stopServer(handle);
      cluster.routers.set(room, await launchServer('router', { ...config, listen: handle.ready.endpoint }, join(cluster.dir, 'logs'), `router-${room}-again`));
    }
    for (const room of ['dc1', 'dc2'] as const) expect(await dc1State(cluster.router(room))).toMatchObject({ status: 'cut', version: 1 });
  });
});
