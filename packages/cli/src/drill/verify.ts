import type { DeliveryLedger } from './consumers.js';
import type { SendRecord } from './load.js';
import { quarantinedKeys } from './quarantine-keys.js';
import { storedKeys } from './stored-keys.js';

/** Where every acknowledged key ended up, once the cluster is quiet again. */
export interface KeyAccounting {
  /** In no member's log and in no quarantine: lost. */
  lost: SendRecord[];
  /** Cut from the logs on rejoin, kept in a quarantine (replayable). */
  quarantined: SendRecord[];
  /** In the logs, but no consumer of the drill received it. */
  undelivered: SendRecord[];
  /** Keys consumers received that no member's log holds: served before they were safe, then cut on rejoin. */
  deliveredNotKept: string[];
}

/**
 * Accounts for every acknowledged key by reading the members' logs and quarantines. The groups' logs after
 * the restore are what every consumer group reads from now on, so an acknowledged key must be in them, or be
 * kept aside in a quarantine, whatever the drill's own consumers happened to receive.
 */
export async function accountForKeys(acked: readonly SendRecord[], ledger: DeliveryLedger, dataDirs: readonly string[], topics: ReadonlySet<string>): Promise<KeyAccounting> {
  const stored = new Set<string>();
  // Every member, not one per group: a key only a divergent member kept still shows, and the log check says why.
  for (const dataDir of dataDirs) for (const key of await storedKeys(dataDir, topics)) stored.add(key);
  const quarantine = await quarantinedKeys(dataDirs, topics);
  const notStored = acked.filter((r) => !stored.has(r.key));
  return {
    lost: notStored.filter((r) => !quarantine.keys.has(r.key)),
    quarantined: notStored.filter((r) => quarantine.keys.has(r.key)),
    undelivered: acked.filter((r) => stored.has(r.key) && !ledger.has(r.key)),
    deliveredNotKept: [...ledger.counts.keys()].filter((key) => !stored.has(key)),
  };
}
