/**
 * One scenario measured twice under the same load: against the app, and against bare node:http
 * answering the app's own response (bench/bare-http.ts). The two alternate in slices, so a
 * neighbour's burst of CPU on a shared machine lands on both sides instead of on one.
 */
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
}

export interface Measurement {
  readonly scenario: string;
  readonly app: Throughput;
  readonly bare: Throughput;
  /** app / bare requests per second: the median of the slices' ratios. */
  readonly ratio: number;
  /** Bytes of the app's response body that bare node:http served. */
  readonly responseBytes: number;
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
export function combineSlices(results: readonly Result[]): Throughput {
  const requests = results.reduce((sum, result) => sum + result.requests.total, 0);
  const seconds = results.reduce((sum, result) => sum + result.duration, 0);
  return {
    rps: requests / seconds,
    p50_ms: median(results.map((result) => result.latency.p50)),
    p90_ms: median(results.map((result) => result.latency.p90)),
    p99_ms: median(results.map((result) => result.latency.p99)),
    failures: results.reduce((sum, result) => sum + result.non2xx + result.errors + result.timeouts, 0),
  };
}

function requestsPerSecond(result: Result): number {
  return result.requests.total / result.duration;
}

export async function measureAgainstBare(appUrl: string, scenario: Scenario, data: SeededData, settings: LoadSettings): Promise<Measurement> {
  const appRequest = scenario.request(data);
  const recorded = await recordResponse(appUrl, scenario.request(data));
  const workDir = mkdtempSync(join(tmpdir(), 'shipshape-bare-'));
  const bare = await startBareServer(recorded, workDir);
  // Bare node:http gets the same request sequence (paths, tokens, bodies) as the app.
  const bareRequest = scenario.request(data);
  try {
    if (settings.warmup > 0) {
      await load(appUrl, appRequest, settings.connections, settings.warmup);
      await load(bare.url, bareRequest, settings.connections, settings.warmup);
    }
    const appSlices: Result[] = [];
    const bareSlices: Result[] = [];
    for (let slice = 0; slice < settings.slices; slice += 1) {
      appSlices.push(await load(appUrl, appRequest, settings.connections, settings.slice));
      bareSlices.push(await load(bare.url, bareRequest, settings.connections, settings.slice));
    }
    return {
      scenario: scenario.name,
      app: combineSlices(appSlices),
      bare: combineSlices(bareSlices),
      ratio: median(appSlices.map((result, index) => requestsPerSecond(result) / requestsPerSecond(bareSlices[index]!))),
      responseBytes: Buffer.from(recorded.bodyBase64, 'base64').length,
    };
  } finally {
    await bare.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
