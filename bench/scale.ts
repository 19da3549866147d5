/**
 * `npm run bench -- --scale N`: every list variant on the 500 seeded articles, then again after
 * generating N articles in bulk, side by side; then the heaviest mix of them while /healthz is
 * timed and the event-loop delay is read from /metrics.
 */
import { performance } from 'node:perf_hooks';
import { hash } from '@node-rs/argon2';
import type { Request as AutocannonRequest, Result } from 'autocannon';
import { openDatabase } from '../src/db/database.ts';
import { ARGON2_OPTIONS } from '../src/features/users/password-hashing.ts';
import { dialectUnderTest, type TestStorage } from '../test/helpers/app.ts';
import { fetchExposition, sumOf } from './exposition.ts';
import { generateScaleData, shapeFor } from './scale-data.ts';
import { BENCH_PASSWORD, type SeededData } from './seed.ts';

/** p99 budget for a list read at 32 connections, per database (the goal). */
const P99_BUDGET_MS = dialectUnderTest === 'sqlite' ? 50 : 100;
/** A list may cost this much more at scale than at 500 articles. */
const SLOWDOWN_ALLOWED = 1.5;
/** A deep page may cost this much more than the first page. */
const DEEP_PAGE_ALLOWED = 2;
const DEEP_OFFSET = 10_000;
const PAGE = 20;

export interface ScaleBenchOptions {
  readonly base: string;
  readonly storage: TestStorage;
  readonly data: SeededData;
  readonly articles: number;
  readonly measure: (request: AutocannonRequest) => Promise<Result>;
  readonly warmUp: (request: AutocannonRequest) => Promise<Result>;
}

/** Who and what the list requests name: the busiest ones, so the test is the hard case. */
interface ListTargets {
  readonly author: string;
  readonly favoriter: string;
  readonly articles: number;
}

interface ListScenario {
  readonly name: string;
  readonly path: string;
  /** Signed in, as one of these users in turn. */
  readonly tokens?: readonly string[];
}

function rotate<T>(items: readonly T[]): () => T {
  let next = 0;
  return () => items[next++ % items.length]!;
}

/** One request, or a mix of them, in turn; signed-in ones rotate through their users. */
function requestFor(scenarios: readonly ListScenario[]): AutocannonRequest {
  const next = rotate(scenarios.map((scenario) => ({ path: scenario.path, token: scenario.tokens ? rotate(scenario.tokens) : undefined })));
  return {
    method: 'GET',
    setupRequest: (request) => {
      const { path, token } = next();
      return { ...request, path, headers: token ? { ...request.headers, authorization: `Token ${token()}` } : request.headers };
    },
  };
}

function listScenarios(data: SeededData, targets: ListTargets): ListScenario[] {
  const tokens = data.users.map((user) => user.token);
  const deepOffset = Math.min(DEEP_OFFSET, Math.max(0, targets.articles - PAGE));
  return [
    { name: 'global', path: '/api/articles' },
    { name: 'global, signed in', path: '/api/articles', tokens },
    { name: 'tag (most used)', path: '/api/articles?tag=tag00' },
    { name: 'tag (less used)', path: '/api/articles?tag=tag19' },
    { name: 'author (busiest)', path: `/api/articles?author=${encodeURIComponent(targets.author)}` },
    { name: 'favorited (busiest)', path: `/api/articles?favorited=${encodeURIComponent(targets.favoriter)}` },
    { name: 'feed', path: '/api/articles/feed', tokens },
    { name: `global, offset ${deepOffset}`, path: `/api/articles?offset=${deepOffset}` },
    { name: 'web home', path: '/' },
  ];
}

interface Measured {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
}

async function measureAll(options: ScaleBenchOptions, scenarios: ListScenario[]): Promise<Map<string, Measured>> {
  const results = new Map<string, Measured>();
  for (const scenario of scenarios) {
    await options.warmUp(requestFor([scenario]));
    const result = await options.measure(requestFor([scenario]));
    const measured = { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, failures: result.non2xx + result.errors };
    console.log(JSON.stringify({ scenario: scenario.name, dialect: dialectUnderTest, ...measured }));
    results.set(scenario.name, measured);
  }
  return results;
}

