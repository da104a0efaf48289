import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { configInvalidError, parseConfig, parseJsonConfig } from '../src/config-errors.js';
import { isRoomqError } from '../src/errors.js';

const schema = z.object({ listen: z.string().regex(/:\d+$/, 'expected host:port'), nested: z.object({ n: z.number() }).optional() }).strict();

function messageOf(input: unknown): string {
  try {
    parseConfig(schema, input, 'test config');
  } catch (err) {
    expect(isRoomqError(err, 'CONFIG_INVALID')).toBe(true);
    return (err as Error).message;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('config errors', () => {
  it('names each bad field by its path', () => {
    expect(messageOf({ listen: 'nowhere' })).toBe('test config: listen: expected host:port');
    expect(messageOf({ listen: 'a:1', nested: { n: 'x' } })).toMatch(/^test config: nested\.n: /);
  });

  it('says a missing field is required and lists unknown fields by name', () => {
    expect(messageOf({})).toBe('test config: listen: is required');
    expect(messageOf({ listen: 'a:1', extra: 1, more: 2 })).toBe('test config: unknown fields "extra", "more"');
  });

  it('carries the first bad field and the ZodError', () => {
    const result = schema.safeParse({ listen: 'nowhere' });
    const err = configInvalidError('test config', result.error!);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', details: { field: 'listen' }, retriable: false });
    expect(err.cause).toBe(result.error);
  });

  it('returns the parsed value with defaults', () => {
    expect(parseConfig(schema, { listen: 'a:1' }, 'test config')).toEqual({ listen: 'a:1' });
  });
});

describe('JSON configs', () => {
  it('parses text as JSON first and says when it is not JSON', () => {
    expect(parseJsonConfig(schema, '{"listen":"a:1"}', 'test config')).toEqual({ listen: 'a:1' });
    expect(() => parseJsonConfig(schema, '{ listen: ', 'test config')).toThrow(/^test config: not valid JSON \(/);
    expect(() => parseJsonConfig(schema, { listen: 'x' }, 'test config')).toThrow('test config: listen: expected host:port');
  });
});
