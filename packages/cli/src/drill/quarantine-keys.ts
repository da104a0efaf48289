import { listQuarantine, readQuarantined } from '@roomq/broker';
import { RecordType, forEachRecord } from '@roomq/protocol';

/** What the members hold in quarantine for some topics, read from their data dirs. */
export interface QuarantinedKeys {
  /** Keys of quarantined messages of the topic not yet replayed. */
  keys: Set<string>;
  entries: number;
}

/**
 * Reads every member's quarantine (log bytes cut on rejoin, kept by the broker under `<dataDir>/quarantine`)
 * and collects the keys of the drill topics' messages in it, so an acknowledged key that no consumer received
 * can be told apart: kept aside and replayable (`roomq quarantine replay`), or really lost. The drill owns the
 * cluster, so reading its data dirs is fair; an operator would use `roomq quarantine list`.
 */
export async function quarantinedKeys(dataDirs: readonly string[], topics: ReadonlySet<string>): Promise<QuarantinedKeys> {
  const keys = new Set<string>();
  let entries = 0;
  for (const dataDir of dataDirs) {
    for (const entry of await listQuarantine(dataDir)) {
      if (entry.replayedAtMs) continue;
      entries++;
      forEachRecord(await readQuarantined(dataDir, entry.id), (record) => {
        if (record.type === RecordType.MESSAGE && topics.has(record.topic)) for (const key of record.keys) keys.add(key);
      });
    }
  }
  return { keys, entries };
}
