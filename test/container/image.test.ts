/**
 * The real image, run with podman and runc as production runs it (read-only root filesystem,
 * no capabilities, uid 1000): on its embedded SQLite, against a real PostgreSQL, and through a
 * graceful shutdown under load. Built first by scripts/container/build-image.sh; the PostgreSQL
 * cluster comes from scripts/with-postgres.sh (npm run test:container does both).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smokeTest } from '../../scripts/smoke.ts';
import { createTestStorage, type TestStorage } from '../helpers/app.ts';
import { collectionPassed, runConduitCollection } from '../helpers/newman.ts';
import {
  containerLogs,
  IMAGE,
  initProcessStatus,
  podman,
  podmanOk,
  removeContainer,
  runContainer,
  startContainer,
} from '../helpers/podman.ts';
import { freePort, jsonLines, ROOT, waitFor } from '../helpers/process.ts';

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const lockfile = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
/** Packages only development needs (typescript, vitest, eslint...): none may be in the image. */
const devOnlyPackages = Object.entries(lockfile.packages)
  .filter(([path, entry]) => entry.dev === true && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path))
  .map(([path]) => path.slice('node_modules/'.length));
const headSha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
/** The commit's time, the only date a reproducible build may carry (SOURCE_DATE_EPOCH). */
const commitTime = new Date(Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim()) * 1000);
const secrets = () => ({ JWT_SECRET: randomBytes(32).toString('hex'), SESSION_SECRET: randomBytes(32).toString('hex') });
const SQLITE_TMPFS = ['--mount', 'type=tmpfs,destination=/data,chown=true'];

/** Seconds from `podman run -d` to /readyz answering 200: a figure for the issue note. */
async function startAndTimeReadiness(name: string, env: Record<string, string>, flags: string[], baseUrl: string): Promise<number> {
  const started = performance.now();
  await startContainer({ name, env, flags });
  try {
    await waitFor(`${baseUrl}/readyz`, 200, 30_000);
  } catch (error) {
    throw new Error(`${String(error)}\ncontainer logs:\n${await containerLogs(name)}`, { cause: error });
  }
  return (performance.now() - started) / 1000;
}

describe('the image', () => {
  it("carries OCI labels for its source, revision, version and creation time (the commit's)", async () => {
    const labels = JSON.parse(await podmanOk(['image', 'inspect', '--format', '{{json .Labels}}', IMAGE])) as Record<string, string>;

    expect(labels['org.opencontainers.image.revision']).toBe(headSha);
    expect(labels['org.opencontainers.image.version']).toBe(packageJson.version);
    expect(labels['org.opencontainers.image.source']).not.toBe('');
    expect(labels['org.opencontainers.image.created']).toBe(commitTime.toISOString().replace('.000Z', 'Z'));
  });

  it('starts node itself as uid 1000, in production mode, with no volume', async () => {
    const config = JSON.parse(await podmanOk(['image', 'inspect', '--format', '{{json .Config}}', IMAGE])) as {
      User: string;
      Cmd: string[];
      Entrypoint?: string[] | null;
      Env: string[];
      Volumes?: Record<string, unknown> | null;
      ExposedPorts: Record<string, unknown>;
    };

    expect(config.User).toBe('1000:1000');
    expect(config.Cmd).toEqual(['node', 'dist/server.js']);
    expect(config.Entrypoint ?? []).toEqual([]);
    expect(config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'HOST=0.0.0.0', 'PORT=3000', `GIT_SHA=${headSha}`]));
    expect(config.Volumes ?? {}).toEqual({});
    expect(Object.keys(config.ExposedPorts)).toEqual(['3000/tcp']);
  });

  it('holds the compiled app and production dependencies only: no sources, tests or dev tools', async () => {
    const listing = `
      const { readdirSync, existsSync } = require('node:fs');
      const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? walk(dir + '/' + entry.name) : [dir + '/' + entry.name]);
      console.log(JSON.stringify({
        app: readdirSync('/app').sort(),
        dist: walk('/app/dist'),
        modules: readdirSync('/app/node_modules').flatMap((name) =>
          name.startsWith('@') ? readdirSync('/app/node_modules/' + name).map((child) => name + '/' + child) : [name]),
      }));`;
    const result = await runContainer({ env: {}, command: ['node', '-e', listing] });
    expect(result.code, result.stderr).toBe(0);
    const { app, dist, modules } = JSON.parse(result.stdout) as { app: string[]; dist: string[]; modules: string[] };

    expect(app).toEqual(['dist', 'node_modules', 'package.json']);
    expect(dist.filter((file) => /\.(ts|mts|cts)$/.test(file))).toEqual([]);
    expect(dist.filter((file) => /\.test\.js$|\/test\//.test(file))).toEqual([]);
    expect(dist).toContain('/app/dist/server.js');
    expect(dist).toContain('/app/dist/cli.js');
    expect(dist).toContain('/app/dist/views/layout.eta');
    expect(devOnlyPackages).toEqual(expect.arrayContaining(['typescript', 'vitest', 'eslint', 'newman', 'playwright-core', 'node']));
    expect(modules.filter((name) => devOnlyPackages.includes(name))).toEqual([]);
    expect(modules).toEqual(expect.arrayContaining(['fastify', 'better-sqlite3', 'pg', 'kysely']));
  });
});

