import type { Logger } from 'pino';
import type { ControlStore, GroupControl, RoomControl } from './control-store.js';

/** Room states and group leaders as the router routes by them, read synchronously on every route answer. */
export interface ControlSnapshot {
  rooms: ReadonlyMap<string, RoomControl>;
  groups: ReadonlyMap<string, GroupControl>;
}

/**
 * A synchronous copy of the control store's rooms and groups, refreshed on every change the store reports
 * (local at once, other routers' within a second), so routing never waits on the store.
 */
export class ControlCache {
  private snapshot: ControlSnapshot = { rooms: new Map(), groups: new Map() };
  private refreshing: Promise<boolean> | undefined;
  private again = false;

  constructor(
    private readonly store: ControlStore,
    private readonly logger: Logger,
  ) {}

  get current(): ControlSnapshot {
    return this.snapshot;
  }

  /** Re-reads rooms and groups; true when either changed. Concurrent calls coalesce. */
  refresh(): Promise<boolean> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      let changed = false;
      do {
        this.again = false;
        try {
          const [rooms, groups] = await Promise.all([this.store.listRooms(), this.store.listGroups()]);
          const next: ControlSnapshot = { rooms: new Map(rooms.map((r) => [r.room, r])), groups: new Map(groups.map((g) => [g.group, g])) };
          if (fingerprint(next) !== fingerprint(this.snapshot)) {
            this.logChanges(this.snapshot, next);
            changed = true;
          }
          this.snapshot = next;
        } catch (err) {
          this.logger.warn({ err }, 'cannot read room and group control state; routing on the last known');
        }
      } while (this.again);
      return changed;
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private logChanges(before: ControlSnapshot, after: ControlSnapshot): void {
    for (const [room, r] of after.rooms) {
      if (before.rooms.get(room)?.version === r.version) continue;
      this.logger.info({ room, status: r.status, version: r.version, by: r.changedBy, reason: r.reason }, `room ${room} is ${r.status}`);
    }
    for (const [group, g] of after.groups) {
      if (before.groups.get(group)?.version === g.version) continue;
      this.logger.info({ group, epoch: g.epoch, leader: g.leader, frozen: g.frozen, version: g.version }, 'broker group leadership changed');
    }
  }
}

function fingerprint(s: ControlSnapshot): string {
  return [...[...s.rooms.values()].map((r) => `r:${r.room}@${r.version}`), ...[...s.groups.values()].map((g) => `g:${g.group}@${g.version}`)].sort().join(',');
}
