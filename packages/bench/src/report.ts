/** One measured figure of a bench run, with its unit and what it is compared against. */
export interface Figure {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
  /** What the figure is judged against, e.g. "target ≥ 80000" or "52% of disk ceiling". */
  note?: string;
}

export class Report {
  readonly figures: Figure[] = [];
  readonly startedAt = new Date().toISOString();

  add(figure: Figure): void {
    this.figures.push(figure);
    if (!jsonMode) process.stderr.write(`  ${figure.scenario} · ${figure.metric}: ${formatValue(figure.value)} ${figure.unit}${figure.note ? `  (${figure.note})` : ''}\n`);
  }

  get(scenario: string, metric: string): number | undefined {
    return this.figures.find((f) => f.scenario === scenario && f.metric === metric)?.value;
  }

  markdown(): string {
    const lines = ['| scenario | metric | value | unit | note |', '| --- | --- | ---: | --- | --- |'];
    for (const f of this.figures) lines.push(`| ${f.scenario} | ${f.metric} | ${formatValue(f.value)} | ${f.unit} | ${f.note ?? ''} |`);
    return lines.join('\n');
  }
}

export let jsonMode = false;
export function setJsonMode(on: boolean): void {
  jsonMode = on;
}

export function formatValue(n: number): string {
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(3);
}

export function section(title: string): void {
  if (!jsonMode) process.stderr.write(`\n${title}\n`);
}

/** A line of progress on stderr; silent under --json, whose stdout must end in one JSON object. */
export function progress(line: string): void {
  if (!jsonMode) process.stderr.write(`${line}\n`);
}
