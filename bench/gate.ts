/**
 * The performance gate's arithmetic: a baseline of app/bare ratios per scenario, each with a
 * tolerance taken from measured noise, and the verdict of a new measurement against it. Two
 * ratios per scenario (bench/measure.ts): throughput (app rps / bare rps) and CPU cost (bare's
 * CPU time per request / the app's). No I/O except reading and writing the baseline file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { LoadSettings, Measurement, Throughput } from './measure.ts';
import { median } from './measure.ts';

/** A tolerance is this many times the largest drop below the median seen while recording. */
export const SAFETY_FACTOR = 2;

export type Metric = 'throughput' | 'cpu';

/**
 * ... and never less than this: a handful of runs cannot show the whole tail of the noise. On
 * the shared 2-core machine a gate run under extra load saw the CPU ratio 10 % and the rps ratio
 * 23 % below medians whose recorded runs had dropped at most 5 % and 7 % (bench/README.md).
 */
export const MIN_TOLERANCE: Record<Metric, number> = { throughput: 0.3, cpu: 0.15 };

export const METRICS: Record<Metric, { readonly label: string; readonly of: (measurement: Measurement) => number | undefined }> = {
  throughput: { label: 'rps ratio', of: (measurement) => measurement.ratio },
  cpu: { label: 'CPU ratio', of: (measurement) => measurement.cpuRatio },
};

export interface Noise {
  /** Each recording run's ratio, in run order. */
  readonly ratios: number[];
  readonly median: number;
  /** (median - lowest) / median: the largest drop noise alone produced. */
  readonly maxDrop: number;
  /** (highest - lowest) / median. */
  readonly spread: number;
}

/** One ratio of a scenario as recorded: its median, the drop allowed, the noise it came from. */
export interface Gauge {
  readonly ratio: number;
  /** The relative drop allowed before the gate fails, e.g. 0.2 = 20 %. */
  readonly tolerance: number;
  readonly noise: Noise;
}

export interface BaselineScenario extends Throughput {
  readonly bare_rps: number;
  readonly throughput: Gauge;
  /** Absent when the recording machine had no /proc. */
  readonly cpu?: Gauge;
}

export interface Baseline {
  readonly about: string;
  readonly method: string;
  readonly recorded: { readonly at: string; readonly machine: string; readonly cpus: number; readonly node: string; readonly load: LoadSettings; readonly runs: number };
  readonly scenarios: Record<string, BaselineScenario>;
}

export interface Check {
  readonly metric: Metric;
  readonly baseline: number;
  readonly now?: number;
  /** now / baseline - 1. */
  readonly change?: number;
  readonly tolerance: number;
  readonly passed: boolean;
}

export interface Verdict {
  readonly scenario: string;
  readonly checks: readonly Check[];
  readonly passed: boolean;
  readonly reason: string;
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step - 1e-9) * step;
}

export function noiseOf(ratios: readonly number[]): Noise {
  const middle = median(ratios);
  return {
    ratios: [...ratios],
    median: middle,
    maxDrop: (middle - Math.min(...ratios)) / middle,
    spread: (Math.max(...ratios) - Math.min(...ratios)) / middle,
  };
}

export function toleranceFor(noise: Noise, metric: Metric): number {
  return Number(Math.max(MIN_TOLERANCE[metric], roundUp(SAFETY_FACTOR * noise.maxDrop, 0.01)).toFixed(2));
}

const METHOD =
  `Two ratios per scenario, both against bare node:http answering the app's own response (same bytes, same autocannon, same ` +
  `connections, alternating slices, median of the slices' ratios): rps ratio = app rps / bare rps; CPU ratio = bare CPU time ` +
  `per request / app CPU time per request (user + system of each server process, from /proc). Recording runs the gate on a ` +
  `fresh server and database several times; each baseline ratio is the median of the runs, and its tolerance is ${SAFETY_FACTOR} x ` +
  `the largest drop below that median seen across the runs, rounded up to 0.01, at least ${MIN_TOLERANCE.cpu} for the CPU ratio and ` +
  `${MIN_TOLERANCE.throughput} for the rps ratio (it swings more on a loaded machine). The gate fails when ` +
  `either ratio falls below baseline x (1 - tolerance) or any response is not 2xx.`;

function rounded(value: number, digits = 4): number {
  return Number(value.toFixed(digits));
}

function gaugeOf(ratios: readonly number[], metric: Metric): Gauge {
  const noise = noiseOf(ratios);
  return {
    ratio: rounded(noise.median),
    tolerance: toleranceFor(noise, metric),
    noise: { ratios: noise.ratios.map((ratio) => rounded(ratio)), median: rounded(noise.median), maxDrop: rounded(noise.maxDrop), spread: rounded(noise.spread) },
  };
}

/** A baseline from several runs of the gate, each a list of measurements. */
export function baselineFrom(runs: readonly (readonly Measurement[])[], load: LoadSettings, at = new Date()): Baseline {
  if (runs.length === 0) throw new Error('a baseline needs at least one run');
  const scenarios: Record<string, BaselineScenario> = {};
  for (const { scenario } of runs[0]!) {
    const measurements = runs.map((run) => {
      const found = run.find((candidate) => candidate.scenario === scenario);
      if (found === undefined) throw new Error(`run without ${scenario}`);
      if (found.app.failures + found.bare.failures > 0) throw new Error(`${scenario}: failed responses while recording the baseline`);
      return found;
    });
    const ofApp = (pick: (throughput: Throughput) => number) => rounded(median(measurements.map((measurement) => pick(measurement.app))), 1);
    const cpuRatios = measurements.map((measurement) => measurement.cpuRatio);
    scenarios[scenario] = {
      rps: ofApp((throughput) => throughput.rps),
      bare_rps: rounded(median(measurements.map((measurement) => measurement.bare.rps)), 1),
      p50_ms: ofApp((throughput) => throughput.p50_ms),
      p90_ms: ofApp((throughput) => throughput.p90_ms),
      p99_ms: ofApp((throughput) => throughput.p99_ms),
      failures: 0,
      throughput: gaugeOf(measurements.map((measurement) => measurement.ratio), 'throughput'),
      ...(cpuRatios.every((ratio) => ratio !== undefined) ? { cpu: gaugeOf(cpuRatios, 'cpu') } : {}),
    };
  }
  const processors = cpus();
  return {
    about: 'The performance gate baseline (npm run bench -- --gate). Refresh: npm run bench -- --gate --update-baseline (see bench/README.md).',
    method: METHOD,
    recorded: { at: at.toISOString(), machine: processors[0]?.model ?? 'unknown', cpus: processors.length, node: process.version, load, runs: runs.length },
    scenarios,
  };
}

