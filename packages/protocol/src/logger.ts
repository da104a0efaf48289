/**
 * The logger roomq libraries write to: a structural subset of pino's API, so a pino logger can be passed as it
 * is while the libraries (the client SDK above all) never depend on pino. Silent by default.
 */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** Discards everything; the default of every library component. */
export const SILENT_LOGGER: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => SILENT_LOGGER,
};

const LOGGER_METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'child'] as const;

/** True for anything with the methods of `Logger` (pino loggers are); for options schemas. */
export function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && LOGGER_METHODS.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}
