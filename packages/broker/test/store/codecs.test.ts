import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/store/checkpoint-codec.js';
import { hashString, hashStringBytes, hashTag, hashTagBytes, readCqEntry, writeCqEntry } from '../../src/store/consume-queue-codec.js';
import { keyHash, keyHashBytesWithSeed, keyHashSeed, messageIdHash, messageIdHashBytes, readIndexEntry, writeIndexEntry } from '../../src/store/index-codec.js';

describe('store codecs', () => {
  it('encodes consume-queue entries with the documented layout', () => {
    const buf = Buffer.alloc(16);
    writeCqEntry(buf, 0, 0x1_0000_0002, 1064, 0xdeadbeef);
    expect(buf.toString('hex')).toBe('0000000100000002' + '00000428' + 'deadbeef');
    expect(readCqEntry(buf, 0)).toEqual({ physicalOffset: 0x1_0000_0002, size: 1064, tagHash: 0xdeadbeef });
  });

  it('encodes index entries with the documented layout', () => {
    const buf = Buffer.alloc(20);
    writeIndexEntry(buf, 0, 7, 300, 64, 2);
    expect(buf.toString('hex')).toBe('00000007' + '000000000000012c' + '00000040' + '00000002');
    expect(readIndexEntry(buf, 0)).toEqual({ hash: 7, physicalOffset: 300, size: 64, previous: 2 });
  });

  it('round-trips a checkpoint and refuses a damaged one', () => {
    const data = {
      flushedOffset: 10,
      derivedOffset: 10,
      queues: [{ topic: 't', queueId: 1, entries: 3 }],
      indexEntries: 6,
      offsets: [{ group: 'g', topic: 't', queueId: 1, offset: 2 }],
      corruptRanges: [],
    };
    const bytes = encodeCheckpoint(data);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('5251435000010000');
    expect(decodeCheckpoint(bytes)).toEqual(data);
    const damaged = Buffer.from(bytes);
    damaged[damaged.length - 2]! ^= 1;
    expect(decodeCheckpoint(damaged)).toBe('checksum mismatch');
    expect(decodeCheckpoint(bytes.subarray(0, 10))).toBe('file is shorter than its header');
  });

  it('hashes a string from its UTF-8 bytes exactly as from the string, ASCII or not', () => {
    for (const text of ['', 'a', 'orders', 'k-123', 'tøpic', 'ключ', '主题', 'emoji 😀', '\u0000x']) {
      const buf = Buffer.concat([Buffer.from('<<'), Buffer.from(text), Buffer.from('>>')]);
      const [start, end] = [2, buf.length - 2];
      expect(hashStringBytes(buf, start, end), text).toBe(hashString(text));
      expect(hashStringBytes(buf, start, end, 7), text).toBe(hashString(text, 7));
      expect(hashTagBytes(buf, start, end), text).toBe(hashTag(text));
      expect(messageIdHashBytes(buf, start, end), text).toBe(messageIdHash(text));
      expect(keyHashBytesWithSeed(keyHashSeed('tøpic'), buf, start, end), text).toBe(keyHash('tøpic', text));
    }
  });
});