function checkOf(metric: Metric, gauge: Gauge, measured: Measurement): Check {
  const now = METRICS[metric].of(measured);
  if (now === undefined) return { metric, baseline: gauge.ratio, tolerance: gauge.tolerance, passed: false };
  // The epsilon keeps a ratio exactly at the limit from failing on floating-point rounding.
  const passed = now >= gauge.ratio * (1 - gauge.tolerance) - 1e-9;
  return { metric, baseline: gauge.ratio, now, change: now / gauge.ratio - 1, tolerance: gauge.tolerance, passed };
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(0)} %`;
}

function reasonOf(checks: readonly Check[]): string {
  const missing = checks.filter((check) => check.now === undefined);
  if (missing.length > 0) return `no ${missing.map((check) => METRICS[check.metric].label).join(' or ')} measured (the CPU ratio needs Linux /proc)`;
  const dropped = checks.filter((check) => !check.passed);
  if (dropped.length > 0) return `REGRESSION: ${dropped.map((check) => `${METRICS[check.metric].label} more than ${percent(check.tolerance)} below the baseline`).join('; ')}`;
  // Both ratios, not one: the rps ratio alone jumps that far on a noisy machine now and then.
  if (checks.every((check) => check.change! > check.tolerance)) return 'faster than the baseline: refresh it';
  return 'within tolerance';
}

/** Each scenario of the baseline against the new measurement of the same name. */
export function judge(baseline: Baseline, measurements: readonly Measurement[]): Verdict[] {
  return Object.entries(baseline.scenarios).map(([scenario, recorded]): Verdict => {
    const measured = measurements.find((candidate) => candidate.scenario === scenario);
    if (measured === undefined) return { scenario, checks: [], passed: false, reason: 'not measured' };
    const checks = [checkOf('throughput', recorded.throughput, measured), ...(recorded.cpu ? [checkOf('cpu', recorded.cpu, measured)] : [])];
    if (measured.app.failures > 0) return { scenario, checks, passed: false, reason: `${measured.app.failures} failed responses from the app` };
    if (measured.bare.failures > 0) return { scenario, checks, passed: false, reason: `${measured.bare.failures} failed responses from bare node:http` };
    return { scenario, checks, passed: checks.every((check) => check.passed), reason: reasonOf(checks) };
  });
}

function signedPercent(fraction: number): string {
  return `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)} %`;
}

function checkCells(check: Check | undefined): string[] {
  if (check === undefined) return ['-', '-', '-', '-'];
  return [check.baseline.toFixed(3), check.now === undefined ? '-' : check.now.toFixed(3), check.change === undefined ? '-' : signedPercent(check.change), percent(check.tolerance)];
}

/** The baseline-versus-now table the gate prints. */
export function verdictTable(verdicts: readonly Verdict[]): string {
  const header = ['scenario', 'rps ratio', 'now', 'change', 'allowed', 'CPU ratio', 'now', 'change', 'allowed', 'verdict'];
  const rows = verdicts.map((verdict) => [
    verdict.scenario,
    ...checkCells(verdict.checks.find((check) => check.metric === 'throughput')),
    ...checkCells(verdict.checks.find((check) => check.metric === 'cpu')),
    `${verdict.passed ? 'ok' : 'FAIL'}: ${verdict.reason}`,
  ]);
  return textTable(header, rows);
}

function percentWithDecimal(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}

/** The recording's noise per scenario and ratio, and the tolerance chosen from it. */
export function noiseTable(baseline: Baseline): string {
  const header = ['scenario', 'ratio', 'ratios of the runs', 'median', 'max drop', 'spread', 'tolerance'];
  const rows = Object.entries(baseline.scenarios).flatMap(([scenario, recorded]) =>
    (['throughput', 'cpu'] as const).flatMap((metric) => {
      const gauge = recorded[metric];
      if (gauge === undefined) return [];
      return [[scenario, METRICS[metric].label, gauge.noise.ratios.map((ratio) => ratio.toFixed(3)).join(' '), gauge.ratio.toFixed(3), percentWithDecimal(gauge.noise.maxDrop), percentWithDecimal(gauge.noise.spread), percent(gauge.tolerance)]];
    }),
  );
  return textTable(header, rows, 2);
}

/** Columns padded to their widest cell; the text columns (first ones, last) left-aligned, numbers right-aligned. */
function textTable(header: readonly string[], rows: readonly (readonly string[])[], textColumns = 1): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column < textColumns || column === cells.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ').trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)].join('\n');
}

export function readBaseline(path: string): Baseline {
  return JSON.parse(readFileSync(path, 'utf8')) as Baseline;
}

export function writeBaseline(path: string, baseline: Baseline): void {
  writeFileSync(path, `${JSON.stringify(baseline, null, 2)}\n`);
}
