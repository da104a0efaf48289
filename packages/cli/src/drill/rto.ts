import type { SendRecord } from './load.js';

/**
 * A send slower than this counts as failed for the error window: an application that waits seconds for an
 * acknowledgement is as unavailable as one that gets an error (sync:1 acks take milliseconds here).
 */
export const STALL_MS = 1000;

/** One room's producer around the cut. */
export interface ErrorWindow {
  room: string;
  /** Sends that settled after the cut. */
  sendsAfterCut: number;
  failedAfterCut: number;
  /** Acknowledged, but slower than STALL_MS. */
  slowAfterCut: number;
  /**
   * From the first send after the cut that failed (or stalled) to the acknowledgement of the first prompt
   * send started after the last one that failed: how long the application could not produce. 0 when none failed.
   */
  windowMs: number;
  windowStartMs: number | undefined;
  windowEndMs: number | undefined;
  /** Slowest acknowledgement after the cut. */
  maxLatencyMs: number;
  errorCodes: Record<string, number>;
}

export function errorWindow(records: readonly SendRecord[], room: string, cutAtMs: number, endAtMs = Number.POSITIVE_INFINITY): ErrorWindow {
  const after = records.filter((r) => r.settledAtMs >= cutAtMs && r.startedAtMs < endAtMs);
  const bad = after.filter((r) => !r.ok || r.settledAtMs - r.startedAtMs > STALL_MS);
  const errorCodes: Record<string, number> = {};
  for (const r of after) if (!r.ok) errorCodes[r.errorCode ?? 'UNKNOWN'] = (errorCodes[r.errorCode ?? 'UNKNOWN'] ?? 0) + 1;
  let maxLatencyMs = 0;
  for (const r of after) if (r.ok) maxLatencyMs = Math.max(maxLatencyMs, r.settledAtMs - r.startedAtMs);
  const base = {
    room,
    sendsAfterCut: after.length,
    failedAfterCut: after.filter((r) => !r.ok).length,
    slowAfterCut: bad.filter((r) => r.ok).length,
    maxLatencyMs: round1(maxLatencyMs),
    errorCodes,
  };
  if (bad.length === 0) return { ...base, windowMs: 0, windowStartMs: undefined, windowEndMs: undefined };
  const windowStartMs = Math.max(cutAtMs, Math.min(...bad.map((r) => r.startedAtMs)));
  const lastBadStart = Math.max(...bad.map((r) => r.startedAtMs));
  const recovered = after.filter((r) => r.ok && r.startedAtMs > lastBadStart && r.settledAtMs - r.startedAtMs <= STALL_MS);
  // No prompt send after the last failure: the load ended before the room recovered; the window runs to the end.
  const windowEndMs = recovered.length > 0 ? Math.min(...recovered.map((r) => r.settledAtMs)) : Math.max(...bad.map((r) => r.settledAtMs));
  return { ...base, windowMs: round1(windowEndMs - windowStartMs), windowStartMs, windowEndMs };
}

/** Acknowledgements from instances of the cut room while it was cut: what an isolated room went on accepting. */
export interface IsolatedAcks {
  room: string;
  count: number;
  /** The last such acknowledgement, after the cut; 0 when there was none. */
  lastAfterCutMs: number;
  byBroker: Record<string, number>;
}

export function isolatedAcks(records: readonly SendRecord[], cutRoom: string, cutAtMs: number, restoreAtMs: number): IsolatedAcks {
  const acks = records.filter((r) => r.ok && r.room === cutRoom && r.settledAtMs > cutAtMs && r.settledAtMs < restoreAtMs);
  const byBroker: Record<string, number> = {};
  for (const r of acks) byBroker[r.brokerName ?? ''] = (byBroker[r.brokerName ?? ''] ?? 0) + 1;
  const last = acks.reduce((max, r) => Math.max(max, r.settledAtMs), cutAtMs);
  return { room: cutRoom, count: acks.length, lastAfterCutMs: round1(last - cutAtMs), byBroker };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
