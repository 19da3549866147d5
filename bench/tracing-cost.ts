/**
 * What tracing costs per request, in CPU time of the app's process rather than in throughput
 * (which whatever else runs on a shared machine skews): the same requests through app.inject
 * with tracing off, on (every trace), and on at 10% sampling, interleaved over several rounds.
 * Spans go to an OTLP receiver in a child process, so decoding them is not counted.
 *
 *   npm exec -- node bench/tracing-cost.ts [--requests 20000] [--rounds 3] [--modes "off,on"]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { ensureSecrets } from '../src/secrets.ts';

const { values: options } = parseArgs({
  options: { requests: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' }, modes: { type: 'string' } },
});
const REQUESTS = Number(options.requests);
const ROUNDS = Number(options.rounds);
const CONCURRENCY = 32;
const ARTICLES = 20;

const MODES = {
  off: {},
  on: { OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
  'on, 10% sampled': { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' },
} as const;
type Mode = keyof typeof MODES;

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

/** CPU microseconds of this process per request, over `count` requests `CONCURRENCY` at a time. */
async function cpuPerRequest(app: FastifyInstance, url: (index: number) => string, count: number): Promise<number> {
  const started = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const response = await app.inject({ method: 'GET', url: url(next++) });
      if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${response.body}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}

const chosenModes = (Object.keys(MODES) as Mode[]).filter((mode) => options.modes === undefined || options.modes.split(',').includes(mode));
const receiver = await startReceiver();
const SCENARIOS: Record<string, (slugs: string[]) => (index: number) => string> = {
  'list articles (anonymous)': () => () => '/api/articles',
  'get article': (slugs) => (index) => `/api/articles/${slugs[index % slugs.length]!}`,
};
const results: Record<string, Record<Mode, number[]>> = {};
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of chosenModes) {
      const dataDir = mkdtempSync(join(tmpdir(), 'shipshape-tracing-cost-'));
      const app = await appFor(mode, receiver.endpoint, dataDir);
      try {
        const slugs = await seed(app);
        for (const [name, scenario] of Object.entries(SCENARIOS)) {
          const url = scenario(slugs);
          await cpuPerRequest(app, url, REQUESTS / 10);
          const micros = await cpuPerRequest(app, url, REQUESTS);
          ((results[name] ??= { off: [], on: [], 'on, 10% sampled': [] })[mode]).push(micros);
          console.log(JSON.stringify({ round: round + 1, mode, scenario: name, cpu_us_per_request: Math.round(micros) }));
        }
      } finally {
        await app.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }
} finally {
  receiver.stop();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
if (chosenModes.length === 3) {
console.table(
  Object.entries(results).map(([scenario, byMode]) => {
    const off = median(byMode.off);
    return {
      scenario,
      'off (µs CPU/req)': Math.round(off),
      'on (µs)': Math.round(median(byMode.on)),
      'on vs off': `+${Math.round((median(byMode.on) / off - 1) * 100)}%`,
      '10% sampled (µs)': Math.round(median(byMode['on, 10% sampled'])),
      'sampled vs off': `+${Math.round((median(byMode['on, 10% sampled']) / off - 1) * 100)}%`,
    };
  }),
);
}
