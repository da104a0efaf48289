import { chunkTail, nextRecordOffset } from '@roomq/replicator';
import type { MessageStore } from '../store/index.js';

const READ_BYTES = 4 * 1024 * 1024;

/**
 * The whole records of [from, to) of a durable log, concatenated (segment padding left out: every record names
 * its own offset). Used to keep bytes aside before a truncation.
 */
export async function readLogRange(store: MessageStore, from: number, to: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const segment = store.segmentSizeBytes();
  let at = from;
  while (at < to) {
    const records = await store.readLog(at, READ_BYTES);
    if (records.length === 0) break;
    parts.push(records);
    // As the replication stream does: a segment closed by SEGMENT_END or padding continues at the next base.
    at = nextRecordOffset(at + records.length, at + chunkTail(records).lastRecordAt, segment);
  }
  return Buffer.concat(parts);
}
