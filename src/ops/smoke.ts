/**
 * Smoke test of a running Shipshape: probes, version, then a real user journey through the API
 * (register, publish an article, read it back) and, where /metrics is reachable, the request
 * showing up in the metrics. Used by the container test, by the pipelines after a deploy, and
 * (read-only) by production's Argo CD PostSync hook Job, which runs it from the app image.
 * `--read-only` (production) writes nothing: probes, version, then the public lists, an article
 * from them and the home page, so a release leaves no user or article behind.
 *
 * Usage: node dist/cli.js smoke <base-url> [--expect-sha <git sha>] [--metrics] [--read-only]
 * (npm run smoke -- <base-url> ... from a checkout).
 * Exits 0 when every check passes, 1 naming the first that failed.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

export interface SmokeOptions {
  /** The commit the deployment should report on /version. */
  expectSha?: string;
  /** Also check /metrics (not reachable through a public ingress). */
  metrics?: boolean;
  /** Read, never write: for production, where a smoke test must leave no data behind. */
  readOnly?: boolean;
  /** Per-request timeout. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export class SmokeFailure extends Error {}

interface Answer {
  status: number;
  text: string;
  json: () => Record<string, unknown>;
}

async function call(baseUrl: string, path: string, init: RequestInit & { timeoutMs: number }): Promise<Answer> {
  const response = await fetch(new URL(path, baseUrl), { ...init, signal: AbortSignal.timeout(init.timeoutMs) });
  const text = await response.text();
  return {
    status: response.status,
    text,
    json: () => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new SmokeFailure(`${path}: expected JSON, got ${JSON.stringify(text.slice(0, 200))}`);
      }
    },
  };
}

function expectStatus(step: string, answer: Answer, status: number): void {
  if (answer.status !== status) {
    throw new SmokeFailure(`${step}: expected ${status}, got ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
}

/** Runs every check in order; throws SmokeFailure naming the first that fails. Returns the steps passed. */
export async function smokeTest(baseUrl: string, options: SmokeOptions = {}): Promise<string[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const passed: string[] = [];
  const pass = (step: string) => {
    passed.push(step);
    options.log?.(`ok ${passed.length} - ${step}`);
  };
  const get = (path: string, token?: string) =>
    call(baseUrl, path, { timeoutMs, headers: token ? { authorization: `Token ${token}` } : {} });
  const post = (path: string, body: unknown, token?: string) =>
    call(baseUrl, path, {
      timeoutMs,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Token ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  expectStatus('GET /healthz', await get('/healthz'), 200);
  pass('liveness: /healthz answers 200');
  expectStatus('GET /readyz', await get('/readyz'), 200);
  pass('readiness: /readyz answers 200');

  const version = await get('/version');
  expectStatus('GET /version', version, 200);
  const { version: appVersion, gitSha } = version.json();
  if (options.expectSha !== undefined && gitSha !== options.expectSha) {
    throw new SmokeFailure(`GET /version: expected gitSha ${options.expectSha}, got ${String(gitSha)}`);
  }
  pass(`version: ${String(appVersion)} at ${String(gitSha)}`);

  if (options.readOnly) {
    await readOnlyJourney(get, pass);
    return passed;
  }

  const name = `smoke${randomBytes(5).toString('hex')}`;
  const registered = await post('/api/users', { user: { username: name, email: `${name}@example.com`, password: `Smoke-${randomBytes(6).toString('hex')}-1A` } });
  expectStatus('POST /api/users', registered, 201);
  const token = (registered.json().user as { token?: string } | undefined)?.token;
  if (typeof token !== 'string') throw new SmokeFailure('POST /api/users: no token in the response');
  pass(`registered ${name}`);

  const title = `Smoke test ${new Date().toISOString()}`;
  const created = await post('/api/articles', { article: { title, description: 'smoke', body: 'Written by the smoke test.', tagList: ['smoke'] } }, token);
  expectStatus('POST /api/articles', created, 201);
  const slug = (created.json().article as { slug?: string } | undefined)?.slug;
  if (typeof slug !== 'string') throw new SmokeFailure('POST /api/articles: no slug in the response');
  pass(`published ${slug}`);

  const read = await get(`/api/articles/${encodeURIComponent(slug)}`);
  expectStatus(`GET /api/articles/${slug}`, read, 200);
  const article = read.json().article as { title?: string; author?: { username?: string } } | undefined;
  if (article?.title !== title || article.author?.username !== name) {
    throw new SmokeFailure(`GET /api/articles/${slug}: the article read back is not the one written: ${read.text.slice(0, 300)}`);
  }
  pass('read the article back');

  if (options.metrics) {
    const metrics = await get('/metrics');
    expectStatus('GET /metrics', metrics, 200);
    const counted = /http_request_duration_seconds_count\{[^}]*route="\/api\/articles\/:slug"[^}]*\} [1-9]/;
    if (!counted.test(metrics.text)) throw new SmokeFailure('GET /metrics: the article read is not counted in http_request_duration_seconds');
    pass('metrics count the request');
  }
  return passed;
}

/** What anyone can read: the lists, one article from them, the tags and the home page. */
async function readOnlyJourney(get: (path: string) => Promise<Answer>, pass: (step: string) => void): Promise<void> {
  const list = await get('/api/articles?limit=1');
  expectStatus('GET /api/articles', list, 200);
  const { articles, articlesCount } = list.json() as { articles?: { slug: string }[]; articlesCount?: number };
  if (!Array.isArray(articles) || typeof articlesCount !== 'number') throw new SmokeFailure('GET /api/articles: not a list of articles with a count');
  pass(`listed articles (${articlesCount} in all)`);
  const first = articles[0];
  if (first !== undefined) {
    expectStatus(`GET /api/articles/${first.slug}`, await get(`/api/articles/${encodeURIComponent(first.slug)}`), 200);
    pass('read the newest article');
  }
  expectStatus('GET /api/tags', await get('/api/tags'), 200);
  pass('listed tags');
  const home = await get('/');
  expectStatus('GET /', home, 200);
  if (!home.text.includes('<html')) throw new SmokeFailure('GET /: not an HTML page');
  pass('rendered the home page');
}

/** The `smoke` command: the exit code is 0 when every check passed, 1 on a failure, 64 on bad usage. */
export async function runSmokeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'expect-sha': { type: 'string' }, metrics: { type: 'boolean', default: false }, 'read-only': { type: 'boolean', default: false } },
  });
  const baseUrl = positionals[0];
  if (baseUrl === undefined) {
    process.stderr.write('usage: smoke <base-url> [--expect-sha <git sha>] [--metrics] [--read-only]\n');
    return 64;
  }
  try {
    const steps = await smokeTest(baseUrl, { expectSha: values['expect-sha'], metrics: values.metrics, readOnly: values['read-only'], log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(`smoke test passed: ${steps.length} checks against ${baseUrl}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`smoke test FAILED against ${baseUrl}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
