/**
 * Offset overlay file, format 1: <dataDir>/offset-overlay, replaced atomically (write temp, fdatasync, rename,
 * sync dir). It holds consumer offsets committed at a replica, which cannot write OFFSET_COMMIT records into a
 * log that must stay its upstream's bytes (see README.md, "Offsets committed at a replica").
 *
 * Layout: framed-json-codec.ts (magic "RQOV", format version 1, CRC32C of a JSON payload).
 *
 * Unlike the checkpoint, nothing can rebuild this file: one that fails a check stops the store from opening.
 */
import { z } from 'zod';
import { decodeFramedJson, encodeFramedJson, type FramedKind } from './framed-json-codec.js';

const MAGIC = 0x52514f56;
const VERSION = 1;

const OverlayDataSchema = z.object({
  offsets: z.array(
    z.object({
      group: z.string().min(1),
      topic: z.string().min(1),
      queueId: z.number().int().min(0).max(0x7fffffff),
      offset: z.number().int().min(0),
    }),
  ),
});

export type OverlayData = z.infer<typeof OverlayDataSchema>;

const KIND: FramedKind<OverlayData> = { magic: MAGIC, version: VERSION, schema: OverlayDataSchema };

export function encodeOverlay(data: OverlayData): Buffer {
  return encodeFramedJson(KIND, data);
}

/** The file's data, or a reason it cannot be used. */
export function decodeOverlay(buf: Buffer): OverlayData | string {
  return decodeFramedJson(KIND, buf);
}
