import type { MetricKey } from './comparison.js';
import { formatRatio } from './comparison-markdown.js';
import type { ComparisonResult } from './peer-comparison.js';
import { formatValue } from './report.js';
import { barChartSvg, type ChartPanel } from './svg-chart.js';

/** The figures people look at first; the tables hold the rest. */
function charted(result: ComparisonResult): Array<{ key: MetricKey; title: string }> {
  const { count, inFlight, e2eRatePerSec } = result.settings;
  const rate = `${formatValue(e2eRatePerSec)} msg/s`;
  return [
    { key: 'publish', title: `Async publish, ${formatValue(inFlight)} in flight (msg/s, higher is better)` },
    { key: 'consume', title: `Backlog consume of ~${formatValue(count)} (msg/s, higher is better)` },
    { key: 'syncP50', title: 'Sync publish p50, 1 in flight (ms, lower is better)' },
    { key: 'e2eP50', title: `End-to-end p50 at ${rate} (ms, lower is better)` },
    { key: 'e2eP99', title: `End-to-end p99 at ${rate} (ms, lower is better)` },
  ];
}

/** The chart uses short labels (the tables carry the long ones), so bars keep their room. */
export function comparisonChart(result: ComparisonResult, subtitle: string): string {
  const panels: ChartPanel[] = charted(result).map(({ key, title }) => {
    const row = result.rows.find((r) => r.key === key)!;
    return {
      title,
      bars: [
        { label: result.roomq.shortLabel, value: row.roomq, text: row.roomq === undefined ? '' : formatValue(row.roomq), highlight: true, hatched: !result.roomq.durability.fsyncedBeforeAck },
        ...(result.roomqAsync ? [{ label: result.roomqAsync.shortLabel, value: row.roomqAsync, text: row.roomqAsync === undefined ? '' : formatValue(row.roomqAsync), highlight: true, hatched: true }] : []),
        ...result.peers.map((peer, i) => {
          const cell = row.peers[i]!;
          const text = cell.value === undefined ? '' : `${formatValue(cell.value)}${cell.advantage === undefined ? '' : `  (roomq ${formatRatio(cell.advantage)})`}`;
          return { label: peer.shortLabel, value: cell.value, text, hatched: !peer.durability.fsyncedBeforeAck };
        }),
      ],
    };
  });
  return barChartSvg('roomq beside its peers, same machine, same run', subtitle, panels);
}
