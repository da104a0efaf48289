import { afterEach, describe, expect, it } from 'vitest';
import { runLinkProxies, type ControlStatus, type RunningLinkProxies } from '../src/index.js';
import { closed, connect, roundTripMs, sleep, startEchoServer, waitFor } from './net-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function twoLinks(): Promise<RunningLinkProxies> {
  const a = await startEchoServer();
  const b = await startEchoServer();
  cleanups.push(a.close, b.close);
  const running = await runLinkProxies({
    delayMs: 5,
    links: [
      { name: 'dc1-dc2-a', listen: '127.0.0.1:0', target: `127.0.0.1:${a.port}` },
      { name: 'dc1-dc2-b', listen: '127.0.0.1:0', target: `127.0.0.1:${b.port}`, delayMs: 0 },
    ],
  });
  cleanups.push(() => running.close());
  return running;
}

async function call(running: RunningLinkProxies, method: 'GET' | 'POST', path: string): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`http://127.0.0.1:${running.control.port}${path}`, { method });
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const linkNamed = (body: Record<string, any>, name: string): ControlStatus['links'][number] => (body as ControlStatus).links.find((l) => l.name === name)!;

describe('link control API', () => {
  it('reports every link', async () => {
    const running = await twoLinks();
    const { status, body } = await call(running, 'GET', '/status');
    expect(status).toBe(200);
    expect(body.links).toEqual([
      { name: 'dc1-dc2-a', connections: 0, bytesUp: 0, bytesDown: 0, bytesQueued: 0, state: 'open', delayMs: 5 },
      { name: 'dc1-dc2-b', connections: 0, bytesUp: 0, bytesDown: 0, bytesQueued: 0, state: 'open', delayMs: 0 },
    ]);
  });

  it('sets the delay of one link or of all', async () => {
    const running = await twoLinks();
    const one = await call(running, 'POST', '/delay?ms=60&link=dc1-dc2-b');
    expect(one.status).toBe(200);
    expect(linkNamed(one.body, 'dc1-dc2-b').delayMs).toBe(60);
    expect(linkNamed(one.body, 'dc1-dc2-a').delayMs).toBe(5);
    const socket = await connect(running.links[1]!.listen.port);
    cleanups.push(async () => void socket.destroy());
    expect(await roundTripMs(socket, Buffer.from('ping'))).toBeGreaterThanOrEqual(120);
    const all = await call(running, 'POST', '/delay?ms=7');
    expect((all.body as ControlStatus).links.map((l) => l.delayMs)).toEqual([7, 7]);
  });

  it('cuts and restores links', async () => {
    const running = await twoLinks();
    const port = running.links[0]!.listen.port;
    const socket = await connect(port);
    cleanups.push(async () => void socket.destroy());
    await roundTripMs(socket, Buffer.from('hi'));

    const cut = await call(running, 'POST', '/cut?mode=reset&link=dc1-dc2-a');
    expect(linkNamed(cut.body, 'dc1-dc2-a').state).toBe('cut-reset');
    expect(linkNamed(cut.body, 'dc1-dc2-b').state).toBe('open');
    await closed(socket);

    const blackhole = await call(running, 'POST', '/cut?mode=blackhole');
    expect((blackhole.body as ControlStatus).links.map((l) => l.state)).toEqual(['cut-blackhole', 'cut-blackhole']);
    const held = await connect(port);
    cleanups.push(async () => void held.destroy());
    let got = 0;
    held.on('data', (c: Buffer) => (got += c.length));
    held.write('hello');
    await sleep(200);
    expect(got).toBe(0);

    const restored = await call(running, 'POST', '/restore');
    expect((restored.body as ControlStatus).links.map((l) => l.state)).toEqual(['open', 'open']);
    await waitFor(() => got === 5, 'the held connection to be echoed after restore');
    const fresh = await connect(port);
    cleanups.push(async () => void fresh.destroy());
    expect(await roundTripMs(fresh, Buffer.from('again'))).toBeGreaterThanOrEqual(0);
  });

  it('answers bad requests with a code and what to do', async () => {
    const running = await twoLinks();
    const badMode = await call(running, 'POST', '/cut?mode=sideways');
    expect(badMode.status).toBe(400);
    expect(badMode.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/reset or blackhole/) });
    const badDelay = await call(running, 'POST', '/delay?ms=soon');
    expect(badDelay.status).toBe(400);
    const missingDelay = await call(running, 'POST', '/delay');
    expect(missingDelay.status).toBe(400);
    const hugeDelay = await call(running, 'POST', '/delay?ms=99999999');
    expect(hugeDelay.status).toBe(400);
    const unknownLink = await call(running, 'POST', '/restore?link=nope');
    expect(unknownLink.status).toBe(404);
    expect(unknownLink.body.error.code).toBe('LINK_NOT_FOUND');
    const unknownPath = await call(running, 'GET', '/links');
    expect(unknownPath.status).toBe(404);
    const wrongMethod = await call(running, 'GET', '/cut');
    expect(wrongMethod.status).toBe(405);
    const status = await call(running, 'GET', '/status');
    expect((status.body as ControlStatus).links.map((l) => l.state)).toEqual(['open', 'open']);
  });

  it('refuses a bad config naming the field', async () => {
    await expect(runLinkProxies({ links: [{ name: 'x', listen: '127.0.0.1:0', target: 'nowhere' }] })).rejects.toThrow(/links\.0\.target: expected host:port/);
    await expect(runLinkProxies({ links: [] })).rejects.toThrow(/links: name at least one link/);
    await expect(
      runLinkProxies({
        links: [
          { name: 'x', listen: '127.0.0.1:0', target: '127.0.0.1:1' },
          { name: 'x', listen: '127.0.0.1:0', target: '127.0.0.1:2' },
        ],
      }),
    ).rejects.toThrow(/links\.1\.name: duplicate link name "x"/);
  });
});
