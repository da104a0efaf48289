import type { BrokerView } from './broker-state.js';
import { chooseGroupServers, isReadyReplica } from './group-server.js';

/**
 * Longest a returning master waits for its replica to reconnect before it gets its reads back anyway. Offsets the
 * replica took while serving reach the master only with its first progress report; a replica that never
 * reconnects must not keep the group's reads (and writes) away from the master for good.
 */
export const MAX_READ_HOLD_MS = 10_000;

/** The replica that last served a group's reads, remembered by one router (never shared through the store). */
export interface LastReader {
  replica: string;
  /** Set while the master is back and reads stay on `replica`: when this router first saw the master back. */
  holdSinceMs?: number;
}

/** Why reads went back to the master. */
export type HoldEnd = 'master heard from replica' | 'replica gone' | 'hold cap reached' | 'master not ready';

export interface ReadHolds {
  /** The remembered readers to pass to the next call. */
  readers: Map<string, LastReader>;
  /** group → the replica that keeps serving its reads although its master is back. */
  holds: Map<string, string>;
  started: Array<{ group: string; replica: string }>;
  ended: Array<{ group: string; replica: string; reason: HoldEnd; heldMs: number }>;
}

/**
 * Decides, from the registry and the remembered last reader of each group, which groups keep their reads on a
 * replica after their master returned. A consumer that committed offsets at the replica would otherwise ask the
 * master, which learns those offsets only from the replica's next progress report, and re-read messages. The hold
 * lasts until the master's own heartbeat lists the replica as connected, the replica stops being alive and ready,
 * or `maxHoldMs` passed since the master came back. Pure: the same input gives the same answer.
 */
export function nextReadHolds(brokers: readonly BrokerView[], previous: ReadonlyMap<string, LastReader>, nowMs: number, maxHoldMs = MAX_READ_HOLD_MS): ReadHolds {
  const readers = new Map<string, LastReader>();
  const holds = new Map<string, string>();
  const started: ReadHolds['started'] = [];
  const ended: ReadHolds['ended'] = [];
  for (const [group, server] of chooseGroupServers(brokers)) {
    if (server.replica) {
      readers.set(group, { replica: server.view.state.name });
      continue;
    }
    const last = previous.get(group);
    if (!last) continue;
    const heldMs = last.holdSinceMs === undefined ? 0 : nowMs - last.holdSinceMs;
    const reason = holdEnd(brokers, server.view, last.replica, heldMs, maxHoldMs);
    if (reason) {
      ended.push({ group, replica: last.replica, reason, heldMs });
      continue;
    }
    if (last.holdSinceMs === undefined) started.push({ group, replica: last.replica });
    readers.set(group, { replica: last.replica, holdSinceMs: last.holdSinceMs ?? nowMs });
    holds.set(group, last.replica);
  }
  // A group that lost every live member forgets its reader: nothing it committed can be asked for meanwhile.
  return { readers, holds, started, ended };
}

function holdEnd(brokers: readonly BrokerView[], master: BrokerView, replica: string, heldMs: number, maxHoldMs: number): HoldEnd | undefined {
  // Only a ready master takes reads back from a ready replica; a failed or stopping one serves only when no replica can.
  if (master.state.role !== 'master' || master.state.status !== 'ready') return 'master not ready';
  const view = brokers.find((b) => b.state.name === replica);
  if (!view || !isReadyReplica(view) || view.state.group !== master.state.group) return 'replica gone';
  if (masterHeardFrom(master, replica)) return 'master heard from replica';
  if (heldMs >= maxHoldMs) return 'hold cap reached';
  return undefined;
}

/** The master lists the replica as reporting since it started (it lists configured members that never did as `not connected`). */
export function masterHeardFrom(master: BrokerView, replica: string): boolean {
  return master.state.replication.some((r) => r.member === replica && r.status !== 'not connected');
}
