/**
 * Consume-queue entry, format 1. A consume queue is an array of these, one per message of one (topic, queueId),
 * in queue-offset order: entry N of the queue is at byte N * 16 of the queue's concatenated files, so finding a
 * queue offset is arithmetic. Big-endian.
 *
 *   offset  size  field
 *   0       8     physicalOffset   where the MESSAGE record starts in the commit log
 *   8       4     size             the record's totalLength; 0 marks a message lost in a corrupt log range
 *                                  (physicalOffset is then the start of that range)
 *   12      4     tagHash          hashTag(tag) of the message, for server-side tag filtering
 *
 * Files: <dataDir>/consumequeue/<topic>/<queueId>/<20-digit first queue offset>, each holding
 * `consumeQueueEntriesPerFile` entries when full.
 */
import { FNV1A_OFFSET_BASIS, fnv1a, readU64 } from '@roomq/protocol';
import { putU32, putU64 } from './big-endian.js';

export const CQ_ENTRY_SIZE = 16;

export interface ConsumeQueueEntry {
  physicalOffset: number;
  size: number;
  tagHash: number;
}

export function writeCqEntry(target: Buffer, at: number, physicalOffset: number, size: number, tagHash: number): void {
  putU64(target, at, physicalOffset);
  putU32(target, at + 8, size);
  putU32(target, at + 12, tagHash);
}

export function cqPhysicalOffset(buf: Buffer, at: number): number {
  return readU64(buf, at);
}

export function cqSize(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at + 8);
}

export function readCqEntry(buf: Buffer, at: number): ConsumeQueueEntry {
  return { physicalOffset: readU64(buf, at), size: buf.readUInt32BE(at + 8), tagHash: buf.readUInt32BE(at + 12) };
}

/** 32-bit FNV-1a of a string's UTF-16 code units; stable across versions (it is stored on disk). */
export function hashString(value: string, seed = FNV1A_OFFSET_BASIS): number {
  return fnv1a(value, seed);
}

/** The tag hash stored in consume-queue entries; 0 for no tag. */
export function hashTag(tag: string): number {
  return tag === '' ? 0 : hashString(tag) || 1;
}

/**
 * hashString of the UTF-8 string in `buf[start, end)`, without decoding it when it is ASCII (then its bytes are
 * its UTF-16 code units); other strings are decoded as summarizeMessageSection decodes them.
 */
export function hashStringBytes(buf: Buffer, start: number, end: number, seed = FNV1A_OFFSET_BASIS): number {
  let h = seed;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    if (byte >= 0x80) return hashString(buf.toString('utf8', start, end), seed);
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** hashTag of the tag in `buf[start, end)`. */
export function hashTagBytes(buf: Buffer, start: number, end: number): number {
  return start === end ? 0 : hashStringBytes(buf, start, end) || 1;
}
