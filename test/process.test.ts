import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrations } from '../src/db/migrations/index.ts';
import { createTestStorage, TEST_JWT_SECRET } from './helpers/app.ts';
import { freePort, jsonLines, type RunningProcess, runNode, startNode, waitFor } from './helpers/process.ts';

/** The real process entry points, as an operator starts them: exit codes, signals, logs. */
async function storageEnv() {
  const storage = await createTestStorage();
  const env: Record<string, string> = { DATA_DIR: storage.dataDir, NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET };
  if (storage.databaseUrl) env.DATABASE_URL = storage.databaseUrl;
  return { storage, env };
}

describe('server process', () => {
  it.each([
    [{ PORT: 'http' }, 'PORT'],
    [{ NODE_ENV: 'production', JWT_SECRET: '' }, 'JWT_SECRET'],
    [{ DATABASE_URL: 'mysql://localhost/x' }, 'DATABASE_URL'],
  ])('exits 1 with a JSON log line naming the bad variable for %o', async (bad, variable) => {
    const { code, output } = await runNode('src/server.ts', [], { DATA_DIR: '/tmp/unused', ...bad });

    expect(code).toBe(1);
    const lines = jsonLines(output);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'fatal', variable, msg: expect.stringContaining(`Invalid configuration: ${variable}`) });
  });

  it('serves, drains on SIGTERM with /readyz at 503, exits 0, and logs only JSON', async () => {
    const { storage, env } = await storageEnv();
    const port = await freePort();
    const server = startNode('src/server.ts', [], { ...env, PORT: String(port), SHUTDOWN_DELAY_SECONDS: '2', MIGRATE_ON_START: 'true' });
    try {
      await waitFor(`http://127.0.0.1:${port}/readyz`);

      server.child.kill('SIGTERM');
      await waitFor(`http://127.0.0.1:${port}/readyz`, 503, 1500);
      const duringDrain = await fetch(`http://127.0.0.1:${port}/api/tags`);

      expect(duringDrain.status).toBe(200);
      expect(await server.exited).toBe(0);
      const messages = jsonLines(server.output()).map((line) => line.msg);
      expect(messages).toEqual(expect.arrayContaining(['shutting down: draining', 'shutdown complete']));
    } finally {
      server.child.kill('SIGKILL');
      await storage.remove();
    }
  });

  it('exits at once with 1 on a second signal', async () => {
    const { storage, env } = await storageEnv();
    const port = await freePort();
    const server = startNode('src/server.ts', [], { ...env, PORT: String(port), SHUTDOWN_DELAY_SECONDS: '60', MIGRATE_ON_START: 'true' });
    try {
      await waitFor(`http://127.0.0.1:${port}/readyz`);
      server.child.kill('SIGTERM');
      await waitFor(`http://127.0.0.1:${port}/readyz`, 503, 1500);
      const started = Date.now();
      server.child.kill('SIGINT');

      expect(await server.exited).toBe(1);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      server.child.kill('SIGKILL');
      await storage.remove();
    }
  });

  it('in development, generates a JWT secret into DATA_DIR that outlives a restart', async () => {
    const { storage, env } = await storageEnv();
    const { JWT_SECRET: _unused, ...withoutSecret } = env;
    const devEnv = { ...withoutSecret, NODE_ENV: 'development', SHUTDOWN_DELAY_SECONDS: '0', MIGRATE_ON_START: 'true' };
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    try {
      const first = startNode('src/server.ts', [], { ...devEnv, PORT: String(port) });
      await waitFor(`${base}/readyz`);
      const registered = await fetch(`${base}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: { username: 'restarter', email: 'restarter@example.com', password: 'Restart-Me-1' } }),
      });
      const { user } = (await registered.json()) as { user: { token: string } };
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(jsonLines(first.output()).some((line) => line.level === 'warn' && String(line.msg).startsWith('JWT_SECRET is not set'))).toBe(true);
      expect(existsSync(join(storage.dataDir, 'jwt-secret'))).toBe(true);

      const second = startNode('src/server.ts', [], { ...devEnv, PORT: String(port) });
      await waitFor(`${base}/readyz`);
      const me = await fetch(`${base}/api/user`, { headers: { authorization: `Token ${user.token}` } });
      second.child.kill('SIGTERM');
      await second.exited;

      expect(me.status).toBe(200);
    } finally {
      await storage.remove();
    }
  });
});

describe('metrics port', () => {
  it('with METRICS_PORT, serves /metrics there and not on the app port', async () => {
    const { storage, env } = await storageEnv();
    const [port, metricsPort] = [await freePort(), await freePort()];
    const server = startNode('src/server.ts', [], { ...env, PORT: String(port), METRICS_PORT: String(metricsPort), SHUTDOWN_DELAY_SECONDS: '0', MIGRATE_ON_START: 'true' });
    try {
      await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 20_000, server);
      const onApp = await fetch(`http://127.0.0.1:${port}/metrics`);
      const onOwn = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);

      expect(onApp.status).toBe(404);
      expect(onOwn.status).toBe(200);
      expect(await onOwn.text()).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/readyz",status_code="200"\} 1/);
    } finally {
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      await storage.remove();
    }
  });
});

