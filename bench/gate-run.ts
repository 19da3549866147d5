/**
 * `npm run bench -- --gate`: the gate's subset of scenarios on a fresh, seeded SQLite server,
 * each against bare node:http on the same bytes, judged against bench/baseline.json; and
 * `--update-baseline`, which records that file from several such runs.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { dialectUnderTest } from '../test/helpers/app.ts';
import { ROOT } from '../test/helpers/process.ts';
import { type Baseline, baselineFrom, judge, noiseTable, readBaseline, verdictTable, writeBaseline } from './gate.ts';
import { type LoadSettings, type Measurement, measureAgainstBare, type Target } from './measure.ts';
import { writeReport } from './report.ts';
import { GATE_SCENARIOS, scenarioNamed } from './scenarios.ts';
import type { SeededData } from './seed.ts';

export const BASELINE_FILE = join(ROOT, 'bench', 'baseline.json');
export const REPORT_DIR = join(ROOT, 'bench', 'report');

/**
 * Five short slices per side, alternating app and bare (about 17 s per scenario): the median of
 * five slice ratios shrugs off a neighbour's burst that one long run would average in.
 */
export const GATE_LOAD: LoadSettings = { connections: 32, warmup: 1, slice: 1.5, slices: 5 };

export type WithSeededServer = <T>(work: (app: Target, data: SeededData) => Promise<T>) => Promise<T>;

async function measureGateSubset(app: Target, data: SeededData): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  for (const name of GATE_SCENARIOS) {
    const measurement = await measureAgainstBare(app, scenarioNamed(name), data, GATE_LOAD);
    console.log(JSON.stringify({ scenario: name, ratio: Number(measurement.ratio.toFixed(4)), cpu_ratio: measurement.cpuRatio === undefined ? null : Number(measurement.cpuRatio.toFixed(4)), rps: Math.round(measurement.app.rps), bare_rps: Math.round(measurement.bare.rps), p99_ms: measurement.app.p99_ms, failed: measurement.app.failures }));
    measurements.push(measurement);
  }
  return measurements;
}

function requireSqlite(): void {
  if (dialectUnderTest !== 'sqlite') throw new Error('the performance gate and its baseline are for SQLite: run it without TEST_DATABASE_URL');
}

/** Differences between the baseline's recording and this run that make the ratios less comparable. */
function caveats(baseline: Baseline): string[] {
  const found: string[] = [];
  if (baseline.recorded.cpus !== cpus().length) found.push(`the baseline was recorded on ${baseline.recorded.cpus} CPUs, this machine has ${cpus().length}`);
  if (JSON.stringify(baseline.recorded.load) !== JSON.stringify(GATE_LOAD)) found.push(`the baseline was recorded with load ${JSON.stringify(baseline.recorded.load)}, the gate now uses ${JSON.stringify(GATE_LOAD)}`);
  return found;
}

export async function runGate(withSeededServer: WithSeededServer, baselineFile = BASELINE_FILE): Promise<boolean> {
  requireSqlite();
  if (!existsSync(baselineFile)) {
    console.error(`no baseline at ${baselineFile}: record one with npm run bench -- --gate --update-baseline`);
    return false;
  }
  const baseline = readBaseline(baselineFile);
  const started = Date.now();
  const measurements = await withSeededServer(measureGateSubset);
  const verdicts = judge(baseline, measurements);
  for (const caveat of caveats(baseline)) console.log(`note: ${caveat}`);
  console.log(`\nperformance gate: app/bare node:http ratio per scenario, baseline of ${baseline.recorded.at}\n`);
  console.log(verdictTable(verdicts));
  const report = writeReport(REPORT_DIR, { title: 'Shipshape performance gate (SQLite)', generatedAt: new Date(), dialect: dialectUnderTest, load: GATE_LOAD, measurements, baseline, verdicts });
  console.log(`\nreport: ${report}`);
  const failed = verdicts.filter((verdict) => !verdict.passed).map((verdict) => verdict.scenario);
  console.log(`${failed.length === 0 ? 'performance gate passed' : `performance gate FAILED: ${failed.join(', ')}`} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return failed.length === 0;
}

/** Runs the gate's subset `runs` times, each on a fresh server and database, and writes the baseline. */
export async function updateBaseline(withSeededServer: WithSeededServer, runs: number, baselineFile = BASELINE_FILE): Promise<boolean> {
  requireSqlite();
  if (!Number.isInteger(runs) || runs < 3) throw new Error('--runs: at least 3, to see the noise');
  const recorded: Measurement[][] = [];
  for (let run = 1; run <= runs; run += 1) {
    console.log(`\nrecording run ${run} of ${runs}`);
    recorded.push(await withSeededServer(measureGateSubset));
  }
  const baseline = baselineFrom(recorded, GATE_LOAD);
  writeBaseline(baselineFile, baseline);
  console.log(`\nnoise over ${runs} runs, and the tolerance chosen from it\n`);
  console.log(noiseTable(baseline));
  const report = writeReport(REPORT_DIR, { title: 'Shipshape performance gate: new baseline (SQLite)', generatedAt: new Date(), dialect: dialectUnderTest, load: GATE_LOAD, measurements: recorded.at(-1)!, baseline });
  console.log(`\nwrote ${baselineFile}\nreport: ${report}`);
  return true;
}
