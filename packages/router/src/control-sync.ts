import type { Logger } from 'pino';
import type { ControlChange, ControlStore, StoreHealth } from './control-store.js';
import type { LocalGroupMembers } from './group-members.js';
import type { RoomDirectory } from './room-directory.js';
import type { RouteEvents } from './route-events.js';

/** Routers seen within this long count as alive in cluster status. */
export const ROUTER_ALIVE_MS = 5000;
/** Routers silent longer than this drop out of cluster status altogether. */
export const ROUTER_LIST_WINDOW_MS = 10 * 60_000;

export interface ControlSyncOptions {
  store: ControlStore;
  routerName: string;
  routerRoom: string;
  /** The endpoint clients dial, once bound. */
  endpoint: () => string | undefined;
  events: RouteEvents;
  members: LocalGroupMembers;
  directory: RoomDirectory;
  logger: Logger;
  now?: () => number;
}

/**
 * Keeps this router and the shared control state in step: turns store changes (this router's and other
 * routers') into route/assignment events, registers the router, publishes the group members it hears, and
 * watches the store's health, logging each transition once. Every store call is guarded: a degraded store
 * never stops the router from serving what it last knew.
 */
export class ControlSync {
  private readonly store: ControlStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private unsubscribe: (() => void) | undefined;
  private lastHealth: StoreHealth['state'] = 'healthy';
  /** Groups published non-empty last time, so a group that empties gets one empty publish. */
  private published = new Set<string>();

  constructor(private readonly options: ControlSyncOptions) {
    this.store = options.store;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.lastHealth = this.store.health().state;
    if (this.lastHealth === 'degraded') this.logHealth(this.store.health());
    this.unsubscribe = this.store.onChange((change) => this.onChange(change));
  }

  /** Once a second: health, router heartbeat, member publication, router rooms. */
  async tick(): Promise<void> {
    this.checkHealth();
    await Promise.all([this.heartbeat(), this.publishGroups(new Set([...this.published, ...this.options.members.activeGroups()])), this.refreshRouterRooms()]);
  }

  /** Publishes the local members of `groups` now (on join and leave). */
  async publishGroups(groups: Iterable<string>): Promise<void> {
    const tasks: Array<Promise<void>> = [];
    for (const group of groups) {
      const members = this.options.members.members(group, this.options.routerName);
      if (members.length > 0) this.published.add(group);
      else this.published.delete(group);
      tasks.push(
        this.store.publishMembers(this.options.routerName, group, members).catch((err: unknown) => {
          this.logger.debug({ err, group }, 'cannot publish group members');
        }),
      );
    }
    await Promise.all(tasks);
  }

  /** Stops listening and withdraws this router's members, so other routers rebalance at once. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const groups = [...this.published];
    this.published.clear();
    await Promise.all(groups.map((group) => this.store.publishMembers(this.options.routerName, group, []).catch(() => undefined)));
  }

  health(): StoreHealth {
    return this.store.health();
  }

  private onChange(change: ControlChange): void {
    const events = this.options.events;
    switch (change.kind) {
      case 'topic':
        events.publish({ kind: 'route', topic: change.topic });
        break;
      case 'members':
        events.publish({ kind: 'assignment', group: change.group });
        break;
      case 'routers':
        void this.refreshRouterRooms();
        break;
      case 'rooms':
      case 'groups':
        // A cut, restore or new leader changes which masters are writable and where groups are read from:
        // tell watching clients at once, so producers move within a second (pushed, not polled).
        events.publish({ kind: 'route' });
        events.publish({ kind: 'assignment' });
        break;
      case 'reload':
        this.checkHealth();
        events.publish({ kind: 'route' });
        events.publish({ kind: 'assignment' });
        void this.refreshRouterRooms();
        break;
    }
  }

  private checkHealth(): void {
    const health = this.store.health();
    if (health.state === this.lastHealth) return;
    this.lastHealth = health.state;
    this.logHealth(health);
    if (health.state === 'healthy') {
      // Other routers may have changed topics or members while we could not hear them.
      this.options.events.publish({ kind: 'route' });
      this.options.events.publish({ kind: 'assignment' });
      void this.heartbeat();
      void this.publishGroups([...this.published, ...this.options.members.activeGroups()]);
    }
  }

  private logHealth(health: StoreHealth): void {
    const store = this.store.description;
    if (health.state === 'degraded') {
      this.logger.warn({ store, reason: health.reason, sinceMs: health.sinceMs }, 'control store degraded: serving the last known state, refusing control changes');
    } else {
      this.logger.info({ store }, 'control store healthy again');
    }
  }

  private async heartbeat(): Promise<void> {
    const endpoint = this.options.endpoint();
    if (endpoint === undefined) return;
    try {
      await this.store.heartbeatRouter({ name: this.options.routerName, room: this.options.routerRoom, endpoint, lastSeenMs: this.now() });
    } catch (err) {
      this.logger.debug({ err }, 'cannot register the router in the control store');
    }
  }

  private async refreshRouterRooms(): Promise<void> {
    try {
      const routers = await this.store.listRouters(ROUTER_LIST_WINDOW_MS);
      this.options.directory.setRouterRooms(routers.map((r) => r.room));
    } catch (err) {
      this.logger.debug({ err }, 'cannot list routers');
    }
  }
}
