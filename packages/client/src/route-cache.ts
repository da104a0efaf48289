import type { Logger } from '@roomq/protocol';
import type { RouteSource } from './route-source.js';
import { sameRoute, type TopicRoute } from './topic-route.js';

/** Refreshes after errors are at most this frequent per topic, so a dead broker does not flood the routers. */
export const MIN_ROUTE_REFRESH_INTERVAL_MS = 500;

interface Entry {
  route?: TopicRoute;
  fetchedAtMs: number;
  pending?: Promise<TopicRoute> | undefined;
  /** A change was announced while a fetch was on its way: that answer may predate it, so fetch again. */
  stale?: boolean;
}

export interface RouteCacheOptions {
  refreshMs: number;
  logger: Logger;
  minRefreshIntervalMs?: number;
  now?: () => number;
  /** Called when a refresh brings a route that differs from the cached one. */
  onChange?: (route: TopicRoute) => void;
  /** Called for every fetched route that differs from the cached one, the first one included. */
  onRoute?: (route: TopicRoute, previous: TopicRoute | undefined) => void;
  /** Called when a topic is first asked for (its route may still be loading). */
  onTopicAdded?: (topic: string) => void;
}

/**
 * Topic routes, cached: fetched on first use, again at once when a router announces a change
 * (`invalidate`), on demand after errors, and every `refreshMs` as a fallback. Concurrent fetches of one
 * topic share one request.
 */
export class RouteCache {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly source: RouteSource,
    private readonly options: RouteCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Starts the periodic refresh of every topic used so far. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const topic of this.entries.keys()) {
        this.refresh(topic).catch((err: unknown) => this.options.logger.warn({ topic, err }, 'periodic route refresh failed; keeping the previous route'));
      }
    }, this.options.refreshMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Topics asked for so far. */
  topics(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * A router says the route may have changed: fetch it now, whatever the minimum interval, or right after the
   * fetch in progress (whose answer may predate the change). Failures keep the previous route.
   */
  invalidate(topic: string): void {
    const entry = this.entries.get(topic);
    if (!entry) return;
    if (entry.pending) {
      entry.stale = true;
      return;
    }
    this.fetch(topic).catch((err: unknown) => this.options.logger.warn({ topic, err }, 'route refresh after a change failed; keeping the previous route'));
  }

  /** The cached route, without waiting. */
  peek(topic: string): TopicRoute | undefined {
    return this.entries.get(topic)?.route;
  }

  /** The cached route, or a fresh one if the topic has none yet. */
  get(topic: string, signal?: AbortSignal): Promise<TopicRoute> {
    const entry = this.entries.get(topic);
    if (entry?.route) return Promise.resolve(entry.route);
    return this.fetch(topic, signal);
  }

  /** Fetches the route again unless that happened moments ago; concurrent callers share the request. */
  refresh(topic: string, signal?: AbortSignal): Promise<TopicRoute> {
    const entry = this.entries.get(topic);
    if (entry?.route && !entry.pending && this.now() - entry.fetchedAtMs < (this.options.minRefreshIntervalMs ?? MIN_ROUTE_REFRESH_INTERVAL_MS)) {
      return Promise.resolve(entry.route);
    }
    return this.fetch(topic, signal);
  }

  private fetch(topic: string, signal?: AbortSignal): Promise<TopicRoute> {
    let entry = this.entries.get(topic);
    if (entry?.pending) return entry.pending;
    if (!entry) {
      entry = { fetchedAtMs: 0 };
      this.entries.set(topic, entry);
      this.options.onTopicAdded?.(topic);
    }
    const target = entry;
    target.stale = false;
    const pending = this.source.queryRoute(topic, signal).then(
      (route) => {
        target.pending = undefined;
        target.fetchedAtMs = this.now();
        const previous = target.route;
        target.route = route;
        if (!previous || !sameRoute(previous, route)) {
          this.options.logger.info({ topic, queues: route.queues.length, spilled: route.spilled, version: route.version }, previous ? 'route changed' : 'route loaded');
          this.options.onRoute?.(route, previous);
          if (previous) this.options.onChange?.(route);
        }
        if (target.stale) this.invalidate(topic);
        return route;
      },
      (err: unknown) => {
        target.pending = undefined;
        if (!target.route) this.entries.delete(topic);
        else if (target.stale) this.invalidate(topic);
        throw err;
      },
    );
    target.pending = pending;
    return pending;
  }
}
