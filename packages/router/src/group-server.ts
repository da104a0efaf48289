import { parseHostPort, type HostPort } from '@roomq/protocol';
import type { BrokerView } from './broker-state.js';

/** Read-write queues take produce and consume; read queues only drain what a broker already holds. */
export type QueuePermission = 'READ_WRITE' | 'READ';

/** The member that serves a broker group's queues now, and how. */
export interface GroupServer {
  view: BrokerView;
  permission: QueuePermission;
  endpoint: HostPort;
  /** A replica serves the group's reads because the group has no alive, ready master. */
  replica: boolean;
}

/**
 * Which member serves each broker group's queues, in order of preference:
 * 1. an alive, ready master: READ_WRITE when writable, else READ;
 * 2. else the most caught-up alive, ready slave (highest flushed offset; ties: a slave in `clientRoom`, then the
 *    lower member id, then the name): READ, so consumers continue at the same offsets while producers go to
 *    other groups; when the master is alive but failed or stopping, only if the slave holds at least as much;
 * 3. else an alive failed or stopping master: READ, so consumers drain what it holds.
 * Groups with none of these are left out. Dead, starting and unknown-status members never serve, and neither
 * do members whose endpoint does not parse.
 *
 * Without `clientRoom` the answer is the same for every client (assignments need that: two consumers must agree
 * on which room a queue is in).
 *
 * `holds` (group → replica name, see read-hold.ts) keeps a group's reads on the replica that served them while
 * its master was away, although the master is back: READ, for every client, as long as that replica is alive and
 * ready; otherwise the rules above apply.
 */
export function chooseGroupServers(brokers: readonly BrokerView[], clientRoom?: string, holds?: ReadonlyMap<string, string>): Map<string, GroupServer> {
  const byGroup = new Map<string, BrokerView[]>();
  for (const view of brokers) {
    if (!view.alive || !parseHostPort(view.state.endpoint)) continue;
    const list = byGroup.get(view.state.group) ?? [];
    list.push(view);
    byGroup.set(view.state.group, list);
  }
  const servers = new Map<string, GroupServer>();
  for (const group of [...byGroup.keys()].sort(compareText)) {
    const server = serverOf(byGroup.get(group)!, clientRoom, holds?.get(group));
    if (server) servers.set(group, server);
  }
  return servers;
}

/**
 * For each group served by a replica, the names of every replica that some client could be given (those tied at
 * the highest flushed offset), sorted; a change here means some client's route changed. Masters are left out:
 * their changes are broker transitions already.
 */
export function replicaCandidates(brokers: readonly BrokerView[], holds?: ReadonlyMap<string, string>): Map<string, string[]> {
  const candidates = new Map<string, string[]>();
  for (const [group, server] of chooseGroupServers(brokers, undefined, holds)) {
    if (!server.replica) continue;
    // A held replica serves every client, tied or not.
    if (holds?.get(group) === server.view.state.name) {
      candidates.set(group, [server.view.state.name]);
      continue;
    }
    const top = server.view.state.flushedOffset;
    const tied = brokers.filter((v) => v.state.group === group && isReadyReplica(v) && v.state.flushedOffset === top).map((v) => v.state.name);
    candidates.set(group, tied.sort(compareText));
  }
  return candidates;
}

function serverOf(members: readonly BrokerView[], clientRoom: string | undefined, heldReplica: string | undefined): GroupServer | undefined {
  let master: BrokerView | undefined;
  for (const view of members) {
    if (view.state.role !== 'master' || masterRank(view) === 0) continue;
    // Two masters claim the group while a promotion is in flight: the readier one, then the name order.
    if (!master || masterRank(view) > masterRank(master) || (masterRank(view) === masterRank(master) && view.state.name < master.state.name)) master = view;
  }
  if (master && master.state.status === 'ready') {
    const held = heldReplica === undefined ? undefined : members.find((v) => v.state.name === heldReplica && isReadyReplica(v));
    return held ? server(held, 'READ', true) : server(master, master.state.writable ? 'READ_WRITE' : 'READ', false);
  }

  let replica: BrokerView | undefined;
  for (const view of members) {
    if (isReadyReplica(view) && (!replica || compareReplicas(view, replica, clientRoom) < 0)) replica = view;
  }
  // A failed or stopping master still serves what it holds (fail-stop keeps reads working); a replica takes over
  // its reads only when it holds at least as much, so an async replica that lags never hides messages.
  if (replica && (!master || replica.state.flushedOffset >= master.state.flushedOffset)) return server(replica, 'READ', true);
  if (master) return server(master, 'READ', false);
  return replica ? server(replica, 'READ', true) : undefined;
}

function server(view: BrokerView, permission: QueuePermission, replica: boolean): GroupServer {
  return { view, permission, endpoint: parseHostPort(view.state.endpoint)!, replica };
}

/** 3 ready and writable, 2 ready, 1 failed or stopping (reads only), 0 not routable. */
function masterRank(view: BrokerView): number {
  const { status, writable } = view.state;
  if (status === 'ready') return writable ? 3 : 2;
  if (status === 'failed' || status === 'stopping') return 1;
  return 0;
}

/** A failed replica may have diverged from its upstream (it stops and says so): it never serves. */
export function isReadyReplica(view: BrokerView): boolean {
  return view.alive && view.state.role === 'slave' && view.state.status === 'ready' && parseHostPort(view.state.endpoint) !== undefined;
}

/** Negative when `a` should serve rather than `b`. */
function compareReplicas(a: BrokerView, b: BrokerView, clientRoom: string | undefined): number {
  if (a.state.flushedOffset !== b.state.flushedOffset) return b.state.flushedOffset - a.state.flushedOffset;
  if (clientRoom !== undefined) {
    const aHere = a.state.room === clientRoom;
    const bHere = b.state.room === clientRoom;
    if (aHere !== bHere) return aHere ? -1 : 1;
  }
  return a.state.memberId - b.state.memberId || compareText(a.state.name, b.state.name);
}

/** Code-unit order, the same on every machine (localeCompare depends on the locale). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
