import { describe, expect, it } from 'vitest';
import { SILENT_LOGGER, isLogger } from '../src/logger.js';

describe('logger', () => {
  it('accepts anything with the Logger methods, such as the silent logger', () => {
    expect(isLogger(SILENT_LOGGER)).toBe(true);
    expect(isLogger(SILENT_LOGGER.child({ component: 'x' }))).toBe(true);
  });

  it('refuses what lacks a method', () => {
    expect(isLogger(undefined)).toBe(false);
    expect(isLogger(console)).toBe(false);
    expect(isLogger({ ...SILENT_LOGGER, child: undefined })).toBe(false);
  });
});
