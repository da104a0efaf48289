import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

/** The machine counts as quiet once this share of its CPU time was idle over one sample window. */
const QUIET_IDLE_SHARE = 0.85;
const SAMPLE_MS = 500;
/** Longest wait for quiet; a machine that stays busy is measured anyway (the report shows its load average). */
const MAX_SETTLE_MS = 20_000;

export interface Settled {
  waitedMs: number;
  /** Idle share of all cores over the last sample window; undefined where /proc/stat is missing. */
  idleShare: number | undefined;
}

/**
 * Waits until the previous scenario's leftovers are gone, so that every system starts a scenario on the same
 * quiet machine: first the dirty pages earlier scenarios left (one system's unsynced writes would otherwise be
 * written back during the next one's fsyncs), then CPU work still running (servers stopping, background
 * compaction, the kernel's writeback). Called before every scenario of every system alike.
 */
export async function settle(): Promise<Settled> {
  const started = performance.now();
  await promisify(execFile)('sync').catch(() => undefined);
  let idleShare: number | undefined;
  for (;;) {
    const before = await cpuTimes();
    await sleep(SAMPLE_MS);
    const after = await cpuTimes();
    if (!before || !after) break;
    const total = after.total - before.total;
    idleShare = total > 0 ? (after.idle - before.idle) / total : 1;
    if (idleShare >= QUIET_IDLE_SHARE || performance.now() - started >= MAX_SETTLE_MS) break;
  }
  return { waitedMs: Math.round(performance.now() - started), idleShare };
}

/** Jiffies of all CPUs from the first line of /proc/stat: idle (idle + iowait) and total. */
async function cpuTimes(): Promise<{ idle: number; total: number } | undefined> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const fields = stat?.split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number);
  if (!fields || fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
  return { idle: fields[3]! + fields[4]!, total: fields.reduce((sum, n) => sum + n, 0) };
}
