import type { OnReadOpts } from 'node:net';

/**
 * Most bytes one read brings: a replication chunk (up to 1 MiB of records and its frame header) or a subscribe
 * batch of a backlog arrives in one read and one callback, instead of a fresh 64 KiB buffer and a trip through
 * the socket's stream per piece (a 218 KB chunk cost the reading process 230 µs of CPU that way, 85 µs this way,
 * on the 2-core VM the bench runs on).
 */
export const SHARED_READ_BYTES = 1024 * 1024 + 64;

let shared: Buffer | undefined;

/**
 * `onread` options for net.connect that read into one buffer shared by every such socket of the process, and
 * hand `receive` a view of what was read. Sharing is safe because a read callback runs to its end before any
 * socket reads again: `receive` must copy out whatever it keeps before it returns. It returns false to pause
 * the socket, as the callback does.
 */
export function sharedOnRead(receive: (bytes: Buffer) => boolean): OnReadOpts {
  shared ??= Buffer.allocUnsafe(SHARED_READ_BYTES);
  const buffer = shared;
  return { buffer, callback: (n: number) => receive(buffer.subarray(0, n)) };
}
