/**
 * What tracing costs per request, in CPU time of the app's process rather than in throughput
 * (which whatever else runs on a shared machine skews): the same requests through app.inject
 * with tracing off, on (every trace), and on at 10% sampling, interleaved over several rounds.
 * Each measurement runs in a fresh process, so one mode's JIT state and heap never weigh on
 * the next; spans go to a receiver in yet another process, so decoding them is not counted.
 *
 *   npm exec -- node bench/tracing-cost.ts [--requests 10000] [--rounds 3]
 *   npm exec -- node --cpu-prof bench/tracing-cost.ts --mode on     # one measurement, to profile
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { ensureSecrets } from '../src/secrets.ts';

const { values: options } = parseArgs({
  options: { requests: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' }, mode: { type: 'string' } },
});
const REQUESTS = Number(options.requests);
const ROUNDS = Number(options.rounds);
const CONCURRENCY = 32;
const ARTICLES = 20;

const MODES = {
  off: {},
  on: { OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
  sampled: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
} as const;
type Mode = keyof typeof MODES;

const SCENARIOS: Record<string, (slugs: string[]) => (index: number) => string> = {
  'list articles (anonymous)': () => () => '/api/articles',
  'get article': (slugs) => (index) => `/api/articles/${slugs[index % slugs.length]!}`,
};

interface Measurement {
  mode: Mode;
  scenario: string;
  /** Every thread of the process: the event loop, and V8's garbage collector and compiler threads. */
  cpu_us_per_request: number;
  /** The event loop's thread alone: what stands between a request and the next. */
  main_thread_us_per_request: number;
}

/** A receiver that answers every export and keeps nothing, in its own process. */
async function startReceiver(): Promise<{ endpoint: string; stop: () => void }> {
  const code = `import { createServer } from 'node:http';
const server = createServer((request, response) => { request.resume(); request.on('end', () => response.end('{}')); });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function appFor(mode: Mode, endpoint: string, dataDir: string): Promise<FastifyInstance> {
  const config = ensureSecrets(
    loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      RATE_LIMIT_MAX: '1000000',
      ...(mode === 'off' ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...MODES[mode] }),
    }),
    () => undefined,
  );
  // Logs are serialised as in production, then dropped.
  const app = await buildApp(config, { logStream: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  await app.ready();
  return app;
}

async function seed(app: FastifyInstance): Promise<string[]> {
  const registered = await app.inject({ method: 'POST', url: '/api/users', payload: { user: { username: 'tracer', email: 'tracer@example.com', password: 'Tracing-Cost-1' } } });
  const token = registered.json<{ user: { token: string } }>().user.token;
  const slugs: string[] = [];
  for (let index = 0; index < ARTICLES; index++) {
    const created = await app.inject({
      method: 'POST',
      url: '/api/articles',
      headers: { authorization: `Token ${token}` },
      payload: { article: { title: `Traced ${index}`, description: 'd', body: 'Some body. '.repeat(100), tagList: ['tracing'] } },
    });
    slugs.push(created.json<{ article: { slug: string } }>().article.slug);
  }
  return slugs;
}

/** CPU microseconds per request (whole process, and main thread), over `count` requests `CONCURRENCY` at a time. */
async function cpuPerRequest(app: FastifyInstance, url: (index: number) => string, count: number): Promise<{ process: number; mainThread: number }> {
  const started = process.cpuUsage();
  const startedThread = process.threadCpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const response = await app.inject({ method: 'GET', url: url(next++) });
      if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(started);
  const usedThread = process.threadCpuUsage(startedThread);
  return { process: (used.user + used.system) / count, mainThread: (usedThread.user + usedThread.system) / count };
}

/** One mode, every scenario, in this process: one JSON line per scenario. */
async function measure(mode: Mode): Promise<void> {
  const receiver = await startReceiver();
  const dataDir = mkdtempSync(join(tmpdir(), 'shipshape-tracing-cost-'));
  const app = await appFor(mode, receiver.endpoint, dataDir);
  try {
    const slugs = await seed(app);
    for (const [scenario, urls] of Object.entries(SCENARIOS)) {
      await cpuPerRequest(app, urls(slugs), REQUESTS / 10);
      const used = await cpuPerRequest(app, urls(slugs), REQUESTS);
      const measurement: Measurement = { mode, scenario, cpu_us_per_request: Math.round(used.process), main_thread_us_per_request: Math.round(used.mainThread) };
      console.log(JSON.stringify(measurement));
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    receiver.stop();
  }
}

/** Every mode, ROUNDS times, interleaved, each in a fresh process; then the medians. */
function compare(): void {
  const measurements: Measurement[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const output = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--mode', mode, '--requests', String(REQUESTS)], { encoding: 'utf8' });
      for (const line of output.split('\n').filter((text) => text.startsWith('{'))) {
        measurements.push(JSON.parse(line) as Measurement);
        console.log(JSON.stringify({ round, ...(JSON.parse(line) as Measurement) }));
      }
    }
  }
  const median = (mode: Mode, scenario: string, field: 'cpu_us_per_request' | 'main_thread_us_per_request') => {
    const values = measurements.filter((entry) => entry.mode === mode && entry.scenario === scenario).map((entry) => entry[field]).sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)]!;
  };
  const change = (value: number, base: number) => `${value >= base ? '+' : ''}${Math.round((value / base - 1) * 100)}%`;
  for (const [field, what] of [['cpu_us_per_request', 'whole process'], ['main_thread_us_per_request', 'main thread']] as const) {
    console.log(`µs of CPU per request, ${what} (median of ${ROUNDS})`);
    console.table(
      Object.keys(SCENARIOS).map((scenario) => {
        const off = median('off', scenario, field);
        return {
          scenario,
          off,
          on: median('on', scenario, field),
          'on vs off': change(median('on', scenario, field), off),
          '10% sampled': median('sampled', scenario, field),
          'sampled vs off': change(median('sampled', scenario, field), off),
        };
      }),
    );
  }
}

if (options.mode === undefined) compare();
else if (options.mode in MODES) await measure(options.mode as Mode);
else throw new Error(`--mode must be one of ${Object.keys(MODES).join(', ')}`);
