/**
 * Horizontal bar charts as a standalone SVG, written by hand so the bench needs no plotting or image
 * dependency. One panel per metric, one bar per system, each panel on its own linear scale from zero.
 */

export interface ChartBar {
  label: string;
  /** Undefined draws no bar and says "not measured". */
  value: number | undefined;
  /** Text after the bar, e.g. "83,417 (2.1×)". */
  text: string;
  /** roomq's own bar. */
  highlight?: boolean;
  /** A system whose acknowledgement does not mean fsynced: drawn hatched. */
  hatched?: boolean;
}

export interface ChartPanel {
  title: string;
  bars: readonly ChartBar[];
}

const WIDTH = 880;
const LABEL_WIDTH = 250;
const BAR_AREA = 420;
const BAR_HEIGHT = 18;
const BAR_GAP = 6;
const PANEL_TITLE = 26;
const PANEL_GAP = 18;
const HEADER = 62;
const FOOTER = 30;
const COLOR_ROOMQ = '#2563eb';
const COLOR_PEER = '#9ca3af';

export function barChartSvg(title: string, subtitle: string, panels: readonly ChartPanel[]): string {
  const height = HEADER + panels.reduce((h, p) => h + PANEL_TITLE + p.bars.length * (BAR_HEIGHT + BAR_GAP) + PANEL_GAP, 0) + FOOTER;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#e5e7eb"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="3"/></pattern>' +
      `<pattern id="hatch-roomq" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#bfdbfe"/><line x1="0" y1="0" x2="0" y2="6" stroke="${COLOR_ROOMQ}" stroke-width="3"/></pattern></defs>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="26" font-size="17" font-weight="600">${escapeXml(title)}</text>`,
    `<text x="16" y="46" fill="#4b5563">${escapeXml(subtitle)}</text>`,
  ];
  let y = HEADER;
  for (const panel of panels) {
    out.push(`<text x="16" y="${y + 16}" font-size="13" font-weight="600">${escapeXml(panel.title)}</text>`);
    y += PANEL_TITLE;
    const max = Math.max(0, ...panel.bars.map((b) => b.value ?? 0));
    for (const bar of panel.bars) {
      const mid = y + BAR_HEIGHT / 2 + 4;
      out.push(`<text x="${LABEL_WIDTH - 8}" y="${mid}" text-anchor="end"${bar.highlight ? ' font-weight="600"' : ''}>${escapeXml(bar.label)}</text>`);
      if (bar.value === undefined || max <= 0) {
        out.push(`<text x="${LABEL_WIDTH}" y="${mid}" fill="#6b7280">not measured</text>`);
      } else {
        const width = Math.max(1, (bar.value / max) * BAR_AREA);
        const fill = bar.highlight ? (bar.hatched ? 'url(#hatch-roomq)' : COLOR_ROOMQ) : bar.hatched ? 'url(#hatch)' : COLOR_PEER;
        out.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${fill}"/>`);
        out.push(`<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${mid}">${escapeXml(bar.text)}</text>`);
      }
      y += BAR_HEIGHT + BAR_GAP;
    }
    y += PANEL_GAP;
  }
  out.push(`<rect x="16" y="${y + 2}" width="14" height="10" fill="url(#hatch)"/>`);
  out.push(`<text x="36" y="${y + 11}" fill="#4b5563">hatched: acknowledged before fsync. Ratios: how many times better roomq is (above 1× roomq is ahead).</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
