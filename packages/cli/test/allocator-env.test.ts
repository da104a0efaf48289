import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
