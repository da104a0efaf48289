/**
 * The room cut's control plane with real processes: two routers (one per room) sharing a file or Redis control
 * store, broker-a (master in dc1) and broker-b (master in dc2). Operators drive it with the `roomq` command.
 * What the data plane does under a cut (fencing, acting masters) is tested elsewhere.
 */
import { readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Admin } from '@roomq/client';
import { launchServer, stopServer } from '@roomq/cli';
import { runCli } from './helpers/cli.js';
import { uniqueName, waitFor } from './helpers/cluster.js';
import { TwoRooms, type ControlStoreConfig } from './helpers/two-rooms.js';

let rooms: TwoRooms | undefined;
const admins: Admin[] = [];

afterEach(async () => {
  for (const a of admins.splice(0)) await a.close();
  await rooms?.stop();
  rooms = undefined;
});

function adminOf(endpoint: string): Admin {
  const admin = new Admin({ router: endpoint });
  admins.push(admin);
  return admin;
}

/** Restarts a room's router process on the same config and port, as an operator restarting it would. */
async function restartRouter(cluster: TwoRooms, room: 'dc1' | 'dc2'): Promise<void> {
  const handle = cluster.routers.get(room)!;
  const config = JSON.parse(await readFile(handle.configPath, 'utf8')) as Record<string, unknown>;
  await stopServer(handle);
  const again = await launchServer('router', { ...config, listen: handle.ready.endpoint }, join(cluster.dir, 'logs'), `router-${room}-again`);
  cluster.routers.set(room, again);
}

const stores: Array<[string, (dir: string) => ControlStoreConfig]> = [
  ['file', (dir) => ({ kind: 'file', path: join(dir, 'control.json') })],
  ['redis', () => ({ kind: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: `${uniqueName('roomqtest')}:` })],
];

describe.each(stores)('room cut control plane on the %s store', (_kind, controlStore) => {
  it('cuts with a plan and confirmation, shares the cut with the other room at once, keeps it across a router restart, restores, audits', async () => {
    rooms = await TwoRooms.start({ controlStore });
    const cluster = rooms;
    const dc1 = cluster.router('dc1');
    await waitFor(async () => (await adminOf(dc1).listRooms()).rooms.length === 2 || undefined, 'dc1 to know both rooms');

    // A dry run shows what moves and changes nothing.
    const dry = await runCli(['room', 'cut', 'dc1', '--dry-run', '--json', '--router', dc1]);
    expect(dry.code).toBe(0);
    expect(dry.json).toMatchObject({ dryRun: true, applied: false, plan: { room: 'dc1', action: 'cut', changes: true } });
    expect((dry.json!['plan'] as { groups: unknown[] }).groups).toEqual([
      expect.objectContaining({ group: 'broker-a', fromLeader: 'broker-a/0@dc1', moves: false, note: expect.stringContaining('unreadable until restore') }),
    ]);
    expect((await adminOf(dc1).listRooms()).rooms.every((r) => r.status === 'active' && r.version === 0)).toBe(true);

    // Without a terminal a cut needs --yes, and says so.
    const unconfirmed = await runCli(['room', 'cut', 'dc1', '--json', '--router', dc1]);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.json).toMatchObject({ error: { code: 'USAGE', message: expect.stringMatching(/pass --yes/) } });
    expect((await adminOf(dc1).listAudit(10)).length).toBe(0);

    const cut = await runCli(['room', 'cut', 'dc1', '--yes', '--json', '--by', 'tester@ci', '--reason', 'power loss', '--router', dc1]);
    expect(cut.code).toBe(0);
    expect(cut.json).toMatchObject({ applied: true, room: { room: 'dc1', status: 'cut', version: 1, changedBy: 'tester@ci', reason: 'power loss' }, audit: { seq: 1, action: 'room-cut' } });

    // The other room's router knows within a second (its routes and brokers depend on it).
    const startedMs = Date.now();
    await waitFor(async () => (await adminOf(cluster.router('dc2')).listRooms()).rooms.find((r) => r.room === 'dc1')?.status === 'cut' || undefined, 'dc2 to see the cut', 5000);
    expect(Date.now() - startedMs).toBeLessThan(1500);

    // Idempotent, and the last active room cannot be cut.
    const again = await runCli(['room', 'cut', 'dc1', '--yes', '--router', cluster.router('dc2')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/room dc1 is cut already \(version 1, by tester@ci\); nothing changed/);
    const last = await runCli(['room', 'cut', 'dc2', '--yes', '--json', '--router', cluster.router('dc2')]);
    expect(last.code).toBe(1);
    expect(last.json).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(/last active room/) } });
    const unknown = await runCli(['room', 'cut', 'dc9', '--yes', '--router', dc1]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown room dc9: no broker or router of it has registered \(known rooms: dc1, dc2\)/);

    // Durable: both routers restart and still hold the cut.
    await restartRouter(cluster, 'dc1');
    await restartRouter(cluster, 'dc2');
    for (const room of ['dc1', 'dc2'] as const) {
      const listing = await adminOf(cluster.router(room)).listRooms();
      expect(listing.rooms.find((r) => r.room === 'dc1')).toMatchObject({ status: 'cut', version: 1, changedBy: 'tester@ci' });
    }
    // A restarted router knows a broker again once that broker's next heartbeat reaches it.
    const status = await waitFor(async () => {
      const run = await runCli(['cluster', 'status', '--router', cluster.router('dc2')]);
      return /broker-a\/0@dc1/.test(run.stdout) ? run : undefined;
    }, 'broker-a to heartbeat the restarted dc2 router');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/dc1\s+CUT\s+1\s+tester@ci/);
    expect(status.stdout).toMatch(/broker-a\s+1\s+broker-a\/0@dc1/);

    const restored = await runCli(['room', 'restore', 'dc1', '--yes', '--json', '--by', 'tester@ci', '--reason', 'power back', '--router', cluster.router('dc2')]);
    expect(restored.code).toBe(0);
    expect(restored.json).toMatchObject({ applied: true, room: { status: 'active', version: 2 } });
    await waitFor(async () => (await adminOf(cluster.router('dc1')).listRooms()).rooms.find((r) => r.room === 'dc1')?.status === 'active' || undefined, 'dc1 to see the restore', 5000);

    const audit = await runCli(['audit', '--json', '--router', dc1]);
    expect(audit.code).toBe(0);
    expect((audit.json!['entries'] as Array<{ action: string; by: string; reason: string }>).map((e) => [e.action, e.by, e.reason])).toEqual([
      ['room-restore', 'tester@ci', 'power back'],
      ['room-cut', 'tester@ci', 'power loss'],
    ]);
    const groups = await runCli(['group', 'list', '--json', '--router', dc1]);
    expect(groups.json).toMatchObject({ groups: [{ group: 'broker-a', epoch: 1, leader: 'broker-a/0@dc1' }, { group: 'broker-b', epoch: 1, leader: 'broker-b/0@dc2' }] });
    const failback = await runCli(['group', 'failback', 'broker-a', '--json', '--router', dc1]);
    expect(failback.code).toBe(0);
    expect(failback.json).toMatchObject({ event: 'failback-summary', result: { changed: false, message: expect.stringMatching(/leads group broker-a already/) } });
  });
});

