import { Server, ServerCredentials } from '@grpc/grpc-js';
import { replicationServiceDefinition } from '@roomq/protocol';
import type { UpstreamServer } from '../src/index.js';

/** A real gRPC server serving `upstream`, on `port` (0 for any free one). */
export async function serve(upstream: UpstreamServer, port = 0): Promise<{ port: number; endpoint: string; stop(): Promise<void> }> {
  const server = new Server();
  server.addService(replicationServiceDefinition(), upstream.handlers());
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    port: bound,
    endpoint: `127.0.0.1:${bound}`,
    stop: async () => {
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
