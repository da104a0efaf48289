/**
 * Small state files of the store (checkpoint, offset overlay): a fixed header, then a JSON payload.
 *
 *   offset  size  field
 *   0       4     magic            one per file kind
 *   4       2     formatVersion
 *   6       2     reserved, 0
 *   8       4     crc32c           CRC32C of the payload
 *   12      4     payloadLength
 *   16      ...   payload          UTF-8 JSON, checked against the kind's schema
 */
import type { z } from 'zod';
import { crc32c } from '@roomq/protocol';

const HEADER_SIZE = 16;

export interface FramedKind<T> {
  magic: number;
  version: number;
  schema: z.ZodType<T>;
}

export function encodeFramedJson<T>(kind: FramedKind<T>, data: T): Buffer {
  const payload = Buffer.from(JSON.stringify(data), 'utf8');
  const out = Buffer.alloc(HEADER_SIZE + payload.length);
  out.writeUInt32BE(kind.magic, 0);
  out.writeUInt16BE(kind.version, 4);
  out.writeUInt32BE(crc32c(payload), 8);
  out.writeUInt32BE(payload.length, 12);
  payload.copy(out, HEADER_SIZE);
  return out;
}

/** The decoded data, or why the file cannot be used. */
export function decodeFramedJson<T>(kind: FramedKind<T>, buf: Buffer): T | string {
  if (buf.length < HEADER_SIZE) return 'file is shorter than its header';
  if (buf.readUInt32BE(0) !== kind.magic) return 'bad magic';
  if (buf.readUInt16BE(4) !== kind.version) return `unknown format version ${buf.readUInt16BE(4)}`;
  const length = buf.readUInt32BE(12);
  if (HEADER_SIZE + length !== buf.length) return 'length does not match the file size';
  const payload = buf.subarray(HEADER_SIZE);
  if (crc32c(payload) !== buf.readUInt32BE(8)) return 'checksum mismatch';
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return 'payload is not JSON';
  }
  const parsed = kind.schema.safeParse(json);
  return parsed.success ? parsed.data : `payload invalid: ${parsed.error.message}`;
}
