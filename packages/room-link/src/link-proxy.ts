import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { formatHostPort, RoomqError, type HostPort } from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import { DelayMsSchema, parseLinkProxyOptions, type CutMode, type LinkProxyOptions, type LinkState, type ResolvedLinkProxyOptions } from './link-options.js';
import { LinkPair } from './link-pair.js';

/** What stats() and the control API report about one link. */
export interface LinkStats {
  /** Open connection pairs, including ones held silent by a blackhole. */
  connections: number;
  /** Bytes forwarded from clients to the target. */
  bytesUp: number;
  /** Bytes forwarded from the target to clients. */
  bytesDown: number;
  /** Bytes read and waiting for their delay (or a restore) in either direction. */
  bytesQueued: number;
  state: LinkState;
  delayMs: number;
}

export interface CutOptions {
  /** `reset` (default) or `blackhole`; see LinkProxy.cut. */
  mode?: CutMode;
}

/** What the control API drives; LinkProxy is one. */
export interface LinkControl {
  readonly name: string;
  stats(): LinkStats;
  cut(options?: CutOptions): void;
  restore(): void;
  setDelay(delayMs: number): void;
}

type Status = 'new' | 'starting' | 'listening' | 'closing' | 'closed';

/**
 * A TCP proxy on one link between rooms: listens on `listen` and forwards every connection to `target`, adding a
 * one-way delay to each direction; a drill can cut the link and restore it while it runs.
 *
 * ```ts
 * const link = new LinkProxy({ name: 'dc1-dc2', listen: '127.0.0.1:0', target: '10.0.2.5:8081', delayMs: 5 });
 * const { port } = await link.start();
 * link.cut({ mode: 'blackhole' }); // a partition
 * link.restore();
 * await link.close();
 * ```
 */
