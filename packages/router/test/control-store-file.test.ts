/** What only the embedded file store does: its format, migration, corruption, locking, failing disks, write pacing. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomqError } from '@roomq/protocol';
import type { ControlChange, NewTopic } from '../src/control-store.js';
import { CONTROL_FILE_NAME, FileControlStore, type FileControlStoreOptions } from '../src/file-control-store.js';
import { cleanup, failure, onCleanup, openedStore, tempDir, waitFor } from './control-store-fixtures.js';

afterEach(cleanup);

const topic = (name: string, queuesPerBroker = 4): NewTopic => ({ name, queuesPerBroker, mode: { kind: 'home', room: 'dc1' }, createdAtMs: 1_700_000_000_000 });

const opened = (options: FileControlStoreOptions | string): Promise<FileControlStore> => openedStore(new FileControlStore(options));

describe('file control store', () => {
  it('accepts a data directory as before and writes a versioned file, leaving no temp or lock files', async () => {
    const dataDir = await tempDir();
    const store = await opened(dataDir);
    expect(store.path).toBe(join(dataDir, CONTROL_FILE_NAME));
    expect(store.description).toBe(`file ${join(dataDir, CONTROL_FILE_NAME)}`);
    await store.createTopicIfAbsent(topic('t2'));
    await store.createTopicIfAbsent({ ...topic('t1'), mode: { kind: 'active-active' } });
    const now = Date.now();
    await store.heartbeatRouter({ name: 'r1', room: 'dc1', endpoint: '127.0.0.1:9876', lastSeenMs: now });
    await store.publishMembers('r1', 'g', [{ clientId: 'dc1@h@1@1', room: 'dc1', router: 'r1', lastSeenMs: now + 1 }]);
    await store.close();
    expect(await readdir(dataDir)).toEqual([CONTROL_FILE_NAME]);
    expect(JSON.parse(await readFile(join(dataDir, CONTROL_FILE_NAME), 'utf8'))).toEqual({
      format: 'roomq-router-control',
      version: 4,
      topics: [
        { name: 't1', queuesPerBroker: 4, mode: 'active-active', createdAtMs: 1_700_000_000_000, version: 1 },
        { name: 't2', queuesPerBroker: 4, mode: 'home:dc1', createdAtMs: 1_700_000_000_000, version: 1 },
      ],
      routers: [{ name: 'r1', room: 'dc1', endpoint: '127.0.0.1:9876', lastSeenMs: now }],
      members: [{ group: 'g', router: 'r1', members: [{ clientId: 'dc1@h@1@1', room: 'dc1', lastSeenMs: now + 1 }] }],
      rooms: [],
      groups: [],
      audit: [],
      auditSeq: 0,
      migrations: [],
    });
  });

  it('reads a version 2 file (before room cuts) as having no cuts, and rewrites it in the current version', async () => {
    const dataDir = await tempDir();
    const path = join(dataDir, CONTROL_FILE_NAME);
    const v2 = {
      format: 'roomq-router-control',
      version: 2,
      topics: [{ name: 'kept', queuesPerBroker: 4, mode: 'active-active', createdAtMs: 1_600_000_000_000, version: 3 }],
      routers: [],
      members: [],
    };
    await writeFile(path, JSON.stringify(v2));
    const store = await opened({ path });
    expect(await store.getTopic('kept')).toMatchObject({ version: 3, mode: { kind: 'active-active' } });
    expect(await store.listRooms()).toEqual([]);
    expect(await store.listGroups()).toEqual([]);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ version: 4, topics: [{ name: 'kept', version: 3 }], rooms: [], groups: [], audit: [], auditSeq: 0, migrations: [] });
    const cut = await store.applyControl({ rooms: [{ room: 'dc1', status: 'cut', expectedVersion: 0 }], audit: { by: 'ops', action: 'room-cut', target: 'dc1', reason: 'test' } });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ rooms: [cut.rooms[0]], audit: [cut.audit], auditSeq: 1 });
  });

  it('rejects bad options naming the field', () => {
    expect(() => new FileControlStore({})).toThrow(/file control store options: path: give exactly one of path/);
    expect(() => new FileControlStore({ path: '/x', pollIntervalMs: 0 })).toThrow(/pollIntervalMs/);
  });

  it('migrates a version 1 file: its topics become home topics of legacyHomeRoom', async () => {
    const dataDir = await tempDir();
    const path = join(dataDir, CONTROL_FILE_NAME);
    const v1 = { format: 'roomq-router-control', version: 1, topics: [{ name: 'old', queuesPerBroker: 8, createdAtMs: 1_600_000_000_000 }] };
    await writeFile(path, JSON.stringify(v1));

    const refused = await failure(new FileControlStore({ path }).open());
    expect(refused.code).toBe('CONFIG_INVALID');
    expect(refused.message).toContain(path);
    expect(refused.message).toMatch(/format version 1.*give the control store legacyHomeRoom/);

    const store = await opened({ path, legacyHomeRoom: 'dc2' });
    expect(await store.getTopic('old')).toEqual({ name: 'old', queuesPerBroker: 8, mode: { kind: 'home', room: 'dc2' }, createdAtMs: 1_600_000_000_000, version: 1 });
    const json = JSON.parse(await readFile(path, 'utf8'));
    expect(json).toMatchObject({ version: 4, topics: [{ name: 'old', mode: 'home:dc2', version: 1 }] });
    // Once migrated, a router of another room reads the same modes and needs no legacyHomeRoom.
    expect((await (await opened({ path })).getTopic('old'))?.mode).toEqual({ kind: 'home', room: 'dc2' });
  });

  it.each([
    ['truncated JSON', '{"format":"roomq-router-control","version":2,"topics":[{"na', /not valid JSON/],
    ['another file', '{"hello":"world"}', /not a roomq router control file/],
    ['a future version', '{"format":"roomq-router-control","version":7,"topics":[]}', /format version 7 is not supported/],
    ['a bad topic', '{"format":"roomq-router-control","version":1,"topics":[{"name":"x","queuesPerBroker":0,"createdAtMs":1}]}', /topics\.0\.queuesPerBroker/],
    ['a bad mode', '{"format":"roomq-router-control","version":2,"topics":[{"name":"x","queuesPerBroker":1,"createdAtMs":1,"version":1,"mode":"home:"}],"routers":[],"members":[]}', /topics\.0\.mode/],
  ])('fails open clearly on a corrupt file: %s', async (_what, content, reason) => {
    const path = join(await tempDir(), CONTROL_FILE_NAME);
    await writeFile(path, content);
    const err = await failure(new FileControlStore({ path, legacyHomeRoom: 'dc1' }).open());
    expect(err.code).toBe('STORAGE_FAILED');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/is corrupt/);
    expect(err.message).toMatch(reason);
    expect(err.message).toMatch(/restore it from a backup, or move it aside/);
    // The corrupt file is left as it was for operations to inspect.
    expect(await readFile(path, 'utf8')).toBe(content);
  });

  it('breaks a lock left by a dead process, and one too old to be live', async () => {
    const path = join(await tempDir(), CONTROL_FILE_NAME);
    const store = await opened({ path });
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(`${path}.lock`, JSON.stringify({ pid: deadPid, host: (await import('node:os')).hostname(), acquiredAtMs: Date.now() }));
    expect((await store.createTopicIfAbsent(topic('after-crash'))).created).toBe(true);

    // pid 1 is alive, but nobody holds the lock for 20 s: it was left behind (e.g. by another machine's pid 1).
    await writeFile(`${path}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere', acquiredAtMs: Date.now() - 20_000 }));
    const old = new Date(Date.now() - 20_000);
    await utimes(`${path}.lock`, old, old);
    expect((await store.createTopicIfAbsent(topic('after-old-lock'))).created).toBe(true);
    expect((await readdir(join(path, '..'))).sort()).toEqual([CONTROL_FILE_NAME]);
  });

  it('never leaves a lock without its holder: a router killed -9 while changing the file holds nobody up', async () => {
    const path = join(await tempDir(), CONTROL_FILE_NAME);
    // Stale locks are only broken after a minute here, and a change gives up after 3 s: every lock the killed
    // process leaves must name it, so that it is broken at once as a dead holder's.
    const store = await opened({ path, staleLockMs: 60_000, lockTimeoutMs: 3_000 });
    const storeModule = new URL('../dist/file-control-store.js', import.meta.url).href;
    const child = `
      const { FileControlStore } = await import(${JSON.stringify(storeModule)});
      const store = new FileControlStore({ path: ${JSON.stringify(path)}, pollIntervalMs: 50 });
      await store.open();
      console.log('ready');
      for (let i = 0; ; i++) await store.createTopicIfAbsent({ name: 'churn-' + process.pid + '-' + i, queuesPerBroker: 1, mode: { kind: 'active-active' }, createdAtMs: 1 });
    `;
    for (let round = 0; round < 12; round++) {
      const proc = spawn(process.execPath, ['--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
      // Somewhere in its stream of changes, a different point each round.
      await new Promise((resolve) => setTimeout(resolve, 20 + round * 7));
      proc.kill('SIGKILL');
      await new Promise((resolve) => proc.once('exit', resolve));
      expect((await store.createTopicIfAbsent(topic(`after-kill-${round}`))).created).toBe(true);
    }
    // Temp files the killed processes left are removed by the next store to open the file.
    await openedStore(new FileControlStore({ path }));
    expect(await readdir(join(path, '..'))).toEqual([CONTROL_FILE_NAME]);
  }, 60_000);

  it('removes the temp files of dead processes when it opens, and leaves a live one\'s', async () => {
    const dir = await tempDir();
    const path = join(dir, CONTROL_FILE_NAME);
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const dead = [`${CONTROL_FILE_NAME}.tmp-${deadPid}-3`, `${CONTROL_FILE_NAME}.lock.new-${deadPid}-1`];
    // pid 1 is alive: its temp file may be on its way to becoming the lock.
    const live = `${CONTROL_FILE_NAME}.lock.new-1-7`;
    for (const name of [...dead, live, 'unrelated.tmp-1-1']) await writeFile(join(dir, name), '{}');
    await opened({ path });
    expect((await readdir(dir)).sort()).toEqual([live, 'unrelated.tmp-1-1'].sort());
  });

  it('waits for a live lock and gives up with UNAVAILABLE naming the holder', async () => {
    const path = join(await tempDir(), CONTROL_FILE_NAME);
    const store = await opened({ path, lockTimeoutMs: 200 });
    await writeFile(`${path}.lock`, JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), acquiredAtMs: Date.now() }));
    const err = await failure(store.createTopicIfAbsent(topic('blocked')));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(new RegExp(`stayed locked for 200 ms by pid ${process.pid}`));
    expect(err.message).toContain(`${path}.lock`);
    // A held lock is contention, not a broken disk.
    expect(store.health()).toEqual({ state: 'healthy' });
    await rm(`${path}.lock`);
    expect((await store.createTopicIfAbsent(topic('blocked'))).created).toBe(true);
  });

  it('degrades when writes fail, serves the last state, and recovers by itself', async () => {
    const dir = join(await tempDir(), 'control');
    const path = join(dir, CONTROL_FILE_NAME);
    const store = await opened({ path, pollIntervalMs: 50 });
    const changes: ControlChange[] = [];
    store.onChange((c) => changes.push(c));
    await store.createTopicIfAbsent(topic('kept'));

    await rm(dir, { recursive: true });
    const first = await failure(store.createTopicIfAbsent(topic('lost')));
    expect(first.code).toBe('UNAVAILABLE');
    expect(first.message).toMatch(/ENOENT/);
    const health = store.health();
    expect(health).toMatchObject({ state: 'degraded', reason: expect.stringMatching(/ENOENT/) });
    const refusedAtOnce = await failure(store.setTopicMode('kept', { kind: 'active-active' }, 1));
    expect(refusedAtOnce.code).toBe('UNAVAILABLE');
    expect(refusedAtOnce.message).toMatch(/keep serving the last known state/);
    expect(await store.getTopic('kept')).toMatchObject({ name: 'kept', version: 1 });
    await store.heartbeatRouter({ name: 'r', room: 'dc1', endpoint: 'x:1', lastSeenMs: Date.now() });

    await mkdir(dir);
    await waitFor('the store to be healthy again', () => store.health().state === 'healthy');
    expect(changes).toContainEqual({ kind: 'reload' });
    // The state it served meanwhile was written back rather than lost.
    expect(JSON.parse(await readFile(path, 'utf8')).topics.map((t: { name: string }) => t.name)).toEqual(['kept']);
    expect((await store.setTopicMode('kept', { kind: 'active-active' }, 1)).version).toBe(2);
  });

  it('writes heartbeats that only move timestamps at most every heartbeatPersistMs', async () => {
    const path = join(await tempDir(), CONTROL_FILE_NAME);
    const store = await opened({ path, heartbeatPersistMs: 300 });
    const onDisk = async () => JSON.parse(await readFile(path, 'utf8')).routers[0]?.lastSeenMs as number | undefined;
    const start = Date.now();
    await store.heartbeatRouter({ name: 'r', room: 'dc1', endpoint: 'h:1', lastSeenMs: start });
    expect(await onDisk()).toBe(start); // a new router is written at once
    for (let i = 1; i <= 20; i++) await store.heartbeatRouter({ name: 'r', room: 'dc1', endpoint: 'h:1', lastSeenMs: start + i });
    if (Date.now() - start < 250) expect(await onDisk()).toBe(start);
    expect((await store.listRouters(5000))[0]?.lastSeenMs).toBe(start + 20);
    await waitFor('the latest heartbeat to reach the file', async () => (await onDisk()) === start + 20, 2000);
    // A change other than the timestamp is written at once.
    await store.heartbeatRouter({ name: 'r', room: 'dc1', endpoint: 'h:2', lastSeenMs: start + 21 });
    expect(JSON.parse(await readFile(path, 'utf8')).routers[0].endpoint).toBe('h:2');
  });

  it('drops routers and members not seen for pruneAfterMs from the file', async () => {
    const path = join(await tempDir(), CONTROL_FILE_NAME);
    const store = await opened({ path, pruneAfterMs: 1000 });
    const now = Date.now();
    await store.heartbeatRouter({ name: 'live', room: 'dc1', endpoint: 'h:2', lastSeenMs: now });
    await store.publishMembers('live', 'g', [{ clientId: 'dc1@h@2@1', room: 'dc1', router: 'live', lastSeenMs: now }]);
    await store.heartbeatRouter({ name: 'gone', room: 'dc1', endpoint: 'h:1', lastSeenMs: now - 5000 });
    await store.publishMembers('gone', 'g', [{ clientId: 'dc1@h@1@1', room: 'dc1', router: 'gone', lastSeenMs: now - 5000 }]);
    const json = JSON.parse(await readFile(path, 'utf8'));
    expect(json.routers.map((r: { name: string }) => r.name)).toEqual(['live']);
    expect(json.members).toEqual([{ group: 'g', router: 'live', members: [{ clientId: 'dc1@h@2@1', room: 'dc1', lastSeenMs: now }] }]);
  });

  it('keeps a file deleted under a running router by rewriting it from memory', async () => {
    const path = join(await tempDir(), CONTROL_FILE_NAME);
    const store = await opened({ path });
    await store.createTopicIfAbsent(topic('a'));
    await rm(path);
    await store.createTopicIfAbsent(topic('b'));
    expect(JSON.parse(await readFile(path, 'utf8')).topics.map((t: { name: string }) => t.name)).toEqual(['a', 'b']);
  });
});