describe('memory settings of the process', () => {
  /** Starts src/server.ts on its own storage and port, runs `use` once it is ready, then stops it. */
  async function withServer(extraEnv: Record<string, string>, nodeOptions: string[], use: (server: RunningProcess, base: string) => Promise<void>): Promise<void> {
    const { storage, env } = await storageEnv();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = startNode('src/server.ts', [], { ...env, PORT: String(port), SHUTDOWN_DELAY_SECONDS: '0', MIGRATE_ON_START: 'true', ...extraEnv }, { nodeOptions });
    try {
      await waitFor(`${base}/readyz`, 200, 20_000, server);
      await use(server, base);
    } finally {
      server.child.kill('SIGKILL');
      await storage.remove();
    }
  }

  it.each([
    ['unset', '2', undefined, [], 'MALLOC_ARENA_MAX=2'],
    ['set to 4', '4', '4', [], 'MALLOC_ARENA_MAX=4'],
    ['unset and a module preloaded (which must not run twice)', 'glibc\'s default', undefined, ['--import', 'data:text/javascript,'], undefined],
  ])('with MALLOC_ARENA_MAX %s, runs with %s in the process it was started as', async (_, __, given, nodeOptions, expected) => {
    await withServer(given === undefined ? {} : { MALLOC_ARENA_MAX: given }, nodeOptions, async (server) => {
      const environment = readFileSync(`/proc/${server.child.pid}/environ`, 'utf8').split('\0');

      expect(environment.filter((variable) => variable.startsWith('MALLOC_ARENA_MAX='))).toEqual(expected === undefined ? [] : [expected]);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    });
  });

  it('serves without idle collections, and says why, where V8 gives no gc() (node --expose-gc-as=<name>)', async () => {
    await withServer({}, ['--expose-gc-as=collectGarbage'], async (server, base) => {
      await expect.poll(() => jsonLines(server.output()).some((line) => line.msg === 'no collection while idle: V8 gives no gc() here'), { timeout: 5_000 }).toBe(true);

      expect((await fetch(`${base}/api/tags`)).status).toBe(200);
    });
  });

  it('collects the heap once quiet after start-up, and again after requests grew it, and says so in the debug log', async () => {
    await withServer({ LOG_LEVEL: 'debug', IDLE_GC_HEAP_GROWTH: '256kb' }, [], async (server, base) => {
      const collections = () => jsonLines(server.output()).filter((line) => line.msg === 'heap collected while idle');
      await expect.poll(() => collections().length, { timeout: 10_000, interval: 200 }).toBe(1);
      const until = Date.now() + 1_500;
      const client = async () => {
        while (Date.now() < until) await (await fetch(`${base}/api/articles?limit=${Date.now() % 20}`)).arrayBuffer();
      };
      await Promise.all(Array.from({ length: 8 }, client));

      // Collections are at least 10 s apart (DEFAULT_MS_BETWEEN_COLLECTIONS in idle-gc.ts).
      await expect.poll(() => collections().length, { timeout: 20_000, interval: 250 }).toBe(2);
      expect(collections()[1]).toMatchObject({ heapBeforeBytes: expect.any(Number), heapAfterBytes: expect.any(Number), durationMs: expect.any(Number) });
    });
  });
});


describe('migrate command', () => {
  it('applies migrations, is a no-op the second time, and reports status', async () => {
    const { storage, env } = await storageEnv();
    try {
      const before = await runNode('src/cli.ts', ['migrate:status'], env);
      const first = await runNode('src/cli.ts', ['migrate'], env);
      const second = await runNode('src/cli.ts', ['migrate'], env);
      const after = await runNode('src/cli.ts', ['migrate:status'], env);

      expect(before.code).toBe(2);
      expect(jsonLines(before.output)[0]).toMatchObject({ msg: 'migrations pending', pending: Object.keys(migrations) });
      expect(first.code).toBe(0);
      expect(jsonLines(first.output)[0]).toMatchObject({ msg: 'migrations applied', applied: Object.keys(migrations) });
      expect(second.code).toBe(0);
      expect(jsonLines(second.output)[0]).toMatchObject({ msg: 'database already current', applied: [] });
      expect(after.code).toBe(0);
    } finally {
      await storage.remove();
    }
  });

  it('migrates in production with nothing but the database location: no signing secrets needed', async () => {
    const { storage, env } = await storageEnv();
    const { JWT_SECRET: _unused, ...withoutSecrets } = env;
    try {
      const { code, output } = await runNode('src/cli.ts', ['migrate'], { ...withoutSecrets, NODE_ENV: 'production' });

      expect(code).toBe(0);
      expect(jsonLines(output)[0]).toMatchObject({ msg: 'migrations applied' });
    } finally {
      await storage.remove();
    }
  });

  it('prints usage and exits 64 for an unknown command', async () => {
    const { code, output } = await runNode('src/cli.ts', ['frobnicate'], {});

    expect(code).toBe(64);
    expect(output).toContain('usage:');
  });

  it('exits 1 naming a bad variable', async () => {
    const { code, output } = await runNode('src/cli.ts', ['migrate'], { DATABASE_URL: 'nope' });

    expect(code).toBe(1);
    expect(jsonLines(output)[0]).toMatchObject({ variable: 'DATABASE_URL' });
  });
});