export class LinkProxy implements LinkControl {
  readonly name: string;
  private readonly options: ResolvedLinkProxyOptions;
  private readonly logger: Logger;
  private readonly pairs = new Set<LinkPair>();
  private status: Status = 'new';
  private state: LinkState = 'open';
  private delayMs: number;
  private bytesUp = 0;
  private bytesDown = 0;
  private server: Server | undefined;
  private starting: Promise<{ port: number }> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: LinkProxyOptions) {
    this.options = parseLinkProxyOptions(options);
    this.name = this.options.name;
    this.delayMs = this.options.delayMs;
    this.logger = (this.options.logger ?? pino({ level: 'silent' })).child({
      component: 'link-proxy',
      link: this.name,
      target: formatHostPort(this.options.target),
    });
  }

  /** Starts listening; resolves with the port listened on (the chosen one when `listen` has port 0). Idempotent. */
  start(): Promise<{ port: number }> {
    this.starting ??= this.listen();
    return this.starting;
  }

  /** The address listened on; only once start() has resolved. */
  address(): HostPort {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new RoomqError('UNAVAILABLE', `link ${this.name} is not listening; await start() first`, { details: { link: this.name } });
    return { host: address.address, port: address.port };
  }

  /**
   * Sets the one-way delay added to each direction. Data read after the call gets the new delay; data already
   * queued keeps its own, and byte order is kept either way.
   */
  setDelay(delayMs: number): void {
    const parsed = DelayMsSchema.safeParse(delayMs);
    if (!parsed.success) {
      throw new RoomqError('BAD_REQUEST', `link ${this.name}: delay must be a number of milliseconds from 0 to 3600000, got ${String(delayMs)}`, {
        details: { link: this.name, field: 'delayMs' },
      });
    }
    if (parsed.data === this.delayMs) return;
    this.logger.info({ delayMs: parsed.data, previousDelayMs: this.delayMs }, 'link delay changed');
    this.delayMs = parsed.data;
  }

  /**
   * Cuts the link.
   * - `reset` (default): every open connection is closed at once with a TCP reset on both sides, and new
   *   connections are accepted and reset at once, as a link whose far end refuses.
   * - `blackhole`: what a partitioned WAN link looks like. Open connections stay open but go silent both ways
   *   (nothing is read or forwarded, so senders' windows fill); new connections are accepted but not connected
   *   through. Nobody sees a close; peers find out only through their own timeouts.
   * Cutting a cut link switches its mode (blackhole then reset resets the held connections).
   */
  cut(options: CutOptions = {}): void {
    const mode = options.mode ?? 'reset';
    this.setState(mode === 'reset' ? 'cut-reset' : 'cut-blackhole');
    for (const pair of this.pairs) {
      if (mode === 'reset') pair.reset();
      else pair.freeze();
    }
  }

  /**
   * Reopens a cut link. Connections held by a blackhole resume where they stopped (those accepted during the
   * blackhole are connected to the target now, with whatever their clients sent meanwhile), as TCP does when a
   * partition heals before anyone timed out.
   */
  restore(): void {
    this.setState('open');
    for (const pair of this.pairs) pair.thaw();
  }

  stats(): LinkStats {
    let bytesQueued = 0;
    for (const pair of this.pairs) bytesQueued += pair.bytesQueued;
    return {
      connections: this.pairs.size,
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      bytesQueued,
      state: this.state,
      delayMs: this.delayMs,
    };
  }

  /** Stops listening and resets every connection. Idempotent; a proxy never started just becomes closed. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async listen(): Promise<{ port: number }> {
    if (this.status !== 'new') throw new RoomqError('CLOSED', `link ${this.name} was closed; create a new LinkProxy`, { details: { link: this.name } });
    this.setStatus('starting');
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    this.server = server;
    const { host, port } = this.options.listen;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.setStatus('closed');
      throw new RoomqError('UNAVAILABLE', `link ${this.name} cannot listen on ${formatHostPort(this.options.listen)}: ${(err as Error).message}; pick another listen address`, {
        cause: err,
        details: { link: this.name, field: 'listen' },
      });
    }
    server.on('error', (err) => this.logger.error({ err }, 'link listener failed'));
    if (this.currentStatus() !== 'starting') {
      // close() ran while we were binding and found nothing listening yet.
      server.close();
      throw new RoomqError('CLOSED', `link ${this.name} was closed while starting`, { details: { link: this.name } });
    }
    const bound = this.address();
    this.setStatus('listening', { listen: formatHostPort(bound), delayMs: this.delayMs });
    return { port: bound.port };
  }

  private accept(client: Socket): void {
    if (this.status !== 'listening' || this.state === 'cut-reset') {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const pair = new LinkPair(client, {
      connectUpstream: (onread) => createConnection({ host: this.options.target.host, port: this.options.target.port, allowHalfOpen: true, onread }),
      delayMs: () => this.delayMs,
      highWaterBytes: this.options.highWaterBytes,
      logger: this.logger,
      onBytesUp: (sizeBytes) => {
        this.bytesUp += sizeBytes;
      },
      onBytesDown: (sizeBytes) => {
        this.bytesDown += sizeBytes;
      },
      onClosed: (closed) => {
        this.pairs.delete(closed);
        this.logger.trace({ connections: this.pairs.size }, 'link connection closed');
      },
    });
    this.pairs.add(pair);
    this.logger.trace({ remote: `${client.remoteAddress}:${client.remotePort}`, connections: this.pairs.size }, 'link connection accepted');
    if (this.state === 'cut-blackhole') pair.freeze();
    pair.open();
  }

  private async shutdown(): Promise<void> {
    if (this.status === 'closed') return;
    this.setStatus('closing');
    for (const pair of this.pairs) {
      try {
        pair.reset();
      } catch (err) {
        this.logger.warn({ err }, 'resetting a link connection failed while closing');
      }
    }
    const server = this.server;
    if (server?.listening) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.pairs.clear();
    this.setStatus('closed');
  }

  private setState(state: LinkState): void {
    if (state === this.state) return;
    this.logger.info({ state, previousState: this.state, connections: this.pairs.size }, 'link state changed');
    this.state = state;
  }

  /** Read through a call so checks after an await are not narrowed by checks before it. */
  private currentStatus(): Status {
    return this.status;
  }

  private setStatus(status: Status, fields: Record<string, unknown> = {}): void {
    this.logger.info({ ...fields, status, previousStatus: this.status }, 'link proxy status changed');
    this.status = status;
  }
}