describe('on its embedded SQLite, hardened as in production', () => {
  const name = 'shipshape-test-sqlite';
  let baseUrl: string;

  beforeAll(async () => {
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const seconds = await startAndTimeReadiness(name, secrets(), [...SQLITE_TMPFS, '-p', `127.0.0.1:${port}:3000`], baseUrl);
    const { VmRSS } = await initProcessStatus(name);
    console.log(`figures: podman run to /readyz 200 in ${seconds.toFixed(2)} s; idle RSS ${VmRSS}`);
  });
  afterAll(() => removeContainer(name));

  it('runs as uid 1000 with a read-only root, no capabilities and no privilege escalation', async () => {
    const status = await initProcessStatus(name);
    const inspect = JSON.parse(await podmanOk(['inspect', '--format', '{{json .HostConfig}}', name])) as { ReadonlyRootfs: boolean };
    const write = (path: string) => podman(['exec', name, 'node', '-e', `require('node:fs').writeFileSync(${JSON.stringify(path)}, 'x')`]);

    expect(status.Uid?.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
    expect(status.Gid?.split(/\s+/)).toEqual(['1000', '1000', '1000', '1000']);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) expect(status[set], set).toBe('0000000000000000');
    expect(status.NoNewPrivs).toBe('1');
    expect(inspect.ReadonlyRootfs).toBe(true);
    const appWrite = await write('/app/dist/server.js');
    expect(appWrite.code).not.toBe(0);
    expect(appWrite.stderr).toContain('EROFS');
    expect((await write('/etc/probe')).code).not.toBe(0);
    expect((await write('/tmp/probe')).code).toBe(0);
    expect((await write('/data/probe')).code).toBe(0);
  });

  it('passes the smoke test, reporting the commit it was built from', async () => {
    const steps = await smokeTest(baseUrl, { expectSha: headSha, metrics: true });

    expect(steps).toHaveLength(7);
  });

  it('passes every assertion of the official RealWorld Postman collection', async () => {
    const stats = await runConduitCollection(`${baseUrl}/api`, { quiet: true });
    console.log(`conformance in the container: ${stats.assertions.total - stats.assertions.failed}/${stats.assertions.total} assertions, ${stats.requests.total} requests`);

    expect(stats.assertions.failed).toBe(0);
    expect(collectionPassed(stats)).toBe(true);
  }, 120_000);
});

describe('against a real PostgreSQL', () => {
  const name = 'shipshape-test-postgres';
  let storage: TestStorage;
  let databaseUrl: string;

  beforeAll(async () => {
    if (process.env.TEST_DATABASE_URL === undefined) {
      throw new Error('TEST_DATABASE_URL is not set: run this suite with npm run test:container (scripts/with-postgres.sh)');
    }
    storage = await createTestStorage();
    databaseUrl = storage.databaseUrl ?? '';
  });
  afterAll(async () => {
    await removeContainer(name);
    await storage.remove();
  });

  it('runs the migrate command in the image: applies every migration, then finds nothing to do', async () => {
    const migrate = () => runContainer({ env: { DATABASE_URL: databaseUrl }, flags: ['--network', 'host'], command: ['node', 'dist/cli.js', 'migrate'] });

    const first = await migrate();
    const second = await migrate();

    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(jsonLines(first.stdout)).toContainEqual(expect.objectContaining({ msg: 'migrations applied' }));
    expect(second.code).toBe(0);
    expect(jsonLines(second.stdout)).toContainEqual(expect.objectContaining({ msg: 'database already current', applied: [] }));
  });

  it('serves the migrated database and passes the smoke test', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = { ...secrets(), DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: String(port) };
    await startAndTimeReadiness(name, env, ['--network', 'host'], baseUrl);

    const steps = await smokeTest(baseUrl, { expectSha: headSha, metrics: true });
    const ready = (await (await fetch(`${baseUrl}/readyz`)).json()) as Record<string, unknown>;

    expect(steps).toHaveLength(7);
    expect(ready).toEqual({ status: 'ready' });
    expect(jsonLines(await containerLogs(name))).toContainEqual(expect.objectContaining({ dialect: 'postgres' }));
  });
});

