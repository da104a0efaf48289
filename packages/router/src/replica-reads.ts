import type { Logger } from 'pino';
import type { BrokerView } from './broker-state.js';
import { replicaCandidates } from './group-server.js';
import { MAX_READ_HOLD_MS, nextReadHolds, type LastReader } from './read-hold.js';

/**
 * Notices when the replicas that serve the reads of master-less groups change: a group starts or stops being
 * served by a replica, or another replica becomes the most caught up. Broker transitions (a master going silent or
 * coming back) already bump the route version, but a replica overtaking another is a plain heartbeat, so the
 * owner asks this after every heartbeat too. Logs each group's change once.
 *
 * Also remembers the last replica that served each group's reads, and keeps the reads there after the master
 * returns until the master has heard from it (read-hold.ts); the end of such a hold is a plain heartbeat too.
 */
export class ReplicaReads {
  private last = new Map<string, string[]>();
  private readers = new Map<string, LastReader>();
  private currentHolds: ReadonlyMap<string, string> = new Map();

  constructor(
    private readonly logger: Logger,
    private readonly maxHoldMs = MAX_READ_HOLD_MS,
  ) {}

  /** group → replica that keeps serving reads although the group's master is back. */
  get holds(): ReadonlyMap<string, string> {
    return this.currentHolds;
  }

  /** True when some group's candidate replicas (held replicas included) differ from the previous call's. */
  update(brokers: readonly BrokerView[], nowMs = Date.now()): boolean {
    const held = nextReadHolds(brokers, this.readers, nowMs, this.maxHoldMs);
    this.readers = held.readers;
    this.currentHolds = held.holds;
    for (const { group, replica } of held.started) {
      this.logger.info({ group, replica, maxHoldMs: this.maxHoldMs }, 'broker group master is back; reads stay on the replica until the master has heard from it');
    }
    for (const { group, replica, reason, heldMs } of held.ended) {
      this.logger.info({ group, replica, reason, heldMs }, 'reads of broker group return to its master');
    }
    const next = replicaCandidates(brokers, held.holds);
    let changed = false;
    for (const [group, replicas] of next) {
      const before = this.last.get(group);
      if (before && sameList(before, replicas)) continue;
      changed = true;
      const best = brokers.find((b) => b.state.name === replicas[0]);
      const fields = { group, replicas, room: best?.state.room, flushedOffset: best?.state.flushedOffset };
      if (before) this.logger.info({ ...fields, previousReplicas: before }, 'replica serving broker group changed');
      else this.logger.warn(fields, 'broker group has no ready master; its queues are read from a replica, producers go to other groups');
    }
    for (const [group, before] of this.last) {
      if (next.has(group)) continue;
      changed = true;
      this.logger.info({ group, previousReplicas: before }, 'broker group no longer read from a replica');
    }
    this.last = next;
    return changed;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
