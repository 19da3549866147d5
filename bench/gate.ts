/**
 * The performance gate's arithmetic: a baseline of app/bare ratios per scenario, with a
 * tolerance per scenario taken from measured noise, and the verdict of a new measurement
 * against it. No I/O except reading and writing the baseline file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { LoadSettings, Measurement, Throughput } from './measure.ts';
import { median } from './measure.ts';

/** A tolerance is this many times the largest drop below the median seen while recording. */
export const SAFETY_FACTOR = 2;
/** ... and never less than this: 5 runs cannot show the whole tail of the noise. */
export const MIN_TOLERANCE = 0.1;

export interface Noise {
  /** Each recording run's ratio, in run order. */
  readonly ratios: number[];
  readonly median: number;
  /** (median - lowest) / median: the largest drop noise alone produced. */
  readonly maxDrop: number;
  /** (highest - lowest) / median. */
  readonly spread: number;
}

export interface BaselineScenario extends Throughput {
  readonly ratio: number;
  /** The relative drop of the ratio allowed before the gate fails, e.g. 0.2 = 20 %. */
  readonly tolerance: number;
  readonly bare_rps: number;
  readonly noise: Noise;
}

export interface Baseline {
  readonly about: string;
  readonly method: string;
  readonly recorded: { readonly at: string; readonly machine: string; readonly cpus: number; readonly node: string; readonly load: LoadSettings; readonly runs: number };
  readonly scenarios: Record<string, BaselineScenario>;
}

export interface Verdict {
  readonly scenario: string;
  readonly baseline?: number;
  readonly now?: number;
  /** now / baseline - 1. */
  readonly change?: number;
  readonly tolerance?: number;
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

export function toleranceFor(noise: Noise): number {
  return Number(Math.max(MIN_TOLERANCE, roundUp(SAFETY_FACTOR * noise.maxDrop, 0.01)).toFixed(2));
}

const METHOD =
  `Each scenario's figure is app rps / bare node:http rps (same response bytes, same autocannon, same connections, ` +
  `alternating slices, median of the slices' ratios). Recording runs the gate on a fresh server and database several times; ` +
  `the baseline ratio is the median of the runs, and the tolerance is ${SAFETY_FACTOR} x the largest drop below that median ` +
  `seen across the runs, rounded up to 0.01, at least ${MIN_TOLERANCE}. The gate fails when a ratio falls below baseline x (1 - tolerance) ` +
  `or any response is not 2xx.`;

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
    const noise = noiseOf(measurements.map((measurement) => measurement.ratio));
    const ofApp = (pick: (throughput: Throughput) => number) => Number(median(measurements.map((measurement) => pick(measurement.app))).toFixed(1));
    scenarios[scenario] = {
      ratio: Number(noise.median.toFixed(4)),
      tolerance: toleranceFor(noise),
      rps: ofApp((throughput) => throughput.rps),
      bare_rps: Number(median(measurements.map((measurement) => measurement.bare.rps)).toFixed(1)),
      p50_ms: ofApp((throughput) => throughput.p50_ms),
      p90_ms: ofApp((throughput) => throughput.p90_ms),
      p99_ms: ofApp((throughput) => throughput.p99_ms),
      failures: 0,
      noise: { ...noise, ratios: noise.ratios.map((ratio) => Number(ratio.toFixed(4))), maxDrop: Number(noise.maxDrop.toFixed(4)), spread: Number(noise.spread.toFixed(4)) },
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

/** Each scenario of the baseline against the new measurement of the same name. */
export function judge(baseline: Baseline, measurements: readonly Measurement[]): Verdict[] {
  return Object.entries(baseline.scenarios).map(([scenario, recorded]): Verdict => {
    const base = { scenario, baseline: recorded.ratio, tolerance: recorded.tolerance };
    const measured = measurements.find((candidate) => candidate.scenario === scenario);
    if (measured === undefined) return { ...base, passed: false, reason: 'not measured' };
    const now = measured.ratio;
    const change = now / recorded.ratio - 1;
    const judged = { ...base, now, change };
    if (measured.app.failures > 0) return { ...judged, passed: false, reason: `${measured.app.failures} failed responses from the app` };
    if (measured.bare.failures > 0) return { ...judged, passed: false, reason: `${measured.bare.failures} failed responses from bare node:http` };
    // The epsilon keeps a ratio exactly at the limit from failing on floating-point rounding.
    if (now < recorded.ratio * (1 - recorded.tolerance) - 1e-9) return { ...judged, passed: false, reason: `REGRESSION: more than ${percent(recorded.tolerance)} below the baseline` };
    if (now > recorded.ratio * (1 + recorded.tolerance)) return { ...judged, passed: true, reason: 'faster than the baseline: refresh it' };
    return { ...judged, passed: true, reason: 'within tolerance' };
  });
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(0)} %`;
}

function signedPercent(fraction: number): string {
  return `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)} %`;
}

/** The baseline-versus-now table the gate prints. */
export function verdictTable(verdicts: readonly Verdict[]): string {
  const header = ['scenario', 'baseline', 'now', 'change', 'allowed drop', 'verdict'];
  const rows = verdicts.map((verdict) => [
    verdict.scenario,
    verdict.baseline === undefined ? '-' : verdict.baseline.toFixed(3),
    verdict.now === undefined ? '-' : verdict.now.toFixed(3),
    verdict.change === undefined ? '-' : signedPercent(verdict.change),
    verdict.tolerance === undefined ? '-' : percent(verdict.tolerance),
    `${verdict.passed ? 'ok' : 'FAIL'}: ${verdict.reason}`,
  ]);
  return textTable(header, rows);
}

/** Columns padded to their widest cell; the first and last left-aligned, numbers right-aligned. */
function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => (column === 0 || column === cells.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ').trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)].join('\n');
}

export function readBaseline(path: string): Baseline {
  return JSON.parse(readFileSync(path, 'utf8')) as Baseline;
}

export function writeBaseline(path: string, baseline: Baseline): void {
  writeFileSync(path, `${JSON.stringify(baseline, null, 2)}\n`);
}

/** The recording's noise per scenario and the tolerance chosen from it. */
export function noiseTable(baseline: Baseline): string {
  const header = ['scenario', 'ratios of the runs', 'median', 'max drop', 'spread', 'tolerance'];
  const rows = Object.entries(baseline.scenarios).map(([scenario, recorded]) => [
    scenario,
    recorded.noise.ratios.map((ratio) => ratio.toFixed(3)).join(' '),
    recorded.ratio.toFixed(3),
    percentWithDecimal(recorded.noise.maxDrop),
    percentWithDecimal(recorded.noise.spread),
    percent(recorded.tolerance),
  ]);
  return textTable(header, rows);
}

function percentWithDecimal(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}
