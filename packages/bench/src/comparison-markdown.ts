import type { ComparisonRow, SubjectResult, TargetVerdict } from './comparison.js';
import { formatValue } from './report.js';

/** A peer that was asked for (or would have run by default) and did not, and why. */
export interface SkippedPeer {
  peer: string;
  variant?: string;
  reason: string;
}

export interface ComparisonTables {
  /** What the scenarios were run with, e.g. "1 KiB messages, 200,000 published then consumed, …". */
  setup: string;
  roomq: SubjectResult;
  roomqAsync?: SubjectResult | undefined;
  peers: readonly SubjectResult[];
  rows: readonly ComparisonRow[];
  targets: readonly TargetVerdict[];
  skipped: readonly SkippedPeer[];
  /** File name of the chart beside the markdown, if one was written. */
  chart?: string;
}

/** The side-by-side section of the report: figures with ratios, what each ack means, targets, skips. */
export function comparisonMarkdown(t: ComparisonTables): string {
  const out: string[] = ['## Side by side', '', t.setup, ''];
  out.push(`Each peer cell is \`value (ratio)\`; the ratio is how many times better ${t.roomq.label} is: roomq ÷ peer for throughput, peer ÷ roomq for latency, so above 1× roomq is ahead.${t.roomqAsync ? ` ${t.roomqAsync.label} acks before fsync, as NATS JetStream and Redis everysec do; it is shown for that comparison and judged only in it.` : ''}`, '');
  const roomqs = t.roomqAsync ? [t.roomq, t.roomqAsync] : [t.roomq];
  out.push(tableRow(['scenario', 'metric', 'unit', ...roomqs.map((r) => r.label), ...t.peers.map((p) => p.label)]));
  out.push(tableRow(['---', '---', '---', ...roomqs.map(() => '---:'), ...t.peers.map(() => '---:')]));
  for (const row of t.rows) {
    const cells = row.peers.map((p) => (p.value === undefined ? '—' : `${formatValue(p.value)}${p.advantage === undefined ? '' : ` (${formatRatio(p.advantage)})`}`));
    const mine = t.roomqAsync ? [row.roomq, row.roomqAsync] : [row.roomq];
    out.push(tableRow([row.scenario, row.metric, row.unit, ...mine.map((v) => (v === undefined ? '—' : formatValue(v))), ...cells]));
  }
  if (t.chart) out.push('', `![side by side](${t.chart})`);

  out.push('', '### What an acknowledgement means', '', '| system | fsynced before ack | ack means |', '| --- | --- | --- |');
  const subjects = [t.roomq, ...(t.roomqAsync ? [t.roomqAsync] : []), ...t.peers];
  for (const s of subjects) out.push(`| ${s.label} | ${s.durability.fsyncedBeforeAck ? 'yes' : '**no**'} | ${s.durability.ackMeans} |`);

  out.push('', '### Targets (ratios from this run)', '', '| target | roomq | compared with | ratio | needed | result |', '| --- | ---: | --- | ---: | ---: | --- |');
  for (const v of t.targets) {
    const against = v.against ? `${v.against.label}: ${formatValue(v.against.value)}` : v.note;
    out.push(`| ${v.target} | ${v.roomq === undefined ? '—' : formatValue(v.roomq)} | ${against} | ${v.ratio === undefined ? '—' : formatRatio(v.ratio)} | ${formatRatio(v.needed)} | ${v.status === 'met' ? 'met' : v.status === 'missed' ? '**missed**' : 'not evaluated'} |`);
  }

  // Subjects run one after another, so a burst of other work on the machine lands on some of them only.
  const loads = subjects.filter((s) => s.loadAverage !== undefined).map((s) => `${s.shortLabel} ${s.loadAverage}`);
  const notes = [
    ...(loads.length > 0 ? [`1-minute load average as each system started (the bench's own client and server count too): ${loads.join(', ')}`] : []),
    ...t.skipped.map((s) => `skipped ${s.variant ? `${s.peer}:${s.variant}` : s.peer}: ${s.reason}`),
    ...subjects.flatMap((s) => s.notes.map((n) => `${s.label}: ${n}`)),
  ];
  if (notes.length > 0) out.push('', '### Notes', '', ...notes.map((n) => `- ${n}`));
  return out.join('\n');
}

export function formatRatio(ratio: number): string {
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

function tableRow(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}
