import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET, TEST_SESSION_SECRET } from '../helpers/app.ts';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres-cluster.ts';
import { startTestServer, type TestServer } from '../helpers/process.ts';

/**
 * PostgreSQL going away under steady load, on a cluster of this test's own: the server tells
 * the platform (/readyz 503), answers fast with 503 instead of hanging or 500, comes back by
 * itself when the database does, and loses nothing it acknowledged.
 */
const REQUEST_TIMEOUT_SECONDS = 10;
const OUTAGE_MS = 10_000;

let cluster: PostgresCluster;
let server: TestServer;
let admin: pg.Client;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  admin = new pg.Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  await admin.query('create database shipshape');
  await admin.end();
  server = await startTestServer({
    DATABASE_URL: cluster.urlFor('shipshape'),
    JWT_SECRET: TEST_JWT_SECRET,
    SESSION_SECRET: TEST_SESSION_SECRET,
    DATA_DIR: '/nonexistent-data-dir-unused-on-postgres',
    REQUEST_TIMEOUT_SECONDS: String(REQUEST_TIMEOUT_SECONDS),
    RATE_LIMIT_MAX: '1000000',
    LOG_LEVEL: 'warn',
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  cluster?.remove();
});

interface Outcome {
  readonly status: number;
  readonly ms: number;
  readonly slug?: string;
}

/** Writers and readers in a loop until stopped; every answer is recorded with its latency. */
function steadyLoad(token: string, writers = 3) {
  const outcomes: Outcome[] = [];
  let running = true;
  let counter = 0;
  async function write(): Promise<void> {
    const started = Date.now();
    try {
      const response = await fetch(`${server.baseUrl}/api/articles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Token ${token}` },
        body: JSON.stringify({ article: { title: `Outage ${process.pid} ${counter++}`, description: 'd', body: 'b', tagList: ['outage'] } }),
        signal: AbortSignal.timeout((REQUEST_TIMEOUT_SECONDS + 5) * 1000),
      });
      const body = (await response.json()) as { article?: { slug: string } };
      outcomes.push({ status: response.status, ms: Date.now() - started, ...(response.ok && body.article ? { slug: body.article.slug } : {}) });
    } catch {
      outcomes.push({ status: 0, ms: Date.now() - started });
    }
  }
  async function read(): Promise<void> {
    const started = Date.now();
    try {
      const response = await fetch(`${server.baseUrl}/api/articles?limit=5`, { signal: AbortSignal.timeout((REQUEST_TIMEOUT_SECONDS + 5) * 1000) });
      await response.arrayBuffer();
      outcomes.push({ status: response.status, ms: Date.now() - started });
    } catch {
      outcomes.push({ status: 0, ms: Date.now() - started });
    }
  }
  const loops = [...Array.from({ length: writers }, () => write), read].map(async (step) => {
    while (running) {
      await step();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return {
    outcomes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Polls /readyz; resolves to the ms until it answered `status`. */
async function msUntilReady(status: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const response = await fetch(`${server.baseUrl}/readyz`).catch(() => undefined);
    if (response?.status === status) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`/readyz did not answer ${status} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function register(): Promise<string> {
  const name = `outage${Math.random().toString(36).slice(2, 10)}`;
  const response = await fetch(`${server.baseUrl}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { username: name, email: `${name}@example.com`, password: 'Correct-Horse-9' } }),
  });
  return ((await response.json()) as { user: { token: string } }).user.token;
}

/** How many of these slugs the database holds, asked directly. */
async function slugsStored(slugs: readonly string[]): Promise<number> {
  const client = new pg.Client({ connectionString: cluster.urlFor('shipshape') });
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('select count(*) from articles where slug = any($1)', [slugs]);
    return Number(rows[0]!.count);
  } finally {
    await client.end();
  }
}

function summarise(outcomes: readonly Outcome[]) {
  const acknowledged = outcomes.filter((outcome) => outcome.slug !== undefined).map((outcome) => outcome.slug!);
  const byStatus: Record<number, number> = {};
  for (const outcome of outcomes) byStatus[outcome.status] = (byStatus[outcome.status] ?? 0) + 1;
  return { acknowledged, byStatus, maxMs: Math.max(...outcomes.map((outcome) => outcome.ms)) };
}

describe('a PostgreSQL outage under load', () => {
  it('turns /readyz 503 within 5 s, fails fast with 503, recovers without a restart and keeps every acknowledged write', async () => {
    const token = await register();
    const load = steadyLoad(token);
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const stoppedAt = Date.now();
    cluster.stop('fast');
    const msTo503 = await msUntilReady(503, 10_000);
    const during = load.outcomes.length;
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (Date.now() - stoppedAt)));
    const outageOutcomes = load.outcomes.slice(during);
    cluster.start();
    const msToRecover = await msUntilReady(200, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await load.stop();

    const { acknowledged, byStatus, maxMs } = summarise(load.outcomes);
    const stored = await slugsStored(acknowledged);
    const outage = summarise(outageOutcomes);
    console.log(
      `outage: /readyz 503 after ${msTo503} ms, 200 again ${msToRecover} ms after the restart; ${load.outcomes.length} requests ${JSON.stringify(byStatus)}, ` +
        `during the outage ${JSON.stringify(outage.byStatus)} with max ${outage.maxMs} ms; ${acknowledged.length} writes acknowledged, ${stored} found`,
    );

    expect(msTo503).toBeLessThanOrEqual(5000);
    expect(Object.keys(byStatus).map(Number).every((status) => [200, 201, 503].includes(status)), JSON.stringify(byStatus)).toBe(true);
    expect(outage.byStatus[503] ?? 0).toBeGreaterThan(0);
    expect(maxMs).toBeLessThan(REQUEST_TIMEOUT_SECONDS * 1000);
    expect(stored).toBe(acknowledged.length);
    // Recovered: the same process serves writes again.
    expect(server.alive()).toBe(true);
    const after = summarise(load.outcomes.slice(-20));
    expect(after.byStatus[201] ?? 0).toBeGreaterThan(0);
  }, 90_000);

  it('survives its connections being reset mid-transaction: 503 or success, never 500, nothing acknowledged lost', async () => {
    const token = await register();
    const load = steadyLoad(token, 4);
    const killer = new pg.Client({ connectionString: cluster.adminUrl });
    await killer.connect();
    let terminated = 0;
    try {
      for (let round = 0; round < 10; round += 1) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const { rowCount } = await killer.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = 'shipshape' and pid <> pg_backend_pid()");
        terminated += rowCount ?? 0;
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await killer.end();
      await load.stop();
    }

    const { acknowledged, byStatus, maxMs } = summarise(load.outcomes);
    const stored = await slugsStored(acknowledged);
    console.log(`connection resets: ${terminated} backends terminated; ${load.outcomes.length} requests ${JSON.stringify(byStatus)}, max ${maxMs} ms; ${acknowledged.length} writes acknowledged, ${stored} found`);

    expect(server.alive(), server.process.output().slice(-3000)).toBe(true);
    expect(terminated).toBeGreaterThan(0);
    expect(Object.keys(byStatus).map(Number).every((status) => [200, 201, 503].includes(status)), JSON.stringify(byStatus)).toBe(true);
    expect(stored).toBe(acknowledged.length);
    expect(server.alive()).toBe(true);
    expect((await fetch(`${server.baseUrl}/readyz`)).status).toBe(200);
  }, 60_000);
});
