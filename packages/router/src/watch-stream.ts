import type { ServerWritableStream } from '@grpc/grpc-js';
import type { WatchEventMsg, WatchRequestMsg } from '@roomq/protocol';
import type { Logger } from 'pino';
import type { RouteEvent, RouteEvents } from './route-events.js';

/** At most one batch of events per this interval per stream; bursts of changes become one hint each. */
export const WATCH_MIN_INTERVAL_MS = 100;
/** Above this many distinct pending route hints, they collapse into one "any topic" hint. */
const MAX_PENDING_ROUTE_HINTS = 16;

export interface WatchInterest {
  /** Empty: every topic. */
  topics: ReadonlySet<string>;
  /** Groups to send assignment hints for; empty: none. */
  groups: ReadonlySet<string>;
}

/**
 * One client's Watch stream: `hello` at once, then coalesced `route` / `assignment` hints. Events are hints,
 * not state, so pending ones are a set keyed by what they name, and a slow reader (write() === false) is simply
 * sent the merged set after 'drain': memory per stream is bounded by its interest, never by the event rate.
 */
export class WatchStream {
  private readonly pending = new Map<string, WatchEventMsg>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastFlushMs = 0;
  private waitingForDrain = false;
  private ended = false;

  constructor(
    private readonly call: ServerWritableStream<WatchRequestMsg, WatchEventMsg>,
    private readonly interest: WatchInterest,
    private readonly events: RouteEvents,
    private readonly logger: Logger,
    private readonly onEnd: (stream: WatchStream) => void,
  ) {}

  start(): void {
    this.call.on('cancelled', () => this.end());
    this.call.on('close', () => this.end());
    this.call.on('error', (err) => {
      this.logger.debug({ err }, 'watch stream error');
      this.end();
    });
    this.unsubscribe = this.events.subscribe((event, version) => this.onEvent(event, version));
    this.lastFlushMs = Date.now();
    this.write({ kind: 'hello', topic: '', group: '', version: this.events.version });
  }

  /** Ends the stream (router closing or client gone). Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.pending.clear();
    try {
      this.call.end();
    } catch {
      // the call is already gone
    }
    this.onEnd(this);
  }

  private onEvent(event: RouteEvent, version: number): void {
    if (this.ended) return;
    if (event.kind === 'route') {
      if (event.topic !== undefined && this.interest.topics.size > 0 && !this.interest.topics.has(event.topic)) return;
      this.addRoute(event.topic ?? '', version);
    } else {
      const groups = event.group === undefined ? [...this.interest.groups] : this.interest.groups.has(event.group) ? [event.group] : [];
      for (const group of groups) this.pending.set(`a\u0000${group}`, { kind: 'assignment', topic: '', group, version });
    }
    this.schedule();
  }

  private addRoute(topic: string, version: number): void {
    if (this.pending.has('r\u0000')) topic = '';
    this.pending.set(`r\u0000${topic}`, { kind: 'route', topic, group: '', version });
    const routeKeys = [...this.pending.keys()].filter((k) => k.startsWith('r\u0000'));
    if (routeKeys.length > MAX_PENDING_ROUTE_HINTS || topic === '') {
      for (const key of routeKeys) this.pending.delete(key);
      this.pending.set('r\u0000', { kind: 'route', topic: '', group: '', version });
    }
  }

  private schedule(): void {
    if (this.timer || this.waitingForDrain || this.pending.size === 0) return;
    const delayMs = Math.max(0, this.lastFlushMs + WATCH_MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delayMs);
  }

  private flush(): void {
    if (this.ended || this.waitingForDrain) return;
    this.lastFlushMs = Date.now();
    for (const [key, event] of [...this.pending]) {
      this.pending.delete(key);
      // Stamp the newest version: the client refetches once for the whole batch. What is left after a full
      // write() stays pending until 'drain'.
      if (!this.write({ ...event, version: this.events.version })) break;
    }
  }

  /** Writes one event; false when the stream is full (then waits for 'drain' before writing more). */
  private write(event: WatchEventMsg): boolean {
    if (this.ended) return false;
    let ok: boolean;
    try {
      ok = this.call.write(event);
    } catch (err) {
      this.logger.debug({ err }, 'watch write failed');
      this.end();
      return false;
    }
    if (!ok) {
      this.waitingForDrain = true;
      this.call.once('drain', () => {
        this.waitingForDrain = false;
        this.schedule();
      });
    }
    return ok;
  }
}
