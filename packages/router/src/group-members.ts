import type { GroupMember } from './control-store.js';

export interface LocalGroupMembersOptions {
  /** A member silent this long has left. */
  timeoutMs: number;
  now?: () => number;
}

interface Member {
  room: string;
  lastSeenMs: number;
}

/**
 * The consumers whose ClientHeartbeats this router hears, per group. Pure bookkeeping: the owner publishes
 * the groups to the control store and sweeps on a timer. Methods that change membership return the groups
 * whose set of client IDs (or a member's room) changed, so the owner can publish those at once.
 */
export class LocalGroupMembers {
  private readonly groups = new Map<string, Map<string, Member>>();
  private readonly groupsOfClient = new Map<string, Set<string>>();
  private readonly now: () => number;

  constructor(private readonly options: LocalGroupMembersOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Records a heartbeat: the client is a member of exactly `groups` now. */
  heartbeat(clientId: string, room: string, groups: readonly string[]): string[] {
    const now = this.now();
    const changed: string[] = [];
    const next = new Set(groups);
    for (const group of this.groupsOfClient.get(clientId) ?? []) {
      if (!next.has(group) && this.removeMember(group, clientId)) changed.push(group);
    }
    for (const group of next) {
      const members = this.groups.get(group) ?? new Map<string, Member>();
      this.groups.set(group, members);
      const existing = members.get(clientId);
      if (!existing || existing.room !== room) changed.push(group);
      members.set(clientId, { room, lastSeenMs: now });
    }
    if (next.size > 0) this.groupsOfClient.set(clientId, next);
    else this.groupsOfClient.delete(clientId);
    return changed;
  }

  /** Forgets members silent longer than the timeout. */
  sweep(): string[] {
    const cutoff = this.now() - this.options.timeoutMs;
    const changed = new Set<string>();
    for (const [group, members] of this.groups) {
      for (const [clientId, member] of members) {
        if (member.lastSeenMs >= cutoff) continue;
        this.removeMember(group, clientId);
        changed.add(group);
      }
    }
    return [...changed];
  }

  /** Groups with at least one member. */
  activeGroups(): string[] {
    return [...this.groups.keys()];
  }

  members(group: string, router: string): GroupMember[] {
    const members = this.groups.get(group);
    if (!members) return [];
    return [...members].map(([clientId, m]) => ({ clientId, room: m.room, router, lastSeenMs: m.lastSeenMs }));
  }

  private removeMember(group: string, clientId: string): boolean {
    const members = this.groups.get(group);
    if (!members?.delete(clientId)) return false;
    if (members.size === 0) this.groups.delete(group);
    const ofClient = this.groupsOfClient.get(clientId);
    ofClient?.delete(group);
    if (ofClient?.size === 0) this.groupsOfClient.delete(clientId);
    return true;
  }
}
