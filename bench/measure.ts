/**
 * One scenario measured twice under the same load: against the app, and against bare node:http
 * answering the app's own response (bench/bare-http.ts). The two alternate in slices, so a
 * neighbour's burst of CPU on a shared machine lands on both sides instead of on one.
 *
 * Two ratios come out: throughput (app rps / bare rps), and CPU cost (bare's CPU time per
 * request / the app's, read from /proc for each server process, all threads). On a machine
 * others are loading, throughput swings with what the neighbours do; the CPU a request costs
 * swings far less, which is what lets the gate use a tight tolerance (bench/README.md).
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Request as AutocannonRequest, type Result } from 'autocannon';
import { recordResponse, startBareServer } from './bare-http.ts';
import type { Scenario } from './scenarios.ts';
import type { SeededData } from './seed.ts';

export interface LoadSettings {
  readonly connections: number;
  /** Seconds of load, not measured, before each side's first slice. */
  readonly warmup: number;
  /** Seconds per measured slice. */
  readonly slice: number;
  /** Slices per side, alternating app, bare, app, bare... */
  readonly slices: number;
}

export interface Throughput {
  readonly rps: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  /** Responses outside 2xx plus connection errors and timeouts: any of them spoils the figure. */
  readonly failures: number;
  /** CPU time (user + system, every thread) of the server process per response; undefined off Linux. */
  readonly cpu_us_per_request?: number;
}

export interface Measurement {
  readonly scenario: string;
  readonly app: Throughput;
  readonly bare: Throughput;
  /** app / bare requests per second: the median of the slices' ratios. */
  readonly ratio: number;
  /** bare / app CPU time per request: the median of the slices' ratios; undefined off Linux. */
  readonly cpuRatio?: number;
  /** Bytes of the app's response body that bare node:http served. */
  readonly responseBytes: number;
}

/** Linux's USER_HZ: /proc reports CPU time in these ticks (100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

/** User plus system CPU seconds a process (all its threads) has used, or undefined without /proc. */
export function cpuSecondsOf(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which may itself hold spaces and parentheses: utime and stime
  // are the 14th and 15th fields of the whole line, the 12th and 13th after "pid (comm) ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** A server under measurement: where to send requests, and which process does the work. */
export interface Target {
  readonly url: string;
  readonly pid: number;
}

interface Slice {
  readonly result: Result;
  /** CPU seconds the server used during the slice. */
  readonly cpu?: number;
}

/** One slice of load on a target, with the CPU time its server process spent meanwhile. */
async function measureSlice(target: Target, request: AutocannonRequest, connections: number, seconds: number): Promise<Slice> {
  const before = cpuSecondsOf(target.pid);
  const result = await load(target.url, request, connections, seconds);
  const after = cpuSecondsOf(target.pid);
  return before === undefined || after === undefined ? { result } : { result, cpu: after - before };
}

function cpuPerRequest(slice: Slice): number | undefined {
  return slice.cpu === undefined || slice.result.requests.total === 0 ? undefined : slice.cpu / slice.result.requests.total;
}

export function load(url: string, request: AutocannonRequest, connections: number, seconds: number): Promise<Result> {
  return autocannon({ url, connections, duration: seconds, requests: [request], timeout: 20 });
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Throughput over all slices; each latency percentile is the median of the slices' ones. */
export function combineSlices(slices: readonly Slice[]): Throughput {
  const results = slices.map((slice) => slice.result);
  const cpu = slices.every((slice) => slice.cpu !== undefined) ? slices.reduce((sum, slice) => sum + slice.cpu!, 0) : undefined;
  const requests = results.reduce((sum, result) => sum + result.requests.total, 0);
  const seconds = results.reduce((sum, result) => sum + result.duration, 0);
  return {
    rps: requests / seconds,
    p50_ms: median(results.map((result) => result.latency.p50)),
    p90_ms: median(results.map((result) => result.latency.p90)),
    p99_ms: median(results.map((result) => result.latency.p99)),
    failures: results.reduce((sum, result) => sum + result.non2xx + result.errors + result.timeouts, 0),
    ...(cpu === undefined || requests === 0 ? {} : { cpu_us_per_request: (cpu / requests) * 1e6 }),
  };
}

function requestsPerSecond(result: Result): number {
  return result.requests.total / result.duration;
}

/** The median over slices of bare's CPU per request over the app's, when /proc gave both. */
function cpuRatioOf(appSlices: readonly Slice[], bareSlices: readonly Slice[]): number | undefined {
  const ratios: number[] = [];
  for (const [index, appSlice] of appSlices.entries()) {
    const app = cpuPerRequest(appSlice);
    const bare = cpuPerRequest(bareSlices[index]!);
    if (app === undefined || bare === undefined || app === 0) return undefined;
    ratios.push(bare / app);
  }
  return median(ratios);
}

export async function measureAgainstBare(app: Target, scenario: Scenario, data: SeededData, settings: LoadSettings): Promise<Measurement> {
  const appRequest = scenario.request(data);
  const recorded = await recordResponse(app.url, scenario.request(data));
  const workDir = mkdtempSync(join(tmpdir(), 'shipshape-bare-'));
  const bare = await startBareServer(recorded, workDir);
  // Bare node:http gets the same request sequence (paths, tokens, bodies) as the app.
  const bareRequest = scenario.request(data);
  try {
    if (settings.warmup > 0) {
      await load(app.url, appRequest, settings.connections, settings.warmup);
      await load(bare.url, bareRequest, settings.connections, settings.warmup);
    }
    const appSlices: Slice[] = [];
    const bareSlices: Slice[] = [];
    for (let slice = 0; slice < settings.slices; slice += 1) {
      appSlices.push(await measureSlice(app, appRequest, settings.connections, settings.slice));
      bareSlices.push(await measureSlice(bare, bareRequest, settings.connections, settings.slice));
    }
    const cpuRatio = cpuRatioOf(appSlices, bareSlices);
    return {
      scenario: scenario.name,
      app: combineSlices(appSlices),
      bare: combineSlices(bareSlices),
      ratio: median(appSlices.map((slice, index) => requestsPerSecond(slice.result) / requestsPerSecond(bareSlices[index]!.result))),
      ...(cpuRatio === undefined ? {} : { cpuRatio }),
      responseBytes: Buffer.from(recorded.bodyBase64, 'base64').length,
    };
  } finally {
    await bare.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
