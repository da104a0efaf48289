import type { BrokerConfig } from './broker-config.js';
import { isRoomCut, type ControlSnapshot } from './group-control-view.js';

/**
 * What this member should be doing, given its configuration and the group's control state:
 * - `lead`: take the group's writes in `epoch` (`acting` when it is not the configured master, after a cut);
 *   `chain` names the members a sync:N write waits for.
 * - `follow`: copy the log from `upstream` (the member before it in the configured chain while the configured
 *   master leads; the leader itself while an acting master leads, so every member converges on it). `direct`:
 *   the upstream is the leader itself (true when that is not known yet).
 * - `wait`: nobody to follow yet (the leader's endpoint is unknown); writes stay refused.
 */
export type RoleTarget =
  | { kind: 'lead'; epoch: number | undefined; acting: boolean; chain: string[] }
  | { kind: 'follow'; upstream: string; leader: string; direct: boolean }
  | { kind: 'wait'; reason: string };

export function roleTarget(config: BrokerConfig, self: string, snapshot: ControlSnapshot, known: boolean): RoleTarget {
  const configuredMaster = config.role === 'master';
  if (!known) {
    // Until a router answers, a slave follows its configured upstream; a configured master does not lead (it may
    // have been replaced while it was down, and leading would write to a log about to be cut back).
    return configuredMaster ? { kind: 'wait', reason: 'no router has told it yet whether it still leads its group' } : { kind: 'follow', upstream: config.upstream!, leader: '', direct: true };
  }
  const group = snapshot.group;
  const leader = group?.leader ?? (configuredMaster ? self : configuredMasterOf(snapshot));
  if (leader === self) {
    const epoch = group?.epoch ?? 1;
    if (configuredMaster) return { kind: 'lead', epoch, acting: false, chain: config.chain.filter((m) => !inCutRoom(m, snapshot)) };
    return { kind: 'lead', epoch, acting: true, chain: actingChain(self, snapshot) };
  }
  const leaderIsConfiguredMaster = leader === undefined || snapshot.members.get(leader)?.configuredRole === 'master';
  // The configured chain, unless it runs through a cut room this member is not in: then straight to the leader.
  const upstreamCut = config.upstream !== undefined && upstreamIsCut(config.upstream, snapshot) && !isRoomCut(snapshot, config.room);
  if (leaderIsConfiguredMaster && !configuredMaster && config.upstream && !upstreamCut) {
    const leaderEndpoint = leader === undefined ? undefined : snapshot.members.get(leader)?.endpoint;
    const direct = leaderEndpoint === undefined || leaderEndpoint === config.upstream;
    return { kind: 'follow', upstream: config.upstream, leader: leader ?? '', direct };
  }
  const endpoint = leader === undefined ? undefined : snapshot.members.get(leader)?.endpoint;
  if (!endpoint) return { kind: 'wait', reason: `the endpoint of group leader ${leader ?? '(unknown)'} is not known yet` };
  return { kind: 'follow', upstream: endpoint, leader: leader!, direct: true };
}

/**
 * The replicas an acting master's sync:N writes wait for: every other member outside cut rooms, in name order
 * (the gate counts any N of them, so order does not matter and one catching up after a restore holds nothing).
 */
function actingChain(self: string, snapshot: ControlSnapshot): string[] {
  return [...snapshot.members.keys()].filter((name) => name !== self && !inCutRoom(name, snapshot)).sort();
}

/** Members are named `group/id@room`; the room decides. */
function inCutRoom(member: string, snapshot: ControlSnapshot): boolean {
  const room = snapshot.members.get(member)?.room ?? member.slice(member.lastIndexOf('@') + 1);
  return isRoomCut(snapshot, room);
}

function configuredMasterOf(snapshot: ControlSnapshot): string | undefined {
  for (const [name, m] of snapshot.members) if (m.configuredRole === 'master') return name;
  return undefined;
}

function upstreamIsCut(upstream: string, snapshot: ControlSnapshot): boolean {
  for (const m of snapshot.members.values()) if (m.endpoint === upstream) return isRoomCut(snapshot, m.room);
  return false;
}

export function sameTarget(a: RoleTarget | undefined, b: RoleTarget): boolean {
  if (!a || a.kind !== b.kind) return false;
  if (a.kind === 'lead' && b.kind === 'lead') return a.epoch === b.epoch && a.acting === b.acting && a.chain.join(',') === b.chain.join(',');
  if (a.kind === 'follow' && b.kind === 'follow') return a.upstream === b.upstream && a.direct === b.direct;
  return a.kind === 'wait';
}
