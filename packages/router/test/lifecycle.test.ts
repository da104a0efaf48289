import { afterEach, describe, expect, it } from 'vitest';
import { Router } from '../src/index.js';
import { cleanup, startRouter, tempDir } from './helpers.js';

afterEach(cleanup);

describe('Router lifecycle', () => {
  it('start and close are idempotent and the status follows', async () => {
    const router = new Router({ room: 'dc1', port: 0, dataDir: await tempDir() });
    expect(router.status).toBe('idle');
    const [a, b] = await Promise.all([router.start(), router.start()]);
    expect(a.port).toBeGreaterThan(0);
    expect(b).toBe(a);
    expect(router.status).toBe('running');
    expect(router.endpoint).toBe(`127.0.0.1:${a.port}`);
    await Promise.all([router.close(), router.close()]);
    expect(router.status).toBe('closed');
    expect(router.port).toBeUndefined();
    await expect(router.start()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('close before start just closes', async () => {
    const router = new Router({ room: 'dc1', port: 0, dataDir: await tempDir() });
    await router.close();
    expect(router.status).toBe('closed');
  });

  it('close during start waits for it and then releases the port', async () => {
    const dataDir = await tempDir();
    const router = new Router({ room: 'dc1', port: 0, dataDir });
    const starting = router.start();
    const closing = router.close();
    const { port } = await starting;
    await closing;
    expect(router.status).toBe('closed');
    // The port is free again: another router can take it.
    const next = new Router({ room: 'dc1', port, dataDir });
    await expect(next.start()).resolves.toEqual({ port });
    await next.close();
  });

  it('fails start clearly when the port is taken', async () => {
    const { port } = await startRouter();
    const second = new Router({ room: 'dc1', port, dataDir: await tempDir() });
    await expect(second.start()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining(`cannot listen on 127.0.0.1:${port}`) });
    expect(second.status).toBe('failed');
    await second.close();
  });

  it('advertises advertisedHost when listening on all interfaces', async () => {
    const { router, port } = await startRouter({ host: '0.0.0.0', advertisedHost: 'router.dc1.example' });
    expect(router.endpoint).toBe(`router.dc1.example:${port}`);
  });
});
