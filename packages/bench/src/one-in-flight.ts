import { percentiles } from '@roomq/cli';

/**
 * Latency of `op` with exactly one call in flight, after `warmup` untimed calls: p50, p99, p99.9 and max (ms).
 * `between` runs untimed after each call.
 */
export async function oneInFlight(
  op: (i: number) => Promise<unknown>,
  warmup: number,
  count: number,
  between: () => Promise<void> = () => Promise.resolve(),
): Promise<Record<string, number>> {
  for (let i = 0; i < warmup; i++) {
    await op(i);
    await between();
  }
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await op(i);
    latencies.push(performance.now() - t0);
    await between();
  }
  return percentiles(latencies, [50, 99, 99.9]);
}
