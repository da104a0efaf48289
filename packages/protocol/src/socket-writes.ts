import type { Socket } from 'node:net';

/**
 * Writes `buffers` (one frame: a header and the bulk bytes it describes, never copied together) as one corked
 * write, and returns what the last write() returned: false asks the caller to wait for 'drain'. A destroyed
 * socket takes nothing and returns true; its 'close' tells the owner.
 */
export function writeBuffers(socket: Socket, buffers: readonly Buffer[]): boolean {
  if (socket.destroyed) return true;
  if (buffers.length === 1) return socket.write(buffers[0]!);
  socket.cork();
  for (let i = 0; i < buffers.length - 1; i++) socket.write(buffers[i]!);
  const ok = socket.write(buffers[buffers.length - 1]!);
  socket.uncork();
  return ok;
}
