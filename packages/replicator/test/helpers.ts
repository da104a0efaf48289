import type { Socket } from 'node:net';
import { Server } from '@grpc/grpc-js';
import { listenSniffing } from '@roomq/protocol';
import type { UpstreamServer } from '../src/index.js';

/**
 * A real listener serving `upstream`, on `port` (0 for any free one), as a broker's port does. stop() drops
 * every connection at once, as a dead upstream process would.
 */
export async function serve(upstream: UpstreamServer, port = 0): Promise<{ port: number; endpoint: string; stop(): Promise<void> }> {
  const server = new Server();
  const sockets = new Set<Socket>();
  const protocol = upstream.protocol();
  const listener = await listenSniffing('127.0.0.1', port, server, [
    {
      preface: protocol.preface,
      accept: (socket, rest) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        protocol.accept(socket, rest);
      },
    },
  ]);
  return {
    port: listener.port,
    endpoint: `127.0.0.1:${listener.port}`,
    stop: async () => {
      await listener.close();
      for (const socket of sockets) socket.destroy();
      server.forceShutdown();
    },
  };
}

/** Waits until `condition()` holds, polling; fails with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const FAST_BACKOFF = { initialDelayMs: 20, maxDelayMs: 200, multiplier: 2, jitter: 0.5 };

/** A Logger that keeps every line, for asserting what operators would read. */
export function captureLogger(): { logger: import('../src/index.js').Logger; lines: Array<{ level: string; msg: string | undefined; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string | undefined; fields: Record<string, unknown> }> = [];
  const make = (bindings: Record<string, unknown>): import('../src/index.js').Logger => {
    const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, msg, fields: { ...bindings, ...(obj as Record<string, unknown>) } });
    return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return { logger: make({}), lines };
}