describe('shutdown under load', () => {
  const name = 'shipshape-test-shutdown';
  const volume = `shipshape-test-data-${randomBytes(4).toString('hex')}`;
  const DRAIN_DELAY_SECONDS = 3;
  const DRAIN_TIMEOUT_SECONDS = 10;

  afterAll(async () => {
    await removeContainer(name);
    await removeContainer(`${name}-after`);
    await podman(['volume', 'rm', '-f', volume]);
  });

  it('exits 0 within the drain time on SIGTERM, fails no request it accepted, loses no write, and logs only JSON', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    // Thousands of writes from one client in seconds: the rate limit would answer most with 429.
    const env = { ...secrets(), SHUTDOWN_DELAY_SECONDS: String(DRAIN_DELAY_SECONDS), SHUTDOWN_TIMEOUT_SECONDS: String(DRAIN_TIMEOUT_SECONDS), RATE_LIMIT_MAX: '1000000' };
    const flags = ['-v', `${volume}:/data`, '-p', `127.0.0.1:${port}:3000`];
    await startAndTimeReadiness(name, env, flags, baseUrl);
    const writer = await register(baseUrl);

    // A load balancer stops sending new requests a little after readiness fails; the drain
    // delay must cover that lag, so the stream stops one second after the first 503.
    let withdrawn = false;
    let signalledAt = 0;
    const failures: string[] = [];
    const acknowledged: string[] = [];
    let requests = 0;
    const stream = async (worker: number) => {
      for (let index = 0; !withdrawn; index++) {
        requests++;
        try {
          if (index % 2 === 0) {
            const response = await fetch(`${baseUrl}/api/articles?limit=5`);
            if (response.status !== 200) failures.push(`GET ${response.status}`);
            await response.arrayBuffer();
          } else {
            const title = `drain ${worker} ${index} ${randomBytes(3).toString('hex')}`;
            const response = await fetch(`${baseUrl}/api/articles`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Token ${writer}` },
              body: JSON.stringify({ article: { title, description: 'd', body: 'b', tagList: [] } }),
            });
            if (response.status === 201) acknowledged.push(((await response.json()) as { article: { slug: string } }).article.slug);
            else failures.push(`POST ${response.status}`);
          }
        } catch (error) {
          failures.push(`${String(error)} ${String((error as { cause?: unknown }).cause)}`);
        }
      }
    };
    const watchReadiness = async () => {
      for (;;) {
        const status = await fetch(`${baseUrl}/readyz`).then((response) => response.status, () => 0);
        if (signalledAt > 0 && status === 503) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const notReadyAfter = (performance.now() - signalledAt) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      withdrawn = true;
      return notReadyAfter;
    };

    const streams = [0, 1, 2, 3].map(stream);
    const readiness = watchReadiness();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    signalledAt = performance.now();
    await podmanOk(['kill', '--signal', 'TERM', name]);
    const notReadyAfter = await readiness;
    await Promise.all(streams);
    const exitCode = Number((await podmanOk(['wait', name], 60_000)).trim());
    const exitedAfter = (performance.now() - signalledAt) / 1000;
    const logs = await containerLogs(name);
    console.log(
      `figures: ${requests} requests (${acknowledged.length} writes) during the drain; /readyz 503 after ${notReadyAfter.toFixed(2)} s; exit ${exitCode} after ${exitedAfter.toFixed(2)} s`,
    );

    expect(failures).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(exitCode).toBe(0);
    expect(notReadyAfter).toBeLessThan(1);
    expect(exitedAfter).toBeLessThan(DRAIN_DELAY_SECONDS + DRAIN_TIMEOUT_SECONDS);
    const lines = logs.split('\n').filter((line) => line.trim() !== '');
    const notJson = lines.filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    expect(jsonLines(logs).map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down: draining', 'shutdown complete']));

    // Every acknowledged write is on the volume when a new container opens it.
    const after = await freePort();
    await startAndTimeReadiness(`${name}-after`, env, ['-v', `${volume}:/data`, '-p', `127.0.0.1:${after}:3000`], `http://127.0.0.1:${after}`);
    const missing: string[] = [];
    for (const slug of acknowledged) {
      const response = await fetch(`http://127.0.0.1:${after}/api/articles/${slug}`);
      if (response.status !== 200) missing.push(slug);
    }
    expect(missing).toEqual([]);
  }, 120_000);
});

async function register(baseUrl: string): Promise<string> {
  const username = `drain${randomBytes(4).toString('hex')}`;
  const response = await fetch(`${baseUrl}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { username, email: `${username}@example.com`, password: 'Drain-Test-1' } }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { user: { token: string } }).user.token;
}
