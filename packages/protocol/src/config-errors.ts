import type { z } from 'zod';
import { RoomqError } from './errors.js';

/**
 * Names every problem by its field path, `; `-separated, e.g. `listen: expected host:port; routers: is required`.
 * Unknown fields are listed by name; a missing required field reads `is required`.
 */
export function describeZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
        return `${where}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      }
      const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      const message = issue.code === 'invalid_type' && /received undefined$/.test(issue.message) ? 'is required' : issue.message;
      return `${where}: ${message}`;
    })
    .join('; ');
}

/**
 * CONFIG_INVALID for a config or options object that failed its schema: `<context>: <problems>`, with the path
 * of the first bad field in `details.field` and the ZodError as `cause`.
 */
export function configInvalidError(context: string, error: z.ZodError): RoomqError {
  return new RoomqError('CONFIG_INVALID', `${context}: ${describeZodIssues(error)}`, {
    details: { field: error.issues[0]?.path.join('.') ?? '' },
    cause: error,
  });
}

/** Parses `input` with `schema` once, at construction or start; a bad value throws `configInvalidError(context, …)`. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, context: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw configInvalidError(context, result.error);
}

/**
 * parseConfig for a config that may still be a file's text: a string is parsed as JSON first, and text that is
 * not JSON throws CONFIG_INVALID `<context>: not valid JSON (…)`.
 */
export function parseJsonConfig<S extends z.ZodType>(schema: S, json: unknown, context: string): z.output<S> {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new RoomqError('CONFIG_INVALID', `${context}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
  }
  return parseConfig(schema, value, context);
}
