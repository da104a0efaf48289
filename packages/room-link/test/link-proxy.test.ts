import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { LinkProxy } from '../src/index.js';
import { closed, collect, connect, roundTripMs, sleep, startEchoServer, waitFor } from './net-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function echoBehindProxy(options: { delayMs?: number; highWaterBytes?: number } = {}): Promise<{ proxy: LinkProxy; port: number; echo: Awaited<ReturnType<typeof startEchoServer>> }> {
  const echo = await startEchoServer();
  cleanups.push(echo.close);
  const proxy = new LinkProxy({ name: 'dc1-dc2', listen: '127.0.0.1:0', target: { host: '127.0.0.1', port: echo.port }, ...options });
  cleanups.push(() => proxy.close());
  const { port } = await proxy.start();
  return { proxy, port, echo };
}

async function openEcho(port: number): Promise<ReturnType<typeof connect> extends Promise<infer S> ? S : never> {
  const socket = await connect(port);
  cleanups.push(async () => {
    socket.destroy();
  });
  return socket;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('LinkProxy', () => {
  it('passes bytes unchanged both ways, half-closes included, and counts them', async () => {
    const { proxy, port } = await echoBehindProxy();
    const socket = await openEcho(port);
    const received = collect(socket);
    const payload = randomBytes(256 * 1024);
    socket.end(payload);
    await once(socket, 'end');
    expect(received.bytes().equals(payload)).toBe(true);
    await waitFor(() => proxy.stats().connections === 0, 'the pair to close');
    expect(proxy.stats()).toMatchObject({ bytesUp: payload.length, bytesDown: payload.length, state: 'open', delayMs: 0 });
  });

  it('adds the delay to each direction, and a new delay applies to later data', async () => {
    const { proxy, port } = await echoBehindProxy({ delayMs: 50 });
    const socket = await openEcho(port);
    const first = await roundTripMs(socket, Buffer.from('ping'));
    expect(first).toBeGreaterThanOrEqual(100);
    expect(first).toBeLessThan(10_000);
    proxy.setDelay(120);
    const second = await roundTripMs(socket, Buffer.from('ping'));
    expect(second).toBeGreaterThanOrEqual(240);
    expect(second).toBeLessThan(10_000);
    expect(proxy.stats().delayMs).toBe(120);
  });

  it('keeps byte order when the delay drops while data is queued', async () => {
    const { proxy, port } = await echoBehindProxy({ delayMs: 200 });
    const socket = await openEcho(port);
    const received = collect(socket);
    const parts = Array.from({ length: 40 }, (_, i) => Buffer.from(`<${i}>`));
    for (const [i, part] of parts.entries()) {
      if (i === 20) proxy.setDelay(0);
      socket.write(part);
      await sleep(2);
    }
    const expected = Buffer.concat(parts);
    await waitFor(() => received.size() >= expected.length, 'every part to come back');
    expect(received.bytes().toString()).toBe(expected.toString());
  });

  it('rejects a bad delay with the valid range', () => {
    const proxy = new LinkProxy({ listen: '127.0.0.1:0', target: '127.0.0.1:1' });
    expect(() => proxy.setDelay(-1)).toThrow(/delay must be a number of milliseconds from 0/);
    expect(() => proxy.setDelay(Number.NaN)).toThrow(/delay must be/);
  });

  it('cut reset closes open connections at once and new connections close without data', async () => {
    const { proxy, port, echo } = await echoBehindProxy();
    const socket = await openEcho(port);
    expect(await roundTripMs(socket, Buffer.from('hi'))).toBeGreaterThanOrEqual(0);
    proxy.cut({ mode: 'reset' });
    await closed(socket);
    expect(proxy.stats().state).toBe('cut-reset');
    await waitFor(() => proxy.stats().connections === 0, 'the pairs to go');

    const acceptedBefore = echo.accepted();
    const fresh = await openEcho(port);
    const got = collect(fresh);
    fresh.write('anyone?');
    await closed(fresh);
    expect(got.size()).toBe(0);
    expect(echo.accepted()).toBe(acceptedBefore);

    proxy.restore();
    const again = await openEcho(port);
    expect(await roundTripMs(again, Buffer.from('back'))).toBeGreaterThanOrEqual(0);
    expect(proxy.stats().state).toBe('open');
  });

  it('blackhole accepts connections but forwards nothing; restore resumes held connections and new ones work', async () => {
    const { proxy, port, echo } = await echoBehindProxy();
    const existing = await openEcho(port);
    const existingGot = collect(existing);
    existing.write('before');
    await waitFor(() => existingGot.size() === 6, 'the echo before the cut');

    proxy.cut({ mode: 'blackhole' });
    expect(proxy.stats().state).toBe('cut-blackhole');
    const acceptedBefore = echo.accepted();
    const fresh = await openEcho(port);
    expect(fresh.failure).toBeUndefined();
    const freshGot = collect(fresh);
    fresh.write('during');
    existing.write('during');
    await sleep(300);
    expect(freshGot.size()).toBe(0);
    expect(existingGot.size()).toBe(6);
    expect(fresh.destroyed).toBe(false);
    expect(existing.destroyed).toBe(false);
    expect(echo.accepted()).toBe(acceptedBefore);
    expect(proxy.stats().connections).toBe(2);

    proxy.restore();
    await waitFor(() => freshGot.size() === 6 && existingGot.size() === 12, 'held data to flow after restore');
    expect(freshGot.bytes().toString()).toBe('during');
    expect(existingGot.bytes().toString()).toBe('beforeduring');
    const after = await openEcho(port);
    expect(await roundTripMs(after, Buffer.from('after'))).toBeGreaterThanOrEqual(0);
  });

  it('reset after blackhole closes the held connections', async () => {
    const { proxy, port } = await echoBehindProxy();
    proxy.cut({ mode: 'blackhole' });
    const held = await openEcho(port);
    await waitFor(() => proxy.stats().connections === 1, 'the held connection');
    proxy.cut({ mode: 'reset' });
    await closed(held);
  });

  it('carries 20 MB intact and in order through a delayed link while bounding what it queues', async () => {
    const highWaterBytes = 256 * 1024;
    const { proxy, port } = await echoBehindProxy({ delayMs: 20, highWaterBytes });
    const socket = await openEcho(port);
    const payload = randomBytes(20 * 1024 * 1024);
    const received = collect(socket);
    let maxQueued = 0;
    const sampler = setInterval(() => {
      maxQueued = Math.max(maxQueued, proxy.stats().bytesQueued);
    }, 2);
    try {
      socket.end(payload);
      await once(socket, 'end');
    } finally {
      clearInterval(sampler);
    }
    expect(received.size()).toBe(payload.length);
    expect(sha256(received.bytes())).toBe(sha256(payload));
    // Each direction may pass its mark by at most one read before its sender is paused: 64 KiB from the client,
    // up to the 1 MiB read buffer from the target.
    expect(maxQueued).toBeLessThanOrEqual(2 * highWaterBytes + 64 * 1024 + 1024 * 1024 + 64);
    expect(proxy.stats()).toMatchObject({ bytesUp: payload.length, bytesDown: payload.length });
  });

  it('closes the client at once when the target refuses', async () => {
    const echo = await startEchoServer();
    const deadPort = echo.port;
    await echo.close();
    const proxy = new LinkProxy({ listen: '127.0.0.1:0', target: { host: '127.0.0.1', port: deadPort } });
    cleanups.push(() => proxy.close());
    const { port } = await proxy.start();
    const socket = await openEcho(port);
    await closed(socket);
    await waitFor(() => proxy.stats().connections === 0, 'the pair to go');
  });

  it('close() is idempotent, resets connections, and a closed proxy does not start again', async () => {
    const { proxy, port } = await echoBehindProxy();
    const socket = await openEcho(port);
    await roundTripMs(socket, Buffer.from('x'));
    await Promise.all([proxy.close(), proxy.close()]);
    await proxy.close();
    await closed(socket);
    await expect(proxy.start()).resolves.toEqual({ port });
    const never = new LinkProxy({ listen: '127.0.0.1:0', target: '127.0.0.1:1' });
    await never.close();
    await expect(never.start()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('refuses bad options naming the field', () => {
    expect(() => new LinkProxy({ listen: 'nowhere', target: '127.0.0.1:1' })).toThrow(/listen: .*expected host:port/);
    expect(() => new LinkProxy({ listen: '127.0.0.1:0', target: '127.0.0.1:0' })).toThrow(/target: target port must not be 0/);
    expect(() => new LinkProxy({ listen: '127.0.0.1:0', target: '127.0.0.1:1', delayMs: -5 })).toThrow(/delayMs/);
    expect(() => new LinkProxy({ listen: '127.0.0.1:0', target: '127.0.0.1:1', delay: 5 } as never)).toThrow(/unknown field "delay"/);
  });
});
