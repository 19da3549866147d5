/**
 * The benchmark's report for a person: one self-contained HTML page (well-formed XHTML, inline
 * SVG bar charts, no scripts) with the ratio to bare node:http, the throughput and the latency
 * percentiles of every scenario measured, next to the committed baseline where it has one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Baseline, Verdict } from './gate.ts';
import type { LoadSettings, Measurement } from './measure.ts';

export interface ReportInput {
  readonly title: string;
  readonly generatedAt: Date;
  readonly dialect: string;
  readonly load: LoadSettings;
  readonly measurements: readonly Measurement[];
  readonly baseline?: Baseline;
  readonly verdicts?: readonly Verdict[];
}

export interface Series {
  readonly name: string;
  readonly color: string;
}

export interface BarGroup {
  readonly label: string;
  /** One value per series, in the chart's series order; undefined draws no bar (no baseline). */
  readonly values: readonly (number | undefined)[];
}

export interface BarChart {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly Series[];
  readonly groups: readonly BarGroup[];
  readonly digits: number;
}

const NOW = '#2b6cb0';
const BASELINE = '#a0aec0';
const BARE = '#38a169';

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const LABEL_WIDTH = 190;
const PLOT_WIDTH = 460;
const VALUE_WIDTH = 90;
const BAR_HEIGHT = 12;
const BAR_GAP = 2;
const GROUP_GAP = 12;
const TOP = 34;
const LEGEND_ITEM_WIDTH = 130;
const LEGEND_ROW_HEIGHT = 16;

