import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import pg from 'pg';
import { buildApp } from '../../src/app.ts';
import { type Env, loadConfig } from '../../src/config.ts';
import { type ConfigWithSecrets, ensureSecrets } from '../../src/secrets.ts';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
export const TEST_SESSION_SECRET = 'test-session-secret-that-is-long-enough-0123456789';

/** The PostgreSQL admin URL when the suite runs under scripts/with-postgres.sh. */
export const postgresAdminUrl = process.env.TEST_DATABASE_URL;
export const dialectUnderTest = postgresAdminUrl === undefined ? 'sqlite' : 'postgres';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: ConfigWithSecrets;
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  readonly storage: TestStorage;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Extra environment variables, as an operator would set them. */
  env?: Env;
  /** Skip migrating (PostgreSQL only): to test the pending-migration gate. */
  migrate?: boolean;
  /** Adds test-only routes or hooks before the app is ready. */
  configure?: (app: FastifyInstance) => void;
  /** Another replica: the app runs on this storage, which its creator removes. */
  storage?: TestStorage;
}

/**
 * One real app for a whole test file, built before its tests and closed after them: the file
 * reads `testApp.app`, `testApp.logs` and so on once the tests run.
 */
export function useTestApp(options: TestAppOptions = {}): TestApp {
  let current: TestApp | undefined;
  beforeAll(async () => {
    current = await createTestApp(options);
  });
  afterAll(() => current?.close());
  const built = (): TestApp => {
    if (current === undefined) throw new Error('useTestApp: the app is built in beforeAll; use it inside tests');
    return current;
  };
  return {
    get app() {
      return built().app;
    },
    get config() {
      return built().config;
    },
    get logs() {
      return built().logs;
    },
    get storage() {
      return built().storage;
    },
    close: () => built().close(),
  };
}

/** A test app listening on a free loopback port, for clients that need a real URL. */
export async function createListeningTestApp(options: TestAppOptions = {}): Promise<TestApp & { baseUrl: string }> {
  const testApp = await createTestApp(options);
  const baseUrl = await testApp.app.listen({ host: '127.0.0.1', port: 0 });
  return { ...testApp, baseUrl };
}

/**
 * The real app on a fresh database of its own: a temporary SQLite file, or a new database
 * in the private PostgreSQL cluster. Nothing is mocked.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownStorage = options.storage === undefined;
  const storage = options.storage ?? (await createTestStorage());
  const removeStorage = () => (ownStorage ? storage.remove() : Promise.resolve());
  const loaded = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    JWT_SECRET: TEST_JWT_SECRET,
    SESSION_SECRET: TEST_SESSION_SECRET,
    DATA_DIR: storage.dataDir,
    ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl, MIGRATE_ON_START: String(options.migrate ?? true) } : {}),
    ...options.env,
  });
  const config = ensureSecrets(loaded, () => undefined);
  const logs: Record<string, unknown>[] = [];
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  let app: FastifyInstance;
  try {
    app = await buildApp(config, { logStream });
    options.configure?.(app);
    await app.ready();
  } catch (error) {
    await removeStorage();
    throw error;
  }
  return {
    app,
    config,
    logs,
    storage,
    close: async () => {
      await app.close();
      await removeStorage();
    },
  };
}

export interface TestStorage {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  remove(): Promise<void>;
}

/** A temp dir, plus a fresh PostgreSQL database when the suite runs on PostgreSQL. */
export async function createTestStorage(): Promise<TestStorage> {
  const dataDir = mkdtempSync(join(tmpdir(), 'shipshape-test-'));
  if (postgresAdminUrl === undefined) {
    return { dataDir, databaseUrl: undefined, remove: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })) };
  }
  const name = `shipshape_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    dataDir,
    databaseUrl: url.toString(),
    remove: async () => {
      await adminQuery(`drop database if exists ${name} with (force)`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
