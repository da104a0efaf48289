import type { OnReadOpts, Socket } from 'node:net';
import { sharedOnRead } from '@roomq/protocol';
import type { Logger } from 'pino';
import { DelayedPipe } from './delayed-pipe.js';

export interface LinkPairOptions {
  /**
   * Opens the connection to the target, reading with `onread` (net.connect's option); called once, when the pair
   * is connected through.
   */
  connectUpstream: (onread: OnReadOpts) => Socket;
  delayMs: () => number;
  highWaterBytes: number;
  logger: Logger;
  onBytesUp: (sizeBytes: number) => void;
  onBytesDown: (sizeBytes: number) => void;
  /** Called once, when both sockets are gone. */
  onClosed: (pair: LinkPair) => void;
}

/**
 * One accepted connection and its connection to the target, joined by two delayed pipes (up: client to target,
 * down: target to client). Half-closes pass through: a FIN from one side is delivered, delayed, after that side's
 * data. An error or reset on either side resets the other, as a broken path would.
 *
 * A pair can be frozen (a partition: both sockets stay open and silent, nothing is read or forwarded) and thawed;
 * a pair accepted while its link was blackholed starts frozen and only connects to the target when thawed, like a
 * SYN that gets through once the partition heals.
 */
export class LinkPair {
  private upstream: Socket | undefined;
  private up: DelayedPipe | undefined;
  private down: DelayedPipe | undefined;
  private frozen = false;
  private closed = false;

  constructor(
    private readonly client: Socket,
    private readonly options: LinkPairOptions,
  ) {
    client.pause();
    client.on('error', (err) => this.failed('client', err));
    client.on('close', () => this.socketClosed());
  }

  /** Bytes read and not yet forwarded, both directions. */
  get bytesQueued(): number {
    return (this.up?.bytesQueued ?? 0) + (this.down?.bytesQueued ?? 0);
  }

  /** Connects to the target and starts forwarding, unless frozen (then thaw() does it). */
  open(): void {
    if (this.closed || this.frozen || this.upstream !== undefined) return;
    const client = this.client;
    // The target's side carries the bulk of a replication link (the log, to a replica behind the proxy): it is
    // read in big reads into the process's shared buffer (sharedOnRead), each copied out once, instead of a
    // fresh 64 KiB buffer and a stream event per piece, which cost this process several times the copy.
    let down: DelayedPipe | undefined;
    const upstream = this.options.connectUpstream(
      sharedOnRead((bytes) => {
        down?.push(Buffer.from(bytes));
        return true;
      }),
    );
    this.upstream = upstream;
    upstream.pause();
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.on('error', (err) => this.failed('target', err));
    upstream.on('close', () => this.socketClosed());
    const delayMs = this.options.delayMs;
    const highWaterBytes = this.options.highWaterBytes;
    const up = new DelayedPipe(client, upstream, { delayMs, highWaterBytes, onForwarded: this.options.onBytesUp });
    down = new DelayedPipe(upstream, client, { delayMs, highWaterBytes, onForwarded: this.options.onBytesDown });
    this.up = up;
    this.down = down;
    client.on('data', (chunk: Buffer) => up.push(chunk));
    client.on('end', () => up.end());
    upstream.on('end', () => down?.end());
    up.start();
    down.start();
  }

  /** Holds both directions silent; see the class comment. */
  freeze(): void {
    if (this.closed || this.frozen) return;
    this.frozen = true;
    this.up?.hold();
    this.down?.hold();
  }

  thaw(): void {
    if (this.closed || !this.frozen) return;
    this.frozen = false;
    if (this.upstream === undefined) {
      this.open();
      return;
    }
    this.up?.release();
    this.down?.release();
  }

  /** Closes both sockets at once with a TCP reset; queued data is dropped. */
  reset(): void {
    if (this.closed) return;
    this.up?.destroy();
    this.down?.destroy();
    resetSocket(this.client);
    if (this.upstream !== undefined) resetSocket(this.upstream);
  }

  private failed(side: 'client' | 'target', err: Error): void {
    this.options.logger.debug({ side, err }, 'link connection failed; resetting the other side');
    this.reset();
  }

  private socketClosed(): void {
    // A socket that closed can take no more writes: stop the pipe feeding it. The pipe it fed keeps draining,
    // so data and FIN still reach the other side after the delay.
    if (this.client.destroyed) this.down?.destroy();
    if (this.upstream?.destroyed) this.up?.destroy();
    const upstreamGone = this.upstream === undefined || this.upstream.destroyed;
    if (this.closed || !this.client.destroyed || !upstreamGone) return;
    this.closed = true;
    this.options.onClosed(this);
  }
}

function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
