import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHostPort, RoomqError, toRoomqError, type HostPort } from '@roomq/protocol';
import { pino, type Logger } from 'pino';
import type { LinkControl, LinkStats } from './link-proxy.js';

/**
 * The HTTP control API of running link proxies, so drills can drive them from another process. JSON in answers,
 * no request bodies; every change answers with the status after it.
 *
 *   GET  /status                               -> 200 { "links": [ { "name", "connections", "bytesUp", "bytesDown",
 *                                                                   "bytesQueued", "state", "delayMs" }, ... ] }
 *   POST /cut?mode=reset|blackhole[&link=NAME] -> 200 status (mode defaults to reset)
 *   POST /restore[?link=NAME]                  -> 200 status
 *   POST /delay?ms=N[&link=NAME]               -> 200 status
 *
 * Without `link` a change applies to every link. Errors answer { "error": { "code", "message" } } with 400 (bad
 * parameter), 404 (unknown path or link) or 405 (wrong method).
 */

export interface ControlStatus {
  links: Array<{ name: string } & LinkStats>;
}

export interface LinkControlServerOptions {
  /** Where to listen; port 0 picks a free one. */
  listen: HostPort;
  links: readonly LinkControl[];
  logger?: Logger;
}

type Status = 'new' | 'starting' | 'listening' | 'closing' | 'closed';

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly allow?: string,
  ) {
    super(message);
  }
}

export class LinkControlServer {
  private readonly logger: Logger;
  private readonly links: readonly LinkControl[];
  private server: Server | undefined;
  private status: Status = 'new';
  private starting: Promise<{ port: number }> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: LinkControlServerOptions) {
    const names = new Set<string>();
    for (const link of options.links) {
      if (names.has(link.name)) throw new RoomqError('CONFIG_INVALID', `two links are named ${JSON.stringify(link.name)}; give each link its own name`, { details: { link: link.name } });
      names.add(link.name);
    }
    this.links = options.links;
    this.logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'link-control' });
  }

  /** Starts listening; resolves with the port. Idempotent. */
  start(): Promise<{ port: number }> {
    this.starting ??= this.listen();
    return this.starting;
  }

  /** Stops listening and closes open control connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async listen(): Promise<{ port: number }> {
    if (this.status !== 'new') throw new RoomqError('CLOSED', 'link control server was closed; create a new one');
    this.setStatus('starting');
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.options.listen.host, port: this.options.listen.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.setStatus('closed');
      throw new RoomqError('UNAVAILABLE', `link control server cannot listen on ${formatHostPort(this.options.listen)}: ${(err as Error).message}; pick another control address`, {
        cause: err,
        details: { field: 'control' },
      });
    }
    if (this.currentStatus() !== 'starting') {
      server.close();
      throw new RoomqError('CLOSED', 'link control server was closed while starting');
    }
    const port = (server.address() as AddressInfo).port;
    this.setStatus('listening', { port });
    return { port };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    let body: unknown;
    let statusCode = 200;
    try {
      body = this.route(req);
    } catch (err) {
      if (err instanceof HttpError) {
        statusCode = err.statusCode;
        body = { error: { code: err.code, message: err.message } };
        if (err.allow !== undefined) res.setHeader('allow', err.allow);
      } else {
        const error = toRoomqError(err);
        statusCode = error.code === 'BAD_REQUEST' ? 400 : 500;
        body = { error: { code: error.code, message: error.message } };
      }
    }
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private route(req: IncomingMessage): ControlStatus {
    const url = new URL(req.url ?? '/', 'http://control');
    const method = req.method ?? 'GET';
    const expect = (wanted: 'GET' | 'POST'): void => {
      if (method !== wanted) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${url.pathname} takes ${wanted} only`, wanted);
    };
    switch (url.pathname) {
      case '/status':
        expect('GET');
        return this.snapshot();
      case '/cut': {
        expect('POST');
        const mode = url.searchParams.get('mode') ?? 'reset';
        if (mode !== 'reset' && mode !== 'blackhole') throw new HttpError(400, 'BAD_REQUEST', `mode must be reset or blackhole, got ${JSON.stringify(mode)}`);
        for (const link of this.selected(url)) link.cut({ mode });
        this.logger.info({ mode, link: url.searchParams.get('link') ?? '*' }, 'cut requested');
        return this.snapshot();
      }
      case '/restore':
        expect('POST');
        for (const link of this.selected(url)) link.restore();
        this.logger.info({ link: url.searchParams.get('link') ?? '*' }, 'restore requested');
        return this.snapshot();
      case '/delay': {
        expect('POST');
        const text = url.searchParams.get('ms');
        const delayMs = text === null || text.trim() === '' ? Number.NaN : Number(text);
        if (!Number.isFinite(delayMs) || delayMs < 0) throw new HttpError(400, 'BAD_REQUEST', `ms must be a number of milliseconds >= 0, e.g. /delay?ms=50; got ${JSON.stringify(text)}`);
        const links = this.selected(url);
        for (const link of links) link.setDelay(delayMs);
        this.logger.info({ delayMs, link: url.searchParams.get('link') ?? '*' }, 'delay requested');
        return this.snapshot();
      }
      default:
        throw new HttpError(404, 'NOT_FOUND', `no route ${url.pathname}; use GET /status, POST /cut, POST /restore or POST /delay`);
    }
  }

  private selected(url: URL): readonly LinkControl[] {
    const name = url.searchParams.get('link');
    if (name === null) return this.links;
    const link = this.links.find((l) => l.name === name);
    if (!link) throw new HttpError(404, 'LINK_NOT_FOUND', `no link named ${JSON.stringify(name)}; GET /status lists them`);
    return [link];
  }

  private snapshot(): ControlStatus {
    return { links: this.links.map((link) => ({ name: link.name, ...link.stats() })) };
  }

  private async shutdown(): Promise<void> {
    if (this.status === 'closed') return;
    this.setStatus('closing');
    const server = this.server;
    if (server?.listening) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    this.setStatus('closed');
  }

  /** Read through a call so checks after an await are not narrowed by checks before it. */
  private currentStatus(): Status {
    return this.status;
  }

  private setStatus(status: Status, fields: Record<string, unknown> = {}): void {
    this.logger.info({ ...fields, status, previousStatus: this.status }, 'link control server status changed');
    this.status = status;
  }
}
