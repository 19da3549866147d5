/**
 * The load benchmark: starts the server as in production (NODE_ENV=production, info logging to
 * a file) on a fresh database, seeds it through the API, then runs each scenario with autocannon
 * (32 connections, 10 s after a 2 s warm-up) and prints a table plus one JSON line per scenario.
 * SQLite by default; PostgreSQL under scripts/with-postgres.sh (npm run bench:postgres).
 *
 *   npm run bench [-- --duration 10 --connections 32 --only login,tags --cpu-prof]
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
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { hash, verify } from '@node-rs/argon2';
import autocannon, { type Request as AutocannonRequest, type Result } from 'autocannon';
import { ARGON2_OPTIONS } from '../src/features/users/password-hashing.ts';
import { createTestStorage, dialectUnderTest } from '../test/helpers/app.ts';
import { freePort, productionEnv, ROOT, startNode, waitFor } from '../test/helpers/process.ts';
import { runScaleBench } from './scale.ts';
import { BENCH_PASSWORD, type SeededData, seed } from './seed.ts';

const { values: options } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    scale: { type: 'string' },
    otel: { type: 'boolean', default: false },
  },
});
const DURATION = Number(options.duration);
const WARMUP = Number(options.warmup);
const CONNECTIONS = Number(options.connections);

interface Scenario {
  readonly name: string;
  readonly kind: 'read' | 'write' | 'login';
  /** Requests per second to reach on the 2-core reference machine (SQLite); login is relative. */
  readonly target?: number;
  request(data: SeededData): AutocannonRequest;
}

/** Cycles through a list on every request, so load spreads over rows like real traffic. */
function rotate<T>(items: readonly T[]): () => T {
  let next = 0;
  return () => items[next++ % items.length]!;
}

const SCENARIOS: Scenario[] = [
  { name: 'list articles (anonymous)', kind: 'read', target: 2000, request: () => ({ method: 'GET', path: '/api/articles' }) },
  {
    name: 'list articles (signed in)',
    kind: 'read',
    target: 2000,
    request: (data) => {
      const token = rotate(data.users.map((user) => user.token));
      return { method: 'GET', path: '/api/articles', setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Token ${token()}` } }) };
    },
  },
  {
    name: 'feed',
    kind: 'read',
    target: 2000,
    request: (data) => {
      const token = rotate(data.users.map((user) => user.token));
      return { method: 'GET', path: '/api/articles/feed', setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Token ${token()}` } }) };
    },
  },
  {
    name: 'get article',
    kind: 'read',
    target: 5000,
    request: (data) => {
      const slug = rotate(data.slugs);
      return { method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/articles/${slug()}` }) };
    },
  },
  { name: 'tags', kind: 'read', target: 8000, request: () => ({ method: 'GET', path: '/api/tags' }) },
  {
    name: 'comments',
    kind: 'read',
    target: 4000,
    request: (data) => {
      const slug = rotate(data.slugs);
      return { method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/articles/${slug()}/comments` }) };
    },
  },
  {
    name: 'login',
    kind: 'login',
    request: (data) => {
      const user = rotate(data.users);
      return {
        method: 'POST',
        path: '/api/users/login',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => {
          const { email } = user();
          return { ...request, body: JSON.stringify({ user: { email, password: BENCH_PASSWORD } }) };
        },
      };
    },
  },
  {
    name: 'create article',
    kind: 'write',
    target: 1000,
    request: (data) => {
      const token = rotate(data.users.map((user) => user.token));
      let counter = 0;
      const body = 'Benchmark body. '.repeat(80);
      return {
        method: 'POST',
        path: '/api/articles',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'content-type': 'application/json', authorization: `Token ${token()}` },
          body: JSON.stringify({ article: { title: `Load ${Date.now()} ${counter++}`, description: 'Written under load', body, tagList: ['tag01', 'load'] } }),
        }),
      };
    },
  },
  {
    name: 'update user',
    kind: 'write',
    target: 2000,
    request: (data) => {
      const token = rotate(data.users.map((user) => user.token));
      let counter = 0;
      return {
        method: 'PUT',
        path: '/api/user',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'content-type': 'application/json', authorization: `Token ${token()}` },
          body: JSON.stringify({ user: { bio: `Updated bio number ${counter++}` } }),
        }),
      };
    },
  },
];

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

async function load(url: string, request: AutocannonRequest, duration: number): Promise<Result> {
  return autocannon({ url, connections: CONNECTIONS, duration, requests: [request], timeout: 20 });
}

interface Row {
  scenario: string;
  dialect: string;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
  target: string;
  met: boolean;
}

/** Every scenario on the seeded data, against the targets of the 2-core reference machine. */
async function runStandardBench(base: string, data: SeededData): Promise<void> {
  const argon2Rate = await argon2VerifyRate(5);
  console.log(`raw argon2id verify rate: ${argon2Rate.toFixed(1)}/s (m=${ARGON2_OPTIONS.memoryCost} KiB, t=${ARGON2_OPTIONS.timeCost}, p=${ARGON2_OPTIONS.parallelism}, 4 threads)`);

  const chosen = options.only ? SCENARIOS.filter((scenario) => options.only!.split(',').some((name) => scenario.name.includes(name))) : SCENARIOS;
  const rows: Row[] = [];
  for (const scenario of chosen) {
    if (WARMUP > 0) await load(base, scenario.request(data), WARMUP);
    const result = await load(base, scenario.request(data), DURATION);
    const target = scenario.kind === 'login' ? 0.8 * argon2Rate : (scenario.target ?? 0);
    const rps = result.requests.average;
    const readLatencyOk = scenario.kind !== 'read' || result.latency.p99 <= 50;
    const row: Row = {
      scenario: scenario.name,
      dialect: dialectUnderTest,
      rps: Math.round(rps),
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
      target: scenario.kind === 'login' ? `>= ${Math.round(target)} (80% of argon2)` : `>= ${target}${scenario.kind === 'read' ? ', p99 <= 50 ms' : ''}`,
      met: rps >= target && readLatencyOk && result.non2xx === 0 && result.errors === 0,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.table(rows.map(({ dialect: _dialect, ...row }) => ({ ...row, met: row.met ? 'yes' : 'NO' })));
  const missed = rows.filter((row) => !row.met).map((row) => row.scenario);
  console.log(missed.length === 0 ? 'all targets met' : `targets missed: ${missed.join(', ')}`);
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
    ...(otelEndpoint
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: otelEndpoint,
          OTEL_TRACES_SAMPLER: process.env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
          OTEL_TRACES_SAMPLER_ARG: process.env.OTEL_TRACES_SAMPLER_ARG ?? '1',
        }
      : {}),
    ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl, MIGRATE_ON_START: 'true', DATABASE_POOL_SIZE: '10' } : {}),
  },
  { stdout: openSync(logFile, 'w'), nodeOptions: options['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${logDir}`] : [] },
);
const base = `http://127.0.0.1:${port}`;
try {
  await waitFor(`${base}/readyz`, 200, 20_000, server);
  const seedStarted = Date.now();
  const data = await seed(base);
  console.log(`seeded ${data.users.length} users and ${data.slugs.length} articles in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s (${dialectUnderTest})`);
  if (options.scale === undefined) await runStandardBench(base, data);
  else await runScaleBench({ base, storage, data, articles: Number(options.scale), measure: (request) => load(base, request, DURATION), warmUp: (request) => load(base, request, WARMUP) });
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
  await storage.remove();
  if (traceSink !== undefined) console.log(`traces: ${await traceSink.stop()} spans received over OTLP/HTTP`);
}
