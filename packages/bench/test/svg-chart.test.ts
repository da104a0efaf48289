import { describe, expect, it } from 'vitest';
import { barChartSvg, escapeXml } from '../src/svg-chart.js';

describe('barChartSvg', () => {
  const svg = barChartSvg('a <title> & more', 'sub', [
    {
      title: 'publish',
      bars: [
        { label: 'roomq', value: 100, text: '100', highlight: true },
        { label: 'peer "x"', value: 50, text: '50 (2×)', hatched: true },
        { label: 'missing', value: undefined, text: '' },
      ],
    },
  ]);

  it('is one standalone SVG document with its text escaped', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('a &lt;title&gt; &amp; more');
    expect(svg).toContain('peer &quot;x&quot;');
  });

  it('scales bars to the panel maximum and draws none for a missing value', () => {
    const widths = [...svg.matchAll(/<rect x="250" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual([420, 210]);
    expect(svg).toContain('not measured');
  });

  it('hatches a system that acknowledges before fsync', () => {
    expect(svg).toMatch(/width="210.0" height="18" fill="url\(#hatch\)"/);
  });
});

describe('escapeXml', () => {
  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a b="c" d='e'>&`)).toBe('&lt;a b=&quot;c&quot; d=&apos;e&apos;&gt;&amp;');
  });
});