/** Horizontal grouped bars, one group per scenario; every bar carries its exact value. */
export function barChartSvg(chart: BarChart): string {
  const max = Math.max(0, ...chart.groups.flatMap((group) => group.values.filter((value): value is number => value !== undefined)));
  const scale = max > 0 ? PLOT_WIDTH / max : 0;
  const groupHeight = chart.series.length * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP;
  const width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
  const legendPerRow = Math.floor((PLOT_WIDTH + VALUE_WIDTH) / LEGEND_ITEM_WIDTH);
  const legendTop = TOP + chart.groups.length * groupHeight;
  const height = legendTop + Math.ceil(chart.series.length / legendPerRow) * LEGEND_ROW_HEIGHT;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(chart.title)}" font-family="sans-serif" font-size="11">`,
    `<text x="0" y="16" font-size="14" font-weight="bold">${escapeXml(`${chart.title} (${chart.unit})`)}</text>`,
  ];
  chart.groups.forEach((group, groupIndex) => {
    const groupTop = TOP + groupIndex * groupHeight;
    parts.push(`<text x="${LABEL_WIDTH - 6}" y="${groupTop + BAR_HEIGHT}" text-anchor="end">${escapeXml(group.label)}</text>`);
    chart.series.forEach((series, seriesIndex) => {
      const value = group.values[seriesIndex];
      if (value === undefined) return;
      const y = groupTop + seriesIndex * (BAR_HEIGHT + BAR_GAP);
      const barWidth = Math.max(1, value * scale);
      const shown = value.toFixed(chart.digits);
      parts.push(
        `<g class="bar" data-group="${escapeXml(group.label)}" data-series="${escapeXml(series.name)}" data-value="${shown}">` +
          `<title>${escapeXml(`${group.label}, ${series.name}: ${shown} ${chart.unit}`)}</title>` +
          `<rect x="${LABEL_WIDTH}" y="${y}" width="${barWidth.toFixed(1)}" height="${BAR_HEIGHT}" fill="${series.color}"/>` +
          `<text x="${(LABEL_WIDTH + barWidth + 4).toFixed(1)}" y="${y + BAR_HEIGHT - 2}">${shown}</text>` +
          `</g>`,
      );
    });
  });
  chart.series.forEach((series, index) => {
    const x = LABEL_WIDTH + (index % legendPerRow) * LEGEND_ITEM_WIDTH;
    const y = legendTop + Math.floor(index / legendPerRow) * LEGEND_ROW_HEIGHT + 12;
    parts.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" fill="${series.color}"/><text x="${x + 14}" y="${y}">${escapeXml(series.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The charts of a report: the two ratios to bare node:http, throughput, latency percentiles. */
export function chartsOf(input: ReportInput): BarChart[] {
  const baselineOf = (scenario: string) => input.baseline?.scenarios[scenario];
  const ratio: BarChart = {
    title: 'App throughput as a share of bare node:http serving the same bytes',
    unit: 'ratio',
    digits: 3,
    series: [
      { name: 'now', color: NOW },
      { name: 'baseline', color: BASELINE },
    ],
    groups: input.measurements.map((measurement) => ({ label: measurement.scenario, values: [measurement.ratio, baselineOf(measurement.scenario)?.throughput.ratio] })),
  };
  const cpu: BarChart = {
    title: 'Bare node:http CPU time per request as a share of the app\'s',
    unit: 'ratio',
    digits: 3,
    series: [
      { name: 'now', color: NOW },
      { name: 'baseline', color: BASELINE },
    ],
    groups: input.measurements.map((measurement) => ({ label: measurement.scenario, values: [measurement.cpuRatio, baselineOf(measurement.scenario)?.cpu?.ratio] })),
  };
  const throughput: BarChart = {
    title: 'Throughput',
    unit: 'requests/s',
    digits: 0,
    series: [
      { name: 'app now', color: NOW },
      { name: 'app baseline', color: BASELINE },
      { name: 'bare node:http now', color: BARE },
    ],
    groups: input.measurements.map((measurement) => ({ label: measurement.scenario, values: [measurement.app.rps, baselineOf(measurement.scenario)?.rps, measurement.bare.rps] })),
  };
  const latency: BarChart = {
    title: 'App latency percentiles',
    unit: 'ms',
    digits: 1,
    series: [
      { name: 'p50 now', color: '#90cdf4' },
      { name: 'p50 baseline', color: '#e2e8f0' },
      { name: 'p90 now', color: '#4299e1' },
      { name: 'p90 baseline', color: '#cbd5e0' },
      { name: 'p99 now', color: '#2c5282' },
      { name: 'p99 baseline', color: BASELINE },
    ],
    groups: input.measurements.map((measurement) => {
      const recorded = baselineOf(measurement.scenario);
      return { label: measurement.scenario, values: [measurement.app.p50_ms, recorded?.p50_ms, measurement.app.p90_ms, recorded?.p90_ms, measurement.app.p99_ms, recorded?.p99_ms] };
    }),
  };
  return [ratio, cpu, throughput, latency];
}

function cell(value: number | undefined, digits: number): string {
  return value === undefined ? '-' : value.toFixed(digits);
}

function numbersTable(input: ReportInput): string {
  const verdictOf = (scenario: string) => input.verdicts?.find((verdict) => verdict.scenario === scenario);
  const rows = input.measurements.map((measurement) => {
    const recorded = input.baseline?.scenarios[measurement.scenario];
    const verdict = verdictOf(measurement.scenario);
    const cells = [
      escapeXml(measurement.scenario),
      cell(measurement.ratio, 3),
      cell(recorded?.throughput.ratio, 3),
      cell(measurement.cpuRatio, 3),
      cell(recorded?.cpu?.ratio, 3),
      cell(measurement.app.rps, 0),
      cell(measurement.bare.rps, 0),
      cell(measurement.app.p50_ms, 1),
      cell(measurement.app.p90_ms, 1),
      cell(measurement.app.p99_ms, 1),
      cell(measurement.app.cpu_us_per_request, 0),
      String(measurement.responseBytes),
      String(measurement.app.failures),
      verdict === undefined ? '-' : escapeXml(`${verdict.passed ? 'ok' : 'FAIL'}: ${verdict.reason}`),
    ];
    return `<tr data-scenario="${escapeXml(measurement.scenario)}">${cells.map((text) => `<td>${text}</td>`).join('')}</tr>`;
  });
  const header = ['scenario', 'rps ratio', 'baseline', 'CPU ratio', 'baseline', 'app rps', 'bare rps', 'p50 ms', 'p90 ms', 'p99 ms', 'app CPU µs/request', 'body bytes', 'failed', 'gate'];
  return `<table>\n<thead><tr>${header.map((title) => `<th>${title}</th>`).join('')}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

export function renderReport(input: ReportInput): string {
  const { load } = input;
  const baselineNote = input.baseline
    ? `Baseline: recorded ${escapeXml(input.baseline.recorded.at)} on ${input.baseline.recorded.cpus} CPUs (${escapeXml(input.baseline.recorded.machine)}), median of ${input.baseline.recorded.runs} runs.`
    : 'No baseline: bench/baseline.json is missing.';
  return [
    '<!DOCTYPE html>',
    '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">',
    '<head>',
    '<meta charset="utf-8"/>',
    `<title>${escapeXml(input.title)}</title>`,
    '<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #cbd5e0;padding:.2em .5em;text-align:right}td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}</style>',
    '</head>',
    '<body>',
    `<h1>${escapeXml(input.title)}</h1>`,
    `<p>${escapeXml(input.generatedAt.toISOString())}, ${escapeXml(input.dialect)}, ${load.connections} connections, ${load.slices} x ${load.slice} s per side after ${load.warmup} s of warm-up. ${baselineNote}</p>`,
    numbersTable(input),
    ...chartsOf(input).map((chart) => `<figure>\n${barChartSvg(chart)}\n</figure>`),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Writes the report as index.html in `directory`; returns its path. */
export function writeReport(directory: string, input: ReportInput): string {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, 'index.html');
  writeFileSync(path, renderReport(input));
  return path;
}
