import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { LinkProxiesReadyLine } from '../src/index.js';
import { closed, connect, roundTripMs, startEchoServer } from './net-helpers.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function tempConfig(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'room-link-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'links.json');
  await writeFile(path, JSON.stringify(config));
  return path;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('main.js', () => {
  it('prints a ready line, forwards, obeys the control API and stops on SIGTERM', async () => {
    const echo = await startEchoServer();
    cleanups.push(echo.close);
    const path = await tempConfig({ logLevel: 'silent', links: [{ name: 'dc1-dc2', listen: '127.0.0.1:0', target: `127.0.0.1:${echo.port}`, delayMs: 10 }] });
    const child = spawn(process.execPath, [MAIN, '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => void child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = await new Promise<LinkProxiesReadyLine>((resolve, reject) => {
      let stdout = '';
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        const newline = stdout.indexOf('\n');
        if (newline >= 0) resolve(JSON.parse(stdout.slice(0, newline)) as LinkProxiesReadyLine);
      });
      child.once('exit', (code) => reject(new Error(`main.js exited with ${code} before ready: ${stderr}`)));
    });
    expect(ready).toMatchObject({ type: 'ready', pid: child.pid, links: [{ name: 'dc1-dc2', delayMs: 10, target: `127.0.0.1:${echo.port}` }] });
    expect(ready.control.port).toBeGreaterThan(0);

    const socket = await connect(ready.links[0]!.port);
    cleanups.push(async () => void socket.destroy());
    expect(await roundTripMs(socket, Buffer.from('ping'))).toBeGreaterThanOrEqual(20);

    const res = await fetch(`${ready.control.url}/cut?mode=reset`, { method: 'POST' });
    expect(res.status).toBe(200);
    await closed(socket);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('exits 2 naming the bad field of a config', async () => {
    const path = await tempConfig({ links: [{ name: 'x', listen: '127.0.0.1:0', target: '127.0.0.1:1', delay: 3 }] });
    const child = spawn(process.execPath, [MAIN, '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await exited(child)).toBe(2);
    expect(stderr).toMatch(/links\.0: unknown field "delay"/);
  });
});
