/**
 * The load benchmark: starts the server as in production (NODE_ENV=production, info logging to
 * a file) on a fresh database, seeds it through the API, then runs each scenario with autocannon
 * (32 connections, 10 s after a 2 s warm-up), and the same requests against bare node:http
 * answering the app's own response (bench/bare-http.ts), and prints a table plus one JSON line
 * per scenario with the ratio app/bare. Writes an HTML report (bench/report/index.html) with
 * the baseline's figures beside the new ones. SQLite by default; PostgreSQL under
 * scripts/with-postgres.sh (npm run bench:postgres).
 *
 *   npm run bench [-- --duration 10 --connections 32 --only login,tags --cpu-prof]
 *
 * --node-options "<flags>" starts the server with Node flags of its own, to try a V8 setting
 * against the default (e.g. "--max-semi-space-size=8 --min-semi-space-size=8").
 *
 * With --gate it runs the performance gate instead (bench/gate-run.ts): a fixed subset, each
 * ratio compared with bench/baseline.json (or --baseline FILE); exits 1 on a regression.
 * --update-baseline [--runs 5] records that baseline again (see bench/README.md).
 *
 *   npm run bench -- --gate [--update-baseline --runs 5] [--baseline FILE]
 *
 * With --scale N it measures the list variants instead: first on the 500 seeded articles, then
 * after generating N articles in bulk (bench/scale-data.ts), and prints both side by side,
 * then runs the heaviest mix while timing /healthz and reading the event-loop delay metric.
 *
 *   npm run bench -- --scale 200000 [--duration 5]
 *
 * With --otel the server exports traces (OTEL_EXPORTER_OTLP_ENDPOINT) to an OTLP receiver in a
 * process of its own (bench/otlp-sink.ts), to measure what tracing costs against the same run without it; the sampler
 * comes from this process's OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default: every trace).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { hash, verify } from '@node-rs/argon2';
import { ARGON2_OPTIONS } from '../src/features/users/password-hashing.ts';
import { createTestStorage, dialectUnderTest, type TestStorage } from '../test/helpers/app.ts';
import { freePort, productionEnv, ROOT, startNode, waitFor } from '../test/helpers/process.ts';
import { BASELINE_FILE, REPORT_DIR, runGate, updateBaseline } from './gate-run.ts';
import { readBaseline } from './gate.ts';
import { type LoadSettings, load, type Measurement, measureAgainstBare, type Target } from './measure.ts';
import { writeReport } from './report.ts';
import { fetchExposition, sumOf } from './exposition.ts';
import { runScaleBench } from './scale.ts';
import { SCENARIOS } from './scenarios.ts';
import { BENCH_PASSWORD, type SeededData, seed } from './seed.ts';

const { values: options } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    scale: { type: 'string' },
    gate: { type: 'boolean', default: false },
    'update-baseline': { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
    baseline: { type: 'string', default: BASELINE_FILE },
    otel: { type: 'boolean', default: false },
  },
});
const DURATION = Number(options.duration);
const WARMUP = Number(options.warmup);
const CONNECTIONS = Number(options.connections);

/** Raw argon2id verifications per second with the app's parameters and libuv's 4 threads. */
async function argon2VerifyRate(seconds: number): Promise<number> {
  const stored = await hash(BENCH_PASSWORD, ARGON2_OPTIONS);
  const deadline = Date.now() + seconds * 1000;
  let verified = 0;
  const worker = async () => {
    while (Date.now() < deadline) {
      await verify(stored, BENCH_PASSWORD);
      verified += 1;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: 4 }, worker));
  return verified / ((Date.now() - started) / 1000);
}

interface Row {
  scenario: string;
  dialect: string;
  rps: number;
  bare_rps: number;
  ratio: number;
  /** bare / app CPU time per request. */
  cpu_ratio: string;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  failed: number;
  /** Database statements per request served (round trips on PostgreSQL), from the server's /metrics. */
  queries_per_request: string;
  target: string;
  met: boolean;
}

interface ServerCounts {
  readonly queries: number;
  readonly requests: number;
}

/** Sums a counter's samples (every label set) in a Prometheus text exposition. */
/** The statements and HTTP requests the server has counted so far. */
async function serverCounts(app: Target): Promise<ServerCounts> {
  const exposition = await fetchExposition(app.url);
  return { queries: sumOf(exposition, 'db_query_duration_seconds_count'), requests: sumOf(exposition, 'http_request_duration_seconds_count') };
}

function perRequest(before: ServerCounts, after: ServerCounts): string {
  const requests = after.requests - before.requests;
  return requests === 0 ? '-' : ((after.queries - before.queries) / requests).toFixed(2);
}

