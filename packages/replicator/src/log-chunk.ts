import { readRecordHeader } from '@roomq/protocol';

/**
 * Reads what the replicator needs from a chunk of whole records (record-codec format v1, see
 * @roomq/protocol record-codec.ts): where its last record starts and that record's store timestamp. Only the
 * 28-byte headers are read, walking `totalLength` from record to record; CRCs are the ReplicaLog's job
 * (appendReplicated verifies every record).
 */
export interface ChunkTail {
  /** Offset of the last record inside the chunk (0-based); -1 for an empty chunk. */
  lastRecordAt: number;
  /** storeTimestampMs of the last record: when the master stored it (records are identical on every member). */
  lastStoreTimestampMs: number;
}

export function chunkTail(records: Buffer): ChunkTail {
  let at = 0;
  let lastRecordAt = -1;
  let lastStoreTimestampMs = 0;
  while (at < records.length) {
    const header = readRecordHeader(records, at, records.length - at);
    // A malformed chunk is reported by appendReplicated (MESSAGE_CORRUPTED); here we only stop walking.
    if (typeof header === 'string') break;
    lastRecordAt = at;
    lastStoreTimestampMs = header.storeTimestampMs;
    at += header.totalLength;
  }
  return { lastRecordAt, lastStoreTimestampMs };
}
