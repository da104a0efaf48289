/**
 * Message index entry, format 1: the on-disk part of the message-ID and key index. An index file is an
 * append-only array of 20-byte entries; the hash slot table (slot -> newest entry) is kept in memory and
 * rebuilt from the entries when the file is loaded, so the file is only ever appended to. Big-endian.
 *
 *   offset  size  field
 *   0       4     hash             indexHash(...) of the key or message ID
 *   4       8     physicalOffset   where the MESSAGE record starts in the commit log
 *   12      4     size             the record's totalLength
 *   16      4     previous         1 + number of the previous entry in this file with the same slot; 0 = none
 *
 * Files: <dataDir>/index/<20-digit number of the file's first entry across all index files>.
 * Lookups follow the chain and verify the record itself, so hash collisions never return a wrong message.
 */
import { readU64 } from '@roomq/protocol';
import { putU32, putU64 } from './big-endian.js';
import { hashString, hashStringBytes } from './consume-queue-codec.js';

export const INDEX_ENTRY_SIZE = 20;

export interface IndexEntry {
  hash: number;
  physicalOffset: number;
  size: number;
  previous: number;
}

export function writeIndexEntry(target: Buffer, at: number, hash: number, physicalOffset: number, size: number, previous: number): void {
  putU32(target, at, hash);
  putU64(target, at + 4, physicalOffset);
  putU32(target, at + 12, size);
  putU32(target, at + 16, previous);
}

export function readIndexEntry(buf: Buffer, at: number): IndexEntry {
  return {
    hash: buf.readUInt32BE(at),
    physicalOffset: readU64(buf, at + 4),
    size: buf.readUInt32BE(at + 12),
    previous: buf.readUInt32BE(at + 16),
  };
}

export function indexHashOfEntry(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at);
}

/** Hash of a message ID (topic-independent: IDs are globally unique). */
export function messageIdHash(messageId: string): number {
  return hashString(messageId, 0x1b873593);
}

/** Hash of a key within a topic. */
export function keyHash(topic: string, key: string): number {
  return hashString(key, hashString(topic));
}

/** The per-topic part of keyHash, for hashing many keys of one topic: keyHashWithSeed(keyHashSeed(t), k) === keyHash(t, k). */
export function keyHashSeed(topic: string): number {
  return hashString(topic);
}

export function keyHashWithSeed(seed: number, key: string): number {
  return hashString(key, seed);
}

/** messageIdHash of the ID in `buf[start, end)` (UTF-8), without decoding it when it is ASCII. */
export function messageIdHashBytes(buf: Buffer, start: number, end: number): number {
  return hashStringBytes(buf, start, end, 0x1b873593);
}

/** keyHashWithSeed of the key in `buf[start, end)` (UTF-8), without decoding it when it is ASCII. */
export function keyHashBytesWithSeed(seed: number, buf: Buffer, start: number, end: number): number {
  return hashStringBytes(buf, start, end, seed);
}
