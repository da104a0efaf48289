import { describe, expect, it } from 'vitest';
import { formatTopicMode, parseTopicMode, preferredWriteRoom } from '../src/topic-mode.js';

describe('topic modes', () => {
  it('parses and formats both kinds', () => {
    expect(parseTopicMode('active-active')).toEqual({ kind: 'active-active' });
    expect(parseTopicMode('home:dc2')).toEqual({ kind: 'home', room: 'dc2' });
    expect(formatTopicMode(parseTopicMode('home:dc2'))).toBe('home:dc2');
  });

  it('rejects anything else, saying what is valid', () => {
    expect(() => parseTopicMode('home:')).toThrow(/invalid room/);
    expect(() => parseTopicMode('home:DC 1')).toThrow(/invalid room/);
    expect(() => parseTopicMode('nearest')).toThrow(/active-active or home:<room>/);
  });

  it('sends home-mode producers home and active-active producers to their own room', () => {
    expect(preferredWriteRoom({ kind: 'home', room: 'dc1' }, 'dc2')).toBe('dc1');
    expect(preferredWriteRoom({ kind: 'active-active' }, 'dc2')).toBe('dc2');
  });
});
