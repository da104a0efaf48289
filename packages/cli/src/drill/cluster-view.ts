import type { BrokerStatus, ClusterStatus, RoomListing } from '@roomq/client';
import type { DrillMember } from './drill-cluster.js';
import type { GroupLeader } from './offset-watch.js';

/**
 * What the drill reads from a router's cluster status: who serves each group, whether replication is idle,
 * whether roles are back to the configuration. Pure functions of one status snapshot.
 */

/**
 * Per group, the member the control state names as leader (epoch and leader are decided there, by a cut or a
 * failback), where the router last saw it. A member's own idea of its role may lag behind during a handover.
 */
export function groupLeaders(status: ClusterStatus, listing: RoomListing): GroupLeader[] {
  const leaders: GroupLeader[] = [];
  for (const group of listing.groups) {
    const broker = status.brokers.find((b) => b.name === group.leader);
    if (broker?.alive) leaders.push({ group: group.group, name: broker.name, endpoint: broker.endpoint });
  }
  return leaders;
}

/** Per group, the live member acting as master under the newest epoch, an unfenced one first. */
export function actingMasters(status: ClusterStatus): GroupLeader[] {
  const byGroup = new Map<string, BrokerStatus>();
  for (const b of status.brokers) {
    if (!b.alive || b.role !== 'master') continue;
    const current = byGroup.get(b.group);
    if (!current || compareLeaders(b, current) > 0) byGroup.set(b.group, b);
  }
  return [...byGroup.values()].map((b) => ({ group: b.group, name: b.name, endpoint: b.endpoint }));
}

function compareLeaders(a: BrokerStatus, b: BrokerStatus): number {
  const epoch = (a.epoch ?? 0) - (b.epoch ?? 0);
  if (epoch !== 0) return epoch;
  return (a.fence === '' ? 1 : 0) - (b.fence === '' ? 1 : 0);
}

/** Every member alive and holding the log as far as every other member of its group (no lag anywhere). */
export function replicationIdle(status: ClusterStatus, members: readonly DrillMember[]): { idle: boolean; waitingFor: string[] } {
  const waitingFor: string[] = [];
  const byGroup = new Map<string, DrillMember[]>();
  for (const m of members) byGroup.set(m.group, [...(byGroup.get(m.group) ?? []), m]);
  for (const [group, groupMembers] of byGroup) {
    const seen = groupMembers.map((m) => status.brokers.find((b) => b.name === m.name));
    groupMembers.forEach((m, i) => {
      if (!seen[i]?.alive) waitingFor.push(`${m.name} (not alive)`);
    });
    // Both ends: a member with more than the others (not yet truncated) is as different as one with less.
    const ends = seen.map((b) => [b?.flushedOffset ?? -1, b?.logEndOffset ?? -1]).flat();
    const end = Math.max(...ends);
    seen.forEach((b, i) => {
      const behind = end - Math.min(b?.flushedOffset ?? -1, b?.logEndOffset ?? -1);
      if (b?.alive && behind > 0) waitingFor.push(`${groupMembers[i]!.name} (${behind} bytes behind in ${group})`);
    });
  }
  return { idle: waitingFor.length === 0, waitingFor };
}

/** Every group led by its configured master, unfrozen, and every member in its configured role. */
export function rolesNormal(status: ClusterStatus, listing: RoomListing, members: readonly DrillMember[]): { normal: boolean; problems: string[] } {
  const problems: string[] = [];
  for (const m of members) {
    const b = status.brokers.find((s) => s.name === m.name);
    if (!b) problems.push(`${m.name} is not registered`);
    else if (!b.alive) problems.push(`${m.name} is not alive`);
    else {
      if (b.role !== m.configuredRole) problems.push(`${m.name} acts as ${b.role}, configured ${m.configuredRole}`);
      if (b.configuredRole && b.configuredRole !== m.configuredRole) problems.push(`${m.name} reports configured role ${b.configuredRole}, the drill configured ${m.configuredRole}`);
      if (m.configuredRole === 'master' && b.fence) problems.push(`${m.name} refuses writes (${b.fence}${b.fenceReason ? `: ${b.fenceReason}` : ''})`);
    }
  }
  const leaders = actingMasters(status);
  for (const group of new Set(members.map((m) => m.group))) {
    const configured = members.find((m) => m.group === group && m.configuredRole === 'master');
    const leader = leaders.find((l) => l.group === group);
    if (!leader) problems.push(`${group} has no live master`);
    else if (leader.name !== configured?.name) problems.push(`${group} is led by ${leader.name}, configured ${configured?.name ?? 'none'}`);
    const control = listing.groups.find((g) => g.group === group);
    if (control && control.leader !== configured?.name) problems.push(`the control state names ${control.leader} leader of ${group} (epoch ${control.epoch})`);
    if (control?.frozen) problems.push(`${group} is frozen in the control state`);
  }
  for (const room of listing.rooms) if (room.status !== 'active') problems.push(`room ${room.room} is ${room.status}`);
  return { normal: problems.length === 0, problems };
}

/** Quarantined records and bytes by broker, as the brokers report them (not yet replayed). */
export function quarantineTotals(status: ClusterStatus): { records: number; bytes: number; byBroker: Record<string, { records: number; bytes: number }> } {
  const byBroker: Record<string, { records: number; bytes: number }> = {};
  let records = 0;
  let bytes = 0;
  for (const b of status.brokers) {
    const r = b.quarantinedRecords ?? 0;
    const n = b.quarantinedBytes ?? 0;
    if (r === 0 && n === 0) continue;
    byBroker[b.name] = { records: r, bytes: n };
    records += r;
    bytes += n;
  }
  return { records, bytes, byBroker };
}
