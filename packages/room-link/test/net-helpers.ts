import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** An echo server on port 0: writes back everything it reads and ends when its peer ends. */
export async function startEchoServer(): Promise<{ server: Server; port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connects to 127.0.0.1:port and resolves once connected; errors are recorded, not thrown. */
export async function connect(port: number): Promise<Socket & { failure?: Error }> {
  const socket = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true }) as Socket & { failure?: Error };
  socket.on('error', (err) => {
    socket.failure = err;
  });
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  return socket;
}

/** Collects everything a socket reads. */
export function collect(socket: Socket): { bytes: () => Buffer; size: () => number } {
  const chunks: Buffer[] = [];
  let size = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  return { bytes: () => Buffer.concat(chunks), size: () => size };
}

/** Waits until `condition` holds, polling; fails with `what` after the deadline. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves once the socket has closed. */
export async function closed(socket: Socket, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => socket.destroyed || socket.closed, 'the socket to close', timeoutMs);
}

/** Sends `payload` and resolves with the time until as many bytes came back, in ms. */
export async function roundTripMs(socket: Socket, payload: Buffer): Promise<number> {
  const started = performance.now();
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received >= payload.length) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve();
      }
    };
    const onClose = (): void => reject(new Error('socket closed during a round trip'));
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(payload);
  });
  return performance.now() - started;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