/** Every scenario on the seeded data, against the targets of the 2-core reference machine. */
async function runStandardBench(app: Target, data: SeededData): Promise<void> {
  const argon2Rate = await argon2VerifyRate(5);
  console.log(`raw argon2id verify rate: ${argon2Rate.toFixed(1)}/s (m=${ARGON2_OPTIONS.memoryCost} KiB, t=${ARGON2_OPTIONS.timeCost}, p=${ARGON2_OPTIONS.parallelism}, 4 threads)`);

  const settings: LoadSettings = { connections: CONNECTIONS, warmup: WARMUP, slice: DURATION, slices: 1 };
  const chosen = options.only ? SCENARIOS.filter((scenario) => options.only!.split(',').some((name) => scenario.name.includes(name))) : SCENARIOS;
  const rows: Row[] = [];
  const measurements: Measurement[] = [];
  for (const scenario of chosen) {
    const countsBefore = await serverCounts(app);
    const measurement = await measureAgainstBare(app, scenario, data, settings);
    const countsAfter = await serverCounts(app);
    measurements.push(measurement);
    const { app: figures } = measurement;
    const target = scenario.kind === 'login' ? 0.8 * argon2Rate : (scenario.target ?? 0);
    const readLatencyOk = scenario.kind !== 'read' || figures.p99_ms <= 50;
    const row: Row = {
      scenario: scenario.name,
      dialect: dialectUnderTest,
      rps: Math.round(figures.rps),
      bare_rps: Math.round(measurement.bare.rps),
      ratio: Number(measurement.ratio.toFixed(3)),
      cpu_ratio: measurement.cpuRatio === undefined ? '-' : measurement.cpuRatio.toFixed(3),
      p50_ms: figures.p50_ms,
      p90_ms: figures.p90_ms,
      p99_ms: figures.p99_ms,
      failed: figures.failures,
      queries_per_request: perRequest(countsBefore, countsAfter),
      target: scenario.kind === 'login' ? `>= ${Math.round(target)} (80% of argon2)` : `>= ${target}${scenario.kind === 'read' ? ', p99 <= 50 ms' : ''}`,
      met: figures.rps >= target && readLatencyOk && figures.failures === 0,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.table(rows.map(({ dialect: _dialect, ...row }) => ({ ...row, met: row.met ? 'yes' : 'NO' })));
  const missed = rows.filter((row) => !row.met).map((row) => row.scenario);
  console.log(missed.length === 0 ? 'all targets met' : `targets missed: ${missed.join(', ')}`);
  const report = writeReport(REPORT_DIR, {
    title: `Shipshape benchmark (${dialectUnderTest})`,
    generatedAt: new Date(),
    dialect: dialectUnderTest,
    load: settings,
    measurements,
    ...(existsSync(options.baseline) ? { baseline: readBaseline(options.baseline) } : {}),
  });
  console.log(`report: ${report}`);
}

/** bench/otlp-sink.ts: resolves to its URL, and when stopped to the number of spans it received. */
function startTraceSink(): { endpoint: Promise<string>; stop: () => Promise<string> } {
  const sink = spawn(process.execPath, [join(ROOT, 'bench', 'otlp-sink.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: sink.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => String((await lines.next()).value ?? '');
  return {
    endpoint: nextLine(),
    stop: () => {
      sink.kill('SIGTERM');
      return nextLine();
    },
  };
}

/**
 * Starts the server as in production on a fresh database, seeds it, runs `work` against it,
 * then stops it and removes the database.
 */
async function withSeededServer<T>(work: (app: Target, data: SeededData, storage: TestStorage) => Promise<T>): Promise<T> {
  const storage = await createTestStorage();
  const port = await freePort();
  const logDir = join(ROOT, 'bench', 'results');
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `server-${dialectUnderTest}.log`);
  const traceSink = options.otel ? startTraceSink() : undefined;
  const otelEndpoint = await traceSink?.endpoint;
  const server = startNode(
    'src/server.ts',
    [],
    {
      ...productionEnv(),
      DATA_DIR: storage.dataDir,
      PORT: String(port),
      SHUTDOWN_DELAY_SECONDS: '0',
      // The load comes from a handful of users on one address: it measures capacity, not the limits.
      RATE_LIMIT_MAX: '1000000',
      // Sign-in counts each attempt before checking the password: 32 concurrent logins of a few
      // accounts from one address would otherwise be refused as a brute-force attempt.
      SIGNIN_MAX_FAILURES: '1000',
      SIGNIN_MAX_FAILURES_PER_ADDRESS: '100000',
      ...(otelEndpoint
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: otelEndpoint,
            OTEL_TRACES_SAMPLER: process.env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
            OTEL_TRACES_SAMPLER_ARG: process.env.OTEL_TRACES_SAMPLER_ARG ?? '1',
          }
        : {}),
      ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl, MIGRATE_ON_START: 'true', DATABASE_POOL_SIZE: '10' } : {}),
    },
    { stdout: openSync(logFile, 'w'), nodeOptions: [...(options['node-options']?.split(' ').filter(Boolean) ?? []), ...(options['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${logDir}`] : [])] },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${base}/readyz`, 200, 20_000, server);
    const seedStarted = Date.now();
    const data = await seed(base);
    console.log(`seeded ${data.users.length} users and ${data.slugs.length} articles in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s (${dialectUnderTest})`);
    return await work({ url: base, pid: server.child.pid! }, data, storage);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await storage.remove();
    if (traceSink !== undefined) console.log(`traces: ${await traceSink.stop()} spans received over OTLP/HTTP`);
  }
}

if (options.gate) {
  const passed = options['update-baseline'] ? await updateBaseline(withSeededServer, Number(options.runs), options.baseline) : await runGate(withSeededServer, options.baseline);
  process.exitCode = passed ? 0 : 1;
} else if (options.scale === undefined) {
  await withSeededServer((app, data) => runStandardBench(app, data));
} else {
  await withSeededServer((app, data, storage) =>
    runScaleBench({
      base: app.url,
      storage,
      data,
      articles: Number(options.scale),
      measure: (request) => load(app.url, request, CONNECTIONS, DURATION),
      warmUp: (request) => load(app.url, request, CONNECTIONS, WARMUP),
    }),
  );
}
