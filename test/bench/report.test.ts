import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { parse } from 'node-html-parser';
import { describe, expect, it } from 'vitest';
import { baselineFrom } from '../../bench/gate.ts';
import type { LoadSettings, Measurement } from '../../bench/measure.ts';
import { type ReportInput, renderReport, writeReport } from '../../bench/report.ts';

const LOAD: LoadSettings = { connections: 32, warmup: 1, slice: 1.5, slices: 5 };

function measurement(scenario: string, ratio: number, cpuRatio: number, rps: number, latency: [number, number, number]): Measurement {
  const [p50, p90, p99] = latency;
  return {
    scenario,
    ratio,
    cpuRatio,
    responseBytes: 9400,
    app: { rps, p50_ms: p50, p90_ms: p90, p99_ms: p99, failures: 0, cpu_us_per_request: 250 },
    bare: { rps: rps / ratio, p50_ms: 1, p90_ms: 2, p99_ms: 3, failures: 0, cpu_us_per_request: 250 * cpuRatio },
  };
}

const baseline = baselineFrom(
  [0, 1, 2].map(() => [measurement('list articles (anonymous)', 0.3, 0.2, 4000, [7, 9, 17])]),
  LOAD,
  new Date('2026-12-03T10:00:00Z'),
);

const input: ReportInput = {
  title: 'Shipshape performance gate (SQLite)',
  generatedAt: new Date('2026-12-03T11:00:00Z'),
  dialect: 'sqlite',
  load: LOAD,
  // The second scenario has no baseline; its name needs escaping in XML.
  measurements: [measurement('list articles (anonymous)', 0.25, 0.16, 3500, [8, 11, 21]), measurement('tags <&> "quoted"', 0.5, 0.4, 12000, [2, 3, 5])],
  baseline,
  verdicts: [{ scenario: 'list articles (anonymous)', checks: [], passed: false, reason: 'REGRESSION: CPU ratio more than 10 % below the baseline' }],
};

/** Every bar of every chart: its scenario, series and value as drawn. */
function bars(html: string): { chart: string; group: string; series: string; value: string }[] {
  return parse(html)
    .querySelectorAll('svg')
    .flatMap((svg) => svg.querySelectorAll('g.bar').map((bar) => ({ chart: svg.getAttribute('aria-label')!, group: bar.getAttribute('data-group')!, series: bar.getAttribute('data-series')!, value: bar.getAttribute('data-value')! })));
}

describe('the benchmark report', () => {
  const html = renderReport(input);

  it('is a well-formed XHTML document whose inline charts are well-formed SVG', () => {
    expect(XMLValidator.validate(html)).toBe(true);
    const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((match) => match[0]);

    expect(svgs).toHaveLength(4);
    for (const svg of svgs) expect(XMLValidator.validate(svg)).toBe(true);
    expect(parse(html).querySelectorAll('svg').map((svg) => svg.getAttribute('xmlns'))).toEqual(Array(4).fill('http://www.w3.org/2000/svg'));
  });

  it('draws the ratio, throughput and latency percentiles of every scenario, now and against the baseline', () => {
    const drawn = bars(html);
    const of = (chart: string, group: string) => Object.fromEntries(drawn.filter((bar) => bar.chart.startsWith(chart) && bar.group === group).map((bar) => [bar.series, bar.value]));

    expect(of('App throughput as a share', 'list articles (anonymous)')).toEqual({ now: '0.250', baseline: '0.300' });
    expect(of('Bare node:http CPU time', 'list articles (anonymous)')).toEqual({ now: '0.160', baseline: '0.200' });
    expect(of('Bare node:http CPU time', 'tags <&> "quoted"')).toEqual({ now: '0.400' });
    expect(of('Throughput', 'list articles (anonymous)')).toEqual({ 'app now': '3500', 'app baseline': '4000', 'bare node:http now': '14000' });
    expect(of('App latency', 'list articles (anonymous)')).toEqual({ 'p50 now': '8.0', 'p50 baseline': '7.0', 'p90 now': '11.0', 'p90 baseline': '9.0', 'p99 now': '21.0', 'p99 baseline': '17.0' });
    expect(of('App latency', 'tags <&> "quoted"')).toEqual({ 'p50 now': '2.0', 'p90 now': '3.0', 'p99 now': '5.0' });
    expect(of('Throughput', 'tags <&> "quoted"')).toEqual({ 'app now': '12000', 'bare node:http now': '24000' });
  });

  it('scales each chart to its largest value, so bars compare within a chart', () => {
    const widths = parse(html)
      .querySelectorAll('svg')[2]!
      .querySelectorAll('g.bar rect')
      .map((rect) => Number(rect.getAttribute('width')));

    expect(Math.max(...widths)).toBe(460);
    expect(widths).toContain(Number(((460 * 3500) / 24000).toFixed(1)));
  });

  it('lists the figures and the gate verdict of every scenario in a table', () => {
    const rows = parse(html)
      .querySelectorAll('tbody tr')
      .map((row) => row.querySelectorAll('td').map((cell) => cell.text));

    expect(rows).toEqual([
      ['list articles (anonymous)', '0.250', '0.300', '0.160', '0.200', '3500', '14000', '8.0', '11.0', '21.0', '250', '9400', '0', 'FAIL: REGRESSION: CPU ratio more than 10 % below the baseline'],
      ['tags <&> "quoted"', '0.500', '-', '0.400', '-', '12000', '24000', '2.0', '3.0', '5.0', '250', '9400', '0', '-'],
    ]);
  });

  it('is written as index.html in the directory asked for', () => {
    const directory = mkdtempSync(join(tmpdir(), 'shipshape-report-'));
    try {
      const path = writeReport(join(directory, 'report'), input);

      expect(path).toBe(join(directory, 'report', 'index.html'));
      expect(readFileSync(path, 'utf8')).toBe(html);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
