/** Printing for ops commands: every command has human output and `--json` (one JSON object per line). */

export interface Output {
  json: boolean;
  /** A result: JSON mode prints `data` as one line, human mode prints `human()`. */
  result(data: unknown, human: () => string): void;
  /** Progress for people on stderr; silent in JSON mode so stdout stays machine-readable. */
  progress(text: string): void;
}

export function makeOutput(json: boolean): Output {
  return {
    json,
    result(data, human) {
      process.stdout.write(json ? `${JSON.stringify(data)}\n` : `${human()}\n`);
    },
    progress(text) {
      if (!json && process.stderr.isTTY) process.stderr.write(`\r${text}\x1b[K`);
    },
  };
}

/** Left-aligned text table. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatRate(perSecond: number): string {
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k/s` : `${perSecond.toFixed(0)}/s`;
}

/** Percentiles of a list of latencies in ms (sorted in place). */
export function percentiles(values: number[], ps: readonly number[] = [50, 90, 99, 99.9]): Record<string, number> {
  values.sort((a, b) => a - b);
  const out: Record<string, number> = {};
  for (const p of ps) {
    const index = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1));
    out[`p${p}`] = values.length === 0 ? 0 : round3(values[index]!);
  }
  out['max'] = values.length === 0 ? 0 : round3(values[values.length - 1]!);
  return out;
}

export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
