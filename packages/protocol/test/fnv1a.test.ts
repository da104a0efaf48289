import { describe, expect, it } from 'vitest';
import { FNV1A_OFFSET_BASIS, fnv1a } from '../src/fnv1a.js';

describe('fnv1a', () => {
  it('keeps the published FNV-1a 32 values: hashes on disk and queue choices depend on them', () => {
    expect(fnv1a('')).toBe(FNV1A_OFFSET_BASIS);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
    // A seed continues from another hash (the broker hashes a key within its topic this way).
    expect(fnv1a('bar', fnv1a('foo'))).toBe(fnv1a('foobar'));
  });

  it('gives one hash for equal text whatever kind of string V8 holds it in', () => {
    const id = '01BENCH00000000000000000000000001';
    const buf = Buffer.from(`xx${id}ключyy`);
    // Sequential, decoded from a buffer (Latin-1 and UTF-8), concatenated, parsed, sliced from a two-byte string.
    const kinds = [id, buf.toString('latin1', 2, 35), buf.toString('utf8', 2, 35), `01BENCH${'0'.repeat(25)}`.concat('1'), JSON.parse(`"${id}"`) as string, `${id}ключ`.slice(0, id.length)];
    for (const kind of kinds) expect(fnv1a(kind), kind).toBe(fnv1a(id));
    // UTF-16 code units, not bytes: a two-byte character is one unit.
    expect(fnv1a('ключ')).not.toBe(fnv1a(Buffer.from('ключ').toString('latin1')));
  });
});
