import { RECORD_HEADER_SIZE, RECORD_MAGIC, readRecordHeader } from '@roomq/protocol';

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
  // Every member walks every chunk it receives and serves: only the length and magic are read per record, the
  // rest of the header once, for the last (a full readRecordHeader per record cost a replica 0.2 µs a message).
  let at = 0;
  let lastRecordAt = -1;
  while (records.length - at >= RECORD_HEADER_SIZE) {
    const totalLength = records.readUInt32BE(at);
    // A malformed chunk is reported by appendReplicated (MESSAGE_CORRUPTED); here we only stop walking.
    if (totalLength < RECORD_HEADER_SIZE || totalLength > records.length - at || records.readUInt16BE(at + 4) !== RECORD_MAGIC) break;
    lastRecordAt = at;
    at += totalLength;
  }
  if (lastRecordAt < 0) return { lastRecordAt, lastStoreTimestampMs: 0 };
  const header = readRecordHeader(records, lastRecordAt, records.length - lastRecordAt);
  return { lastRecordAt, lastStoreTimestampMs: typeof header === 'string' ? 0 : header.storeTimestampMs };
}
