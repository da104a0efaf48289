import type { ClientReadableStream } from '@grpc/grpc-js';
import { RoomqError, fromGrpcError, type Logger, type Retrier, type WatchEventMsg } from '@roomq/protocol';
import type { RouterClient } from './router-client.js';

/** A hint from a router that a route or an assignment may have changed; the receiver refetches. */
export interface WatchEvent {
  kind: 'route' | 'assignment';
  /** Empty: any topic. */
  topic: string;
  group: string;
  version: number;
}

export interface RouteWatcherOptions {
  router: RouterClient;
  clientId: string;
  /** Paces reconnects after the stream broke. */
  retrier: Retrier;
  logger: Logger;
  onEvent(event: WatchEvent): void;
  /** The stream (re)connected: events may have been missed while it was down, so refetch everything. */
  onResync(): void;
  /** A change of topics or groups reopens the stream after this delay, so a burst of new topics reopens it once. */
  reopenDelayMs?: number;
}

/** Interest changes within this window reopen the Watch stream once. */
const DEFAULT_REOPEN_DELAY_MS = 50;

/**
 * Keeps one RouteService.Watch stream open to the current router, for the topics and groups this client
 * uses. When the stream breaks it reconnects after a backoff, to the next router when this one is
 * unreachable; each (re)connection asks the owner to resync, since events may have been missed meanwhile.
 */
export class RouteWatcher {
  private topics: string[] = [];
  private groups: string[] = [];
  private call: ClientReadableStream<WatchEventMsg> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private started = false;
  private closed = false;
  private live = false;

  constructor(private readonly options: RouteWatcherOptions) {}

  /** True while a stream is open and the router has spoken on it. */
  get connected(): boolean {
    return this.live;
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.open();
  }

  setInterest(topics: readonly string[], groups: readonly string[] = []): void {
    const t = [...new Set(topics)].sort();
    const g = [...new Set(groups)].sort();
    if (sameList(t, this.topics) && sameList(g, this.groups)) return;
    this.topics = t;
    this.groups = g;
    if (!this.started || this.closed || this.timer) return;
    this.schedule(this.options.reopenDelayMs ?? DEFAULT_REOPEN_DELAY_MS);
  }

  close(): void {
    this.closed = true;
    this.live = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const call = this.call;
    this.call = undefined;
    cancelQuietly(call);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, delayMs);
    this.timer.unref();
  }

  private open(): void {
    if (this.closed) return;
    const previous = this.call;
    this.call = undefined;
    this.live = false;
    cancelQuietly(previous);
    const endpoint = this.options.router.current();
    let call: ClientReadableStream<WatchEventMsg>;
    try {
      call = this.options.router.watch(endpoint, { client_id: this.options.clientId, topics: this.topics, groups: this.groups });
    } catch (err) {
      this.broken(undefined, endpoint, new RoomqError('UNAVAILABLE', `cannot open a watch stream to router ${endpoint}`, { cause: err, details: { endpoint } }));
      return;
    }
    this.call = call;
    call.on('data', (event: WatchEventMsg) => {
      if (this.call !== call) return;
      if (!this.live) {
        this.live = true;
        this.failures = 0;
        this.options.logger.info({ router: endpoint, topics: this.topics.length, groups: this.groups.length }, 'watching routes');
        this.options.onResync();
      }
      if (event.kind === 'route' || event.kind === 'assignment') {
        this.options.logger.debug({ kind: event.kind, topic: event.topic, group: event.group, version: event.version }, 'watch event');
        this.options.onEvent({ kind: event.kind, topic: event.topic ?? '', group: event.group ?? '', version: event.version ?? 0 });
      }
    });
    call.on('error', (err: unknown) => {
      if (this.call === call) this.broken(call, endpoint, fromGrpcError(err, { endpoint }));
    });
    call.on('end', () => {
      if (this.call === call) this.broken(call, endpoint, new RoomqError('UNAVAILABLE', `router ${endpoint} ended the watch stream`, { details: { endpoint } }), false);
    });
  }

  private broken(call: ClientReadableStream<WatchEventMsg> | undefined, endpoint: string, err: RoomqError, routerGone = true): void {
    this.call = undefined;
    this.live = false;
    cancelQuietly(call);
    if (this.closed) return;
    this.failures++;
    if (routerGone && (err.code === 'UNAVAILABLE' || err.code === 'NOT_IMPLEMENTED')) this.options.router.markUnavailable(endpoint);
    const delayMs = this.options.retrier.delayMs(this.failures);
    const level = this.failures === 1 ? 'warn' : 'debug';
    this.options.logger[level]({ router: endpoint, code: err.code, err, delayMs }, 'watch stream broken; reconnecting (routes are still refreshed periodically)');
    if (!this.timer) this.schedule(delayMs);
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function cancelQuietly(call: ClientReadableStream<WatchEventMsg> | undefined): void {
  if (!call) return;
  try {
    call.cancel();
  } catch {
    // Already finished.
  }
}
