import { RoomqError, sleep } from '@roomq/protocol';

/** How often a waited-for condition is checked. */
const POLL_MS = 100;

/**
 * Polls `check` until it returns a value other than undefined/false, or `timeoutMs` passes (TIMEOUT naming
 * `what` and the last reason `check` gave through `explain`). Errors thrown by `check` count as "not yet".
 */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: { signal?: AbortSignal | undefined; explain?: () => string; onPoll?: () => void } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    options.onPoll?.();
    if (performance.now() > deadline) {
      const why = options.explain?.() ?? (lastError instanceof Error ? lastError.message : '');
      throw new RoomqError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}${why ? `: ${why}` : ''}`, { cause: lastError });
    }
    await sleep(POLL_MS, options.signal);
  }
}
