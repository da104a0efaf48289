/**
 * Checkpoint file, format 1: <dataDir>/checkpoint, replaced atomically (write temp, fdatasync, rename, sync dir).
 *
 * Layout: framed-json-codec.ts (magic "RQCP", format version 1, CRC32C of a JSON payload).
 *
 * A checkpoint that fails any check is treated as absent: every derived structure is rebuilt from the log.
 */
import { z } from 'zod';
import { decodeFramedJson, encodeFramedJson, type FramedKind } from './framed-json-codec.js';

const MAGIC = 0x52514350;
const VERSION = 1;

const CheckpointDataSchema = z.object({
  /** Log bytes [0, flushedOffset) were fdatasynced when the checkpoint was written; never cut back. */
  flushedOffset: z.number().int().min(0),
  /** Consume queues, indexes and `offsets` include every record before this log offset. */
  derivedOffset: z.number().int().min(0),
  /** Entries of each consume queue as of derivedOffset. */
  queues: z.array(z.object({ topic: z.string(), queueId: z.number().int().min(0), entries: z.number().int().min(0) })),
  /** Total index entries (over all index files) as of derivedOffset. */
  indexEntries: z.number().int().min(0),
  /** Consumer offset table as of derivedOffset. */
  offsets: z.array(z.object({ group: z.string(), topic: z.string(), queueId: z.number().int().min(0), offset: z.number().int().min(0) })),
  /**
   * Start of the last record before derivedOffset (absent when there is none, and in checkpoints written before
   * replication, which recovery then finds by walking the last segment's headers).
   */
  lastRecordOffset: z.number().int().min(0).optional(),
  /** Log ranges known to be corrupt; reported until restored from a replica. */
  corruptRanges: z.array(z.object({ start: z.number().int().min(0), end: z.number().int().min(0), reason: z.string() })),
});

export type CheckpointData = z.infer<typeof CheckpointDataSchema>;

const KIND: FramedKind<CheckpointData> = { magic: MAGIC, version: VERSION, schema: CheckpointDataSchema };

export function encodeCheckpoint(data: CheckpointData): Buffer {
  return encodeFramedJson(KIND, data);
}

/** The file's data, or a reason it cannot be used. */
export function decodeCheckpoint(buf: Buffer): CheckpointData | string {
  return decodeFramedJson(KIND, buf);
}
