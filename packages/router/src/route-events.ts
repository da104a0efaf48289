/**
 * Changes that can alter what clients are told: a route (one topic, or any when `topic` is absent) or an
 * assignment (one group, or any). Each publish bumps the router-wide `version`.
 *
 * Invariant: `version` never decreases, and it starts at the start time in ms, so it also grows across restarts
 * of the same router (bumps are far rarer than one a millisecond). Versions of different routers are unrelated.
 */
export type RouteEvent = { kind: 'route'; topic?: string } | { kind: 'assignment'; group?: string };

export type RouteEventListener = (event: RouteEvent, version: number) => void;

export class RouteEvents {
  private current: number;
  private readonly listeners = new Set<RouteEventListener>();

  constructor(now: () => number = Date.now) {
    this.current = now();
  }

  get version(): number {
    return this.current;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  publish(event: RouteEvent): void {
    this.current += 1;
    for (const listener of this.listeners) {
      try {
        listener(event, this.current);
      } catch {
        // A listener's failure is its own; the others still hear the change.
      }
    }
  }

  /** Returns an unsubscribe function. */
  subscribe(listener: RouteEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
