import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALLOCATOR_ENV, withAllocatorEnv } from '../src/allocator-env.js';
// The built entry point: the launcher forks main.js beside it.
import { launchServer, stopServer } from '@roomq/cli';

describe('allocator settings of server processes', () => {
  it('adds both settings, and keeps a value the operator set', () => {
    expect(withAllocatorEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', ...ALLOCATOR_ENV });
    const mine = withAllocatorEnv({ MALLOC_MMAP_THRESHOLD_: '1048576' });
    expect(mine.MALLOC_MMAP_THRESHOLD_).toBe('1048576');
    expect(mine.MALLOC_TRIM_THRESHOLD_).toBe(ALLOCATOR_ENV.MALLOC_TRIM_THRESHOLD_);
  });

  it.runIf(existsSync('/proc/self/environ'))('reach a launched server process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'roomq-alloc-'));
    try {
      const handle = await launchServer(
        'router',
        { name: 'r', room: 'dc1', listen: '127.0.0.1:0', dataDir: join(dir, 'router'), controlStore: { kind: 'file', path: join(dir, 'control.json') }, logLevel: 'warn' },
        dir,
        'router',
      );
      try {
        const environ = (await readFile(`/proc/${handle.child.pid}/environ`, 'utf8')).split('\0');
        for (const [name, value] of Object.entries(ALLOCATOR_ENV)) expect(environ).toContain(`${name}=${process.env[name] ?? value}`);
      } finally {
        await stopServer(handle);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rerunWithAllocatorEnv runs the command again with the settings and passes its exit code back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'roomq-alloc-'));
    try {
      const script = join(dir, 'rerun.mjs');
      const cli = fileURLToPath(new URL('../dist/index.js', import.meta.url));
      await writeFile(
        script,
        `import { rerunWithAllocatorEnv } from ${JSON.stringify(cli)};\n` +
          'const code = await rerunWithAllocatorEnv();\n' +
          'if (code !== undefined) process.exit(code);\n' +
          'console.log(JSON.stringify({ mmap: process.env.MALLOC_MMAP_THRESHOLD_, trim: process.env.MALLOC_TRIM_THRESHOLD_, args: process.argv.slice(2) }));\n' +
          'process.exit(7);\n',
      );
      const env = { ...process.env };
      for (const name of Object.keys(ALLOCATOR_ENV)) delete env[name];
      const run = spawnSync(process.execPath, [script, 'a', '--b'], { env, encoding: 'utf8' });
      expect(run.status).toBe(7);
      expect(JSON.parse(run.stdout.trim())).toEqual({ mmap: ALLOCATOR_ENV.MALLOC_MMAP_THRESHOLD_, trim: ALLOCATOR_ENV.MALLOC_TRIM_THRESHOLD_, args: ['a', '--b'] });
      // Already set: it runs once, in place.
      const again = spawnSync(process.execPath, [script], { env: withAllocatorEnv(env), encoding: 'utf8' });
      expect(again.status).toBe(7);
      expect(again.stdout.trim().split('\n')).toHaveLength(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
