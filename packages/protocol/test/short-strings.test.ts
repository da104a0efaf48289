import { describe, expect, it } from 'vitest';
import { utf8Length, writeUtf8 } from '../src/short-strings.js';

describe('utf8Length and writeUtf8', () => {
  const samples = ['', 'a', 'orders', '01J0000000000000000000000abc', 'tøpic', 'ключ', '主题', 'emoji 😀', '\u0000x', '\u007f', '\u0080', 'x'.repeat(64), 'y'.repeat(65), `${'z'.repeat(63)}é`, `${'z'.repeat(70)}é`];

  it('gives the same length and bytes as Buffer, ASCII or not, short or long', () => {
    for (const text of samples) {
      expect(utf8Length(text), text).toBe(Buffer.byteLength(text, 'utf8'));
      const target = Buffer.alloc(utf8Length(text) + 4, 0xee);
      const written = writeUtf8(target, 2, text);
      expect(written, text).toBe(Buffer.byteLength(text, 'utf8'));
      expect(target.subarray(2, 2 + written).equals(Buffer.from(text, 'utf8')), text).toBe(true);
      // Nothing outside its range is touched.
      expect([target[0], target[1], target[2 + written], target[3 + written]], text).toEqual([0xee, 0xee, 0xee, 0xee]);
    }
  });

  it('treats strings of any internal kind alike', () => {
    const buf = Buffer.from('xxchain-01J000000000000yy');
    const kinds = ['chain-01J000000000000', buf.toString('latin1', 2, 23), buf.toString('utf8', 2, 23), 'chain-'.concat('01J000000000000'), JSON.parse('"chain-01J000000000000"') as string];
    for (const kind of kinds) {
      const target = Buffer.alloc(utf8Length(kind));
      writeUtf8(target, 0, kind);
      expect(target.toString('utf8')).toBe('chain-01J000000000000');
    }
  });

  it('writes no more than fits when a target is too short, as Buffer.write does', () => {
    for (const text of ['orders', 'tøpic']) {
      const ours = Buffer.alloc(4, 0xee);
      const theirs = Buffer.alloc(4, 0xee);
      expect(writeUtf8(ours, 1, text), text).toBe(theirs.write(text, 1, 'utf8'));
      expect(ours.equals(theirs), text).toBe(true);
    }
  });
});
