import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedOnRead } from '../src/shared-read.js';

let server: Server | undefined;
afterEach(() => server?.close());

describe('sharedOnRead', () => {
  it('lets many sockets read into one buffer: what each copies out is its own bytes, whole and in order', async () => {
    const payloads = [randomBytes(3 * 1024 * 1024), randomBytes(2 * 1024 * 1024 + 7), randomBytes(100)];
    let next = 0;
    server = createServer((socket) => socket.end(payloads[next++]));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const read = (): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const parts: Buffer[] = [];
        const socket: Socket = connect({
          host: '127.0.0.1',
          port,
          onread: sharedOnRead((bytes) => {
            parts.push(Buffer.from(bytes)); // copied out before the callback returns, as the contract says
            return true;
          }),
        });
        socket.on('end', () => resolve(Buffer.concat(parts)));
        socket.on('error', reject);
      });
    // Connected one after another so each gets the payload of its own index, then read at the same time.
    const reads: Array<Promise<Buffer>> = [];
    for (let i = 0; i < payloads.length; i++) {
      reads.push(read());
      await new Promise((r) => setTimeout(r, 20));
    }
    const got = await Promise.all(reads);
    for (let i = 0; i < payloads.length; i++) expect(got[i]!.equals(payloads[i]!), `socket ${i}`).toBe(true);
  });
});