/** Variant names without the offset, which differs between the two sizes. */
function variantOf(name: string): string {
  return name.startsWith('global, offset') ? 'global, deep offset' : name;
}

export async function runScaleBench(options: ScaleBenchOptions): Promise<void> {
  const { data } = options;
  const small = await measureAll(options, listScenarios(data, { author: data.users[0]!.username, favoriter: data.users[0]!.username, articles: data.slugs.length }));

  const database = openDatabase({ databaseUrl: options.storage.databaseUrl, dataDir: options.storage.dataDir, databasePoolSize: 2 });
  const started = performance.now();
  const generated = await generateScaleData(database.db, dialectUnderTest, shapeFor(options.articles), await hash(BENCH_PASSWORD, ARGON2_OPTIONS));
  await database.close();
  console.log(`generated in ${((performance.now() - started) / 1000).toFixed(1)} s (${dialectUnderTest}): ${JSON.stringify(generated.counts)}`);

  const largeScenarios = listScenarios(data, { author: generated.busiestAuthor, favoriter: generated.busiestFavoriter, articles: generated.counts.articles! });
  const large = await measureAll(options, largeScenarios);
  const firstPage = large.get('global')!;

  const rows = [...small].map(([name, before]) => {
    const largeName = largeScenarios.find((scenario) => variantOf(scenario.name) === variantOf(name))!.name;
    const after = large.get(largeName)!;
    const deep = variantOf(name) === 'global, deep offset';
    const reference = deep ? firstPage.rps / DEEP_PAGE_ALLOWED : before.rps / SLOWDOWN_ALLOWED;
    return {
      variant: variantOf(name),
      'rps @500': before.rps,
      'p99 @500': before.p99,
      [`rps @${generated.counts.articles}`]: after.rps,
      [`p99 @${generated.counts.articles}`]: after.p99,
      'ratio': Number((before.rps / Math.max(after.rps, 1)).toFixed(2)),
      met: after.rps >= reference && after.p99 <= P99_BUDGET_MS && after.failures === 0 ? 'yes' : 'NO',
    };
  });
  console.table(rows);
  console.log(`goal: rps at scale >= rps at 500 / ${SLOWDOWN_ALLOWED} (deep offset: >= first page / ${DEEP_PAGE_ALLOWED}), p99 <= ${P99_BUDGET_MS} ms`);

  await worstMix(options, largeScenarios);
}

/**
 * The heaviest list requests at once at full concurrency, while a separate client asks
 * /healthz every 50 ms: what a kubelet's liveness probe would see.
 */
async function worstMix(options: ScaleBenchOptions, scenarios: ListScenario[]): Promise<void> {
  const heavy = scenarios.filter((scenario) => !scenario.name.startsWith('web') && scenario.name !== 'global');
  await readEventLoopDelay(options.base); // the histogram restarts at every scrape
  const probes: number[] = [];
  let mixing = true;
  const probing = (async () => {
    while (mixing) {
      const sent = performance.now();
      await fetch(`${options.base}/healthz`).then((response) => response.arrayBuffer());
      probes.push(performance.now() - sent);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const result = await options.measure(requestFor(heavy));
  mixing = false;
  await probing;
  const delay = await readEventLoopDelay(options.base);
  probes.sort((a, b) => a - b);
  const percentile = (p: number) => probes[Math.min(probes.length - 1, Math.floor((p / 100) * probes.length))]!;
  console.log(JSON.stringify({
    mix: heavy.map((scenario) => scenario.name),
    dialect: dialectUnderTest,
    rps: Math.round(result.requests.average),
    p99_ms: result.latency.p99,
    failures: result.non2xx + result.errors,
    healthz_probes: probes.length,
    healthz_p50_ms: Number(percentile(50).toFixed(1)),
    healthz_p99_ms: Number(percentile(99).toFixed(1)),
    healthz_max_ms: Number(probes.at(-1)!.toFixed(1)),
    eventloop_delay_p99_ms: delay.p99,
    eventloop_delay_max_ms: delay.max,
  }));
}

async function readEventLoopDelay(base: string): Promise<{ p99: number; max: number }> {
  const exposition = await fetchExposition(base);
  const read = (name: string) => Number((1000 * sumOf(exposition, name)).toFixed(1));
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') };
}
