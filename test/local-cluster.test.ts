import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOMQ_MAIN, runCli } from './helpers/cli.js';
import { waitFor } from './helpers/cluster.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `roomq local` as a user runs it: ready line, produce and consume 100,000 keys, SIGTERM stops everything. */
describe('roomq local', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts two rooms, each server its own process, serves 100,000 keys, and stops cleanly on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'roomq-local-'));
    const child = spawn(process.execPath, [ROOMQ_MAIN, 'local', '--json', '--data-dir', join(dir, 'data'), '--router-port', '0', '--broker-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout! });
    const ready = await new Promise<Record<string, any>>((resolve, reject) => {
      lines.once('line', (line) => resolve(JSON.parse(line) as Record<string, any>));
      child.once('exit', () => reject(new Error('roomq local exited before it was ready')));
    });
    expect(ready['event']).toBe('ready');
    // A router per room, and two broker groups as chains master → slave → slave over both rooms, each its own process.
    expect(Object.keys(ready['routers']).sort()).toEqual(['dc1', 'dc2']);
    const servers = ready['servers'] as Array<{ role: string; name: string; room: string; group?: string; brokerRole?: string; pid: number }>;
    expect(servers.map((s) => [s.role, s.name, s.room, s.group ?? '', s.brokerRole ?? ''])).toEqual([
      ['router', 'router-dc1', 'dc1', '', ''],
      ['router', 'router-dc2', 'dc2', '', ''],
      ['broker', 'broker-a/0@dc1', 'dc1', 'broker-a', 'master'],
      ['broker', 'broker-a/1@dc2', 'dc2', 'broker-a', 'slave'],
      ['broker', 'broker-a/2@dc2', 'dc2', 'broker-a', 'slave'],
      ['broker', 'broker-b/0@dc2', 'dc2', 'broker-b', 'master'],
      ['broker', 'broker-b/1@dc1', 'dc1', 'broker-b', 'slave'],
      ['broker', 'broker-b/2@dc1', 'dc1', 'broker-b', 'slave'],
    ]);
    const pids = servers.map((s) => s.pid);
    expect(new Set(pids).size).toBe(8);
    for (const pid of pids) {
      expect(pid).not.toBe(child.pid);
      expect(alive(pid)).toBe(true);
    }
    const router: string = ready['routers']['dc1'][0];

    const count = 100_000;
    const sent = join(dir, 'sent.txt');
    const got = join(dir, 'keys.txt');
    const produced = await runCli(['produce', '--router', router, '--topic', 'tour', '--count', String(count), '--size', '1024', '--key-prefix', 'k', '--dump', sent, '--json'], { timeoutMs: 120_000 });
    expect(produced.json).toMatchObject({ acknowledged: count, failed: 0 });
    const consumed = await runCli(['consume', '--router', router, '--group', 'tour-group', '--topic', 'tour', '--dump', got, '--timeout-ms', '3000', '--json'], { timeoutMs: 120_000 });
    expect(consumed.json).toMatchObject({ received: count, distinctKeys: count, duplicates: 0, bodiesMismatched: 0 });
    const keys = new Set((await readFile(got, 'utf8')).trim().split('\n'));
    expect(keys.size).toBe(count);
    expect(keys.has('k-0') && keys.has(`k-${count - 1}`)).toBe(true);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor(() => pids.every((pid) => !alive(pid)), 'every server process to exit');
  }, 180_000);
});