describe('room cut while the control file is locked', () => {
  it('answers with the store\'s own error naming the holder, not a bare deadline, and changes nothing', async () => {
    rooms = await TwoRooms.start({ controlStore: (dir) => ({ kind: 'file', path: join(dir, 'control.json') }) });
    const cluster = rooms;
    const lockPath = join(cluster.dir, 'control.json.lock');
    // A live process (this one) holds the lock: the router waits its lock timeout (5 s), longer than the
    // caller's request deadline, before it gives up.
    // Taken the way a router takes it (create, never overwrite): writing over a router's lock while that router
    // holds it would keep its inode, and the router would remove it on release as its own.
    const holder = JSON.stringify({ pid: process.pid, host: hostname(), acquiredAtMs: Date.now() });
    await waitFor(() => writeFile(lockPath, holder, { flag: 'wx' }).then(() => true, (err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? false : Promise.reject(err))), 'the control file lock to be free', 10_000);
    // Routers break a lock older than 10 s. A router's writes queue behind one another, each waiting up to 5 s for
    // the lock, so on a slow machine the cut's own wait could end after another router broke this lock and took
    // it: a live holder keeps its lock fresh here.
    const keepFresh = setInterval(() => void utimes(lockPath, new Date(), new Date()).catch(() => undefined), 1000);
    const admin = new Admin({ router: cluster.router('dc2'), requestTimeoutMs: 1000 });
    admins.push(admin);
    try {
      const err = await admin.cutRoom({ room: 'dc1', reason: 'drill', by: 'tester' }).then(() => undefined, (e: unknown) => e as { code: string; message: string });
      expect(err?.code).toBe('UNAVAILABLE');
      expect(err?.message).toMatch(new RegExp(`stayed locked for \\d+ ms by pid ${process.pid}`));
      expect((await admin.listRooms()).rooms.find((r) => r.room === 'dc1')?.status ?? 'active').toBe('active');
    } finally {
      clearInterval(keepFresh);
    }
    await rm(lockPath);
    expect((await admin.cutRoom({ room: 'dc1', reason: 'drill', by: 'tester' })).applied).toBe(true);
  }, 60_000);
});
