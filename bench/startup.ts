/**
 * Start-up and memory of the built server as the container runs it (`node dist/server.js`,
 * production, SQLite on a fresh DATA_DIR): time from spawn to the first `/readyz` 200, resident
 * memory once idle, and with --after-load the resident memory (and its peak) after seeding the
 * bench's data set and running the read scenarios against it. Each figure is the median of
 * --runs starts. Run `npm run build` first.
 *
 *   npm run bench:startup [-- --runs 5 --after-load --load-seconds 5 --settle-ms 5000 --env IDLE_GC_HEAP_GROWTH=0]
 *
 * With --after-load the memory is read twice: as the load ends, and --settle-ms later (5 s by
 * default), once the quiet server has given back what the load left behind (src/idle-gc.ts).
 * The summary calls them end_of_load and after_load.
 * --env (repeatable) adds a variable to the server's environment, such as those the image sets.
 * Each run also prints where the resident memory sits (anonymous vs file-backed pages, the V8
 * heap, memory outside it, threads), read from /proc and the server's own /metrics.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon, { type Request as AutocannonRequest } from 'autocannon';
import { freePort, productionEnv, startNode } from '../test/helpers/process.ts';
import { fetchExposition, sumOf } from './exposition.ts';
import { type SeededData, seed } from './seed.ts';

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    script: { type: 'string', default: 'dist/server.js' },
    'after-load': { type: 'boolean', default: false },
    'load-seconds': { type: 'string', default: '5' },
    'idle-ms': { type: 'string', default: '2000' },
    'settle-ms': { type: 'string', default: '5000' },
    env: { type: 'string', multiple: true, default: [] },
  },
});

/** NAME=VALUE pairs given with --env. */
function extraEnv(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const separator = pair.indexOf('=');
      if (separator < 1) throw new Error(`--env takes NAME=VALUE, got "${pair}"`);
      return [pair.slice(0, separator), pair.slice(separator + 1)];
    }),
  );
}

/** How often the probe asks /readyz: fine enough to resolve tens of milliseconds. */
const PROBE_INTERVAL_MS = 5;
const READY_TIMEOUT_MS = 30_000;

interface Memory {
  /** Resident set size now, MiB. */
  readonly rssMiB: number;
  /** The largest resident set size so far (VmHWM), MiB. */
  readonly peakMiB: number;
}

interface Breakdown {
  /** Anonymous pages (V8 heap, malloc, stacks), MiB. */
  readonly anonMiB: number;
  /** File-backed pages (the node binary, shared libraries, mapped database), MiB. */
  readonly fileMiB: number;
  /** V8 heap committed and used, MiB (nodejs_heap_size_*_bytes). */
  readonly heapTotalMiB: number;
  readonly heapUsedMiB: number;
  /** Memory V8 accounts outside its heap (Buffers, native objects), MiB. */
  readonly externalMiB: number;
  readonly threads: number;
}

const MIB = 1024 * 1024;

/**
 * A process's resident memory now and at its peak, and where it sits: one read of
 * /proc/<pid>/status (Linux; sizes in kB), then the V8 figures from its /metrics.
 */
export async function memoryOf(pid: number, base: string): Promise<Memory & { breakdown: Breakdown }> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  const exposition = await fetchExposition(base);
  const mib = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;
  return {
    rssMiB: field('VmRSS') / 1024,
    peakMiB: field('VmHWM') / 1024,
    breakdown: {
      anonMiB: mib(field('RssAnon') * 1024),
      fileMiB: mib(field('RssFile') * 1024),
      heapTotalMiB: mib(sumOf(exposition, 'nodejs_heap_size_total_bytes')),
      heapUsedMiB: mib(sumOf(exposition, 'nodejs_heap_size_used_bytes')),
      externalMiB: mib(sumOf(exposition, 'nodejs_external_memory_bytes')),
      threads: field('Threads'),
    },
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).status === 200;
  } catch {
    return false;
  }
}

/** The read requests of the load benchmark, cycling over the seeded users and articles. */
function readLoad(data: SeededData): AutocannonRequest[] {
  let next = 0;
  const token = () => data.users[next++ % data.users.length]!.token;
  const slug = () => data.slugs[next++ % data.slugs.length]!;
  const signedIn = (path: string): AutocannonRequest => ({
    method: 'GET',
    path,
    setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Token ${token()}` } }),
  });
  return [
    { method: 'GET', path: '/api/articles' },
    signedIn('/api/articles'),
    signedIn('/api/articles/feed'),
    { method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/articles/${slug()}` }) },
    { method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/articles/${slug()}/comments` }) },
    { method: 'GET', path: '/api/tags' },
  ];
}

interface Run {
  readonly readyMs: number;
  readonly idle: Memory & { breakdown: Breakdown };
  /** As the load ends. */
  readonly endOfLoad?: Memory & { breakdown: Breakdown };
  /** --settle-ms after the load. */
  readonly afterLoad?: Memory & { breakdown: Breakdown };
}

async function measureOnce(): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipshape-startup-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const server = startNode(options.script, [], {
    ...productionEnv(),
    DATA_DIR: dataDir,
    PORT: String(port),
    SHUTDOWN_DELAY_SECONDS: '0',
    RATE_LIMIT_MAX: '1000000',
    LOG_LEVEL: 'warn',
    ...extraEnv(options.env),
  });
  try {
    while (!(await answers(`${base}/readyz`))) {
      if (server.child.exitCode !== null) throw new Error(`the server exited with ${server.child.exitCode}:\n${server.output()}`);
      if (performance.now() - started > READY_TIMEOUT_MS) throw new Error(`not ready within ${READY_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
    const readyMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, Number(options['idle-ms'])));
    const idle = await memoryOf(server.child.pid!, base);
    if (!options['after-load']) return { readyMs, idle };
    const data = await seed(base);
    for (const request of readLoad(data)) {
      await autocannon({ url: base, connections: 32, duration: Number(options['load-seconds']), requests: [request] });
    }
    const endOfLoad = await memoryOf(server.child.pid!, base);
    await new Promise((resolve) => setTimeout(resolve, Number(options['settle-ms'])));
    return { readyMs, idle, endOfLoad, afterLoad: await memoryOf(server.child.pid!, base) };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const runs: Run[] = [];
for (let index = 0; index < Number(options.runs); index += 1) {
  const run = await measureOnce();
  runs.push(run);
  console.log(JSON.stringify({ run: index + 1, ...run }));
}
const summary: Record<string, number> = {
  ready_ms: Math.round(median(runs.map((run) => run.readyMs))),
  idle_rss_mib: Math.round(median(runs.map((run) => run.idle.rssMiB))),
};
const loaded = runs.flatMap((run) => (run.afterLoad === undefined ? [] : [run.afterLoad]));
const endsOfLoad = runs.flatMap((run) => (run.endOfLoad === undefined ? [] : [run.endOfLoad]));
if (loaded.length > 0) {
  summary.end_of_load_rss_mib = Math.round(median(endsOfLoad.map((memory) => memory.rssMiB)));
  summary.after_load_rss_mib = Math.round(median(loaded.map((memory) => memory.rssMiB)));
  summary.after_load_peak_mib = Math.round(median(loaded.map((memory) => memory.peakMiB)));
}
console.log(`${options.script}, median of ${runs.length}: ${JSON.stringify(summary)}`);
