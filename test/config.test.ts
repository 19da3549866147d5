import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, environmentWithDotEnv, loadConfig } from '../src/config.ts';
import { ensureSecrets } from '../src/secrets.ts';

const SECRET = 'a-secret-that-is-at-least-32-characters-long';

describe('key rings', () => {
  it('read JWT_SECRETS and SESSION_SECRETS as the current key then the earlier ones', () => {
    const config = loadConfig({ JWT_SECRETS: `${SECRET}-new, ${SECRET}-old`, SESSION_SECRETS: `${SECRET}-s2,${SECRET}-s1,${SECRET}-s0` });

    expect(config.jwtSecret).toBe(`${SECRET}-new`);
    expect(config.jwtPreviousSecrets).toEqual([`${SECRET}-old`]);
    expect(config.sessionSecret).toBe(`${SECRET}-s2`);
    expect(config.sessionPreviousSecrets).toEqual([`${SECRET}-s1`, `${SECRET}-s0`]);
  });
});

describe('loadConfig', () => {
  it('has working defaults for a laptop: SQLite in ./data on port 3000', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      nodeEnv: 'development',
      host: '127.0.0.1',
      port: 3000,
      databaseUrl: undefined,
      dataDir: join(process.cwd(), 'data'),
      databasePoolSize: 10,
      sqliteCacheKib: 65_536,
      sqliteMmapBytes: 268_435_456,
      sqliteReaderThreads: 2,
      responseCacheBytes: 8_388_608,
      migrateOnStart: false,
      jwtSecret: undefined,
      jwtTtlSeconds: 86_400,
      sessionSecret: undefined,
      sessionIdleSeconds: 1800,
      sessionMaxAgeSeconds: 43_200,
      cookieSecure: false,
      uploadLimitBytes: 2_097_152,
      signInMaxFailures: 5,
      signInMaxFailuresPerAddress: 20,
      signInLockoutSeconds: 900,
      adminEmail: undefined,
      adminUsername: undefined,
      adminPassword: undefined,
      logLevel: 'info',
      corsOrigins: [],
      bodyLimitBytes: 1_048_576,
      trustProxy: false,
      shutdownDelaySeconds: 5,
      shutdownTimeoutSeconds: 20,
      requestTimeoutSeconds: 30,
      gitSha: 'unknown',
      otelExporterEndpoint: undefined,
      otelServiceName: 'shipshape',
      otelSampleRatio: 1,
    });
    expect(config.appVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: '8080',
      DATABASE_URL: 'postgresql://app:pw@db:5432/shipshape',
      DATA_DIR: '/var/lib/shipshape',
      DATABASE_POOL_SIZE: '25',
      SQLITE_CACHE_SIZE: '16mb',
      SQLITE_MMAP_SIZE: '1gb',
      SQLITE_READER_THREADS: '1',
      RESPONSE_CACHE_SIZE: '32mb',
      MIGRATE_ON_START: 'true',
      JWT_SECRET: SECRET,
      JWT_TTL: '15m',
      SESSION_SECRET: `${SECRET}-session`,
      SESSION_IDLE_TIMEOUT: '10m',
      SESSION_MAX_AGE: '8h',
      COOKIE_SECURE: 'false',
      UPLOAD_LIMIT: '1mb',
      SIGNIN_MAX_FAILURES: '3',
      SIGNIN_MAX_FAILURES_PER_ADDRESS: '50',
      SIGNIN_LOCKOUT: '5m',
      RATE_LIMIT_MAX: '600',
      RATE_LIMIT_WINDOW: '5m',
      IDLE_GC_HEAP_GROWTH: '0',
      ADMIN_EMAIL: 'root@example.com',
      ADMIN_USERNAME: 'root',
      ADMIN_PASSWORD: 'Root-Password-1',
      LOG_LEVEL: 'warn',
      CORS_ORIGINS: 'https://a.example, https://b.example:8443',
      BODY_LIMIT: '512kb',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      SHUTDOWN_DELAY_SECONDS: '10',
      SHUTDOWN_TIMEOUT_SECONDS: '30',
      REQUEST_TIMEOUT_SECONDS: '5',
      APP_VERSION: '2.0.0',
      GIT_SHA: 'deadbeef',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.monitoring:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'shipshape-staging',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });

    expect(config).toEqual({
      nodeEnv: 'production',
      host: '0.0.0.0',
      port: 8080,
      databaseUrl: 'postgresql://app:pw@db:5432/shipshape',
      dataDir: '/var/lib/shipshape',
      databasePoolSize: 25,
      sqliteCacheKib: 16_384,
      sqliteMmapBytes: 1_073_741_824,
      sqliteReaderThreads: 1,
      responseCacheBytes: 33_554_432,
      idleGcHeapGrowthBytes: 0,
      migrateOnStart: true,
      jwtSecret: SECRET,
      jwtPreviousSecrets: [],
      jwtTtlSeconds: 900,
      sessionSecret: `${SECRET}-session`,
      sessionPreviousSecrets: [],
      sessionIdleSeconds: 600,
      sessionMaxAgeSeconds: 28_800,
      cookieSecure: false,
      uploadLimitBytes: 1_048_576,
      signInMaxFailures: 3,
      signInMaxFailuresPerAddress: 50,
      signInLockoutSeconds: 300,
      rateLimitMax: 600,
      rateLimitWindowSeconds: 300,
      adminEmail: 'root@example.com',
      adminUsername: 'root',
      adminPassword: 'Root-Password-1',
      logLevel: 'warn',
      corsOrigins: ['https://a.example', 'https://b.example:8443'],
      bodyLimitBytes: 524_288,
      trustProxy: '10.0.0.0/8,127.0.0.1',
      shutdownDelaySeconds: 10,
      shutdownTimeoutSeconds: 30,
      requestTimeoutSeconds: 5,
      appVersion: '2.0.0',
      gitSha: 'deadbeef',
      otelExporterEndpoint: 'http://otel-collector.monitoring:4318',
      otelServiceName: 'shipshape-staging',
      otelSampleRatio: 0.25,
    });
  });

  it.each([
    [{ JWT_TTL: '3600' }, 'jwtTtlSeconds', 3600],
    [{ JWT_TTL: '7d' }, 'jwtTtlSeconds', 604_800],
    [{ BODY_LIMIT: '2mb' }, 'bodyLimitBytes', 2_097_152],
    [{ BODY_LIMIT: '65536' }, 'bodyLimitBytes', 65_536],
    [{ SQLITE_MMAP_SIZE: '0' }, 'sqliteMmapBytes', 0],
    [{ IDLE_GC_HEAP_GROWTH: '32mb' }, 'idleGcHeapGrowthBytes', 33_554_432],
    [{ SQLITE_CACHE_SIZE: '512kb' }, 'sqliteCacheKib', 512],
    [{ RESPONSE_CACHE_SIZE: '0' }, 'responseCacheBytes', 0],
    [{ TRUST_PROXY: 'true' }, 'trustProxy', true],
    [{ TRUST_PROXY: '2' }, 'trustProxy', 2],
    [{ MIGRATE_ON_START: '0' }, 'migrateOnStart', false],
    [{ CORS_ORIGINS: '*' }, 'corsOrigins', ['*']],
    [{ PORT: '  8081 ' }, 'port', 8081],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }, 'otelSampleRatio', 1],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, 'otelSampleRatio', 0],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '.1' }, 'otelSampleRatio', 0.1],
    [{ OTEL_TRACES_SAMPLER_ARG: '0.5' }, 'otelSampleRatio', 1],
  ])('parses %o', (env, key, expected) => {
    expect(loadConfig(env)[key as keyof ReturnType<typeof loadConfig>]).toEqual(expected);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT', 'must be a whole number, got "eighty"'],
    [{ PORT: '70000' }, 'PORT', 'must be between 0 and 65535, got 70000'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV', 'must be one of development, production, test, got "staging"'],
    [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL', 'must use the postgres:// scheme, got "mysql:"'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL', 'must be a URL like postgres://user:password@host:5432/database'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE', 'must be between 1 and 500, got 0'],
    [{ MIGRATE_ON_START: 'yes' }, 'MIGRATE_ON_START', 'must be true or false, got "yes"'],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET', 'is required when NODE_ENV=production'],
    [{ METRICS_PORT: '3000' }, 'METRICS_PORT', 'must differ from PORT (3000)'],
    [{ METRICS_PORT: '0' }, 'METRICS_PORT', 'must be between 1 and 65535, got 0'],
    [{ NODE_ENV: 'production', JWT_SECRET: SECRET }, 'SESSION_SECRET', 'is required when NODE_ENV=production'],
    [{ SESSION_SECRET: 'short' }, 'SESSION_SECRET', 'must be at least 32 characters long'],
    [{ ADMIN_EMAIL: 'root@example.com' }, 'ADMIN_PASSWORD', 'is required with ADMIN_EMAIL (there is no default admin password)'],
    [{ UPLOAD_LIMIT: 'big' }, 'UPLOAD_LIMIT', 'must be a size like 1048576, 512kb or 1mb, got "big"'],
    [{ SIGNIN_MAX_FAILURES: '0' }, 'SIGNIN_MAX_FAILURES', 'must be between 1 and 1000, got 0'],
    [{ RATE_LIMIT_MAX: '0' }, 'RATE_LIMIT_MAX', 'must be between 1 and 1000000, got 0'],
    [{ RATE_LIMIT_WINDOW: 'often' }, 'RATE_LIMIT_WINDOW', 'must be a duration like 3600, 15m, 24h or 7d, got "often"'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET', 'must be at least 32 characters long'],
    [{ JWT_SECRETS: `${SECRET},short` }, 'JWT_SECRETS', 'must list keys of at least 32 characters each'],
    [{ JWT_SECRETS: `${SECRET},${SECRET}` }, 'JWT_SECRETS', 'lists a key twice'],
    [{ SESSION_SECRETS: SECRET, SESSION_SECRET: SECRET }, 'SESSION_SECRETS', 'and SESSION_SECRET are both set: use one'],
    [{ JWT_TTL: 'forever' }, 'JWT_TTL', 'must be a duration like 3600, 15m, 24h or 7d, got "forever"'],
    [{ JWT_TTL: '10s' }, 'JWT_TTL', 'must be at least 60 seconds, got "10s"'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
    [{ CORS_ORIGINS: 'example.com' }, 'CORS_ORIGINS', 'must list origins like https://app.example.com, got "example.com"'],
    [{ CORS_ORIGINS: 'https://a.example/path' }, 'CORS_ORIGINS', 'must list bare origins (scheme://host[:port]), got "https://a.example/path"'],
    [{ BODY_LIMIT: 'huge' }, 'BODY_LIMIT', 'must be a size like 1048576, 512kb or 1mb, got "huge"'],
    [{ BODY_LIMIT: '10' }, 'BODY_LIMIT', 'must be between 1kb and 100mb, got "10"'],
    [{ SQLITE_CACHE_SIZE: '64' }, 'SQLITE_CACHE_SIZE', 'must be between 256kb and 4gb, got "64"'],
    [{ SQLITE_CACHE_SIZE: 'lots' }, 'SQLITE_CACHE_SIZE', 'must be a size like 1048576, 512kb or 1mb, got "lots"'],
    [{ SQLITE_MMAP_SIZE: '100gb' }, 'SQLITE_MMAP_SIZE', 'must be between 0 and 64gb, got "100gb"'],
    [{ SQLITE_READER_THREADS: '0' }, 'SQLITE_READER_THREADS', 'must be between 1 and 16, got 0'],
    [{ RESPONSE_CACHE_SIZE: '2gb' }, 'RESPONSE_CACHE_SIZE', 'must be between 0 and 1gb, got "2gb"'],
    [{ IDLE_GC_HEAP_GROWTH: 'often' }, 'IDLE_GC_HEAP_GROWTH', 'must be a size like 1048576, 512kb or 1mb, got "often"'],
    [{ TRUST_PROXY: 'everyone!' }, 'TRUST_PROXY', 'must be true, false, a hop count or addresses/CIDRs, got "everyone!"'],
    [{ SHUTDOWN_DELAY_SECONDS: '-1' }, 'SHUTDOWN_DELAY_SECONDS', 'must be a whole number, got "-1"'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'must use http:// or https://, got "collector:"'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', 'must be a URL like http://otel-collector:4318, got "http://"'],
    [{ OTEL_TRACES_SAMPLER: 'always_off' }, 'OTEL_TRACES_SAMPLER', 'must be one of parentbased_always_on, parentbased_traceidratio, got "always_off"'],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, 'OTEL_TRACES_SAMPLER_ARG', 'must be a number from 0 to 1, got "1.5"'],
    [{ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' }, 'OTEL_TRACES_SAMPLER_ARG', 'must be a number from 0 to 1, got "half"'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL', 'must be one of http/json, got "grpc"'],
  ])('refuses %o, naming the variable', (env, variable, problem) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toBe(`Invalid configuration: ${variable} ${problem}`);
  });

  it('turns secure cookies on in production unless told otherwise', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: SECRET, SESSION_SECRET: SECRET };

    expect(loadConfig(production).cookieSecure).toBe(true);
    expect(loadConfig({ ...production, COOKIE_SECURE: 'false' }).cookieSecure).toBe(false);
  });

  it('lets the operational commands run in production without the signing secrets, but still checks a secret given', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://app@db.internal/shipshape' };

    expect(loadConfig(production, { requireSecrets: false })).toMatchObject({ jwtSecret: undefined, sessionSecret: undefined });
    expect(() => loadConfig({ ...production, JWT_SECRET: 'short' }, { requireSecrets: false })).toThrow(/JWT_SECRET/);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ' })).toMatchObject({ port: 3000, databaseUrl: undefined });
  });
});

describe('.env files', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads .env when present, with the real environment winning', () => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-env-'));
    const file = join(dir, '.env');
    writeFileSync(file, '# comment\nPORT=4000\nLOG_LEVEL=debug\nGIT_SHA="from-file"\n');

    const env = environmentWithDotEnv({ PORT: '5000' }, file);

    expect(loadConfig(env)).toMatchObject({ port: 5000, logLevel: 'debug', gitSha: 'from-file' });
  });

  it('is fine without a .env file', () => {
    expect(environmentWithDotEnv({ PORT: '1' }, '/nonexistent/.env')).toEqual({ PORT: '1' });
  });

  it('documents every variable config.ts reads in .env.example', () => {
    const source = readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const read = [...source.matchAll(/read\.\w+\('([A-Z_]+)'/g)].map((match) => match[1]);

    expect(read.length).toBeGreaterThan(15);
    for (const variable of read) expect(example, `${variable} missing from .env.example`).toMatch(new RegExp(`^#? ?${variable}=`, 'm'));
  });
});

describe('ensureSecrets', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('generates development secrets once, keeps them private in DATA_DIR, and warns', () => {
    dir = mkdtempSync(join(tmpdir(), 'shipshape-secret-'));
    const warnings: string[] = [];
    const config = loadConfig({ DATA_DIR: join(dir, 'nested') });

    const first = ensureSecrets(config, (message) => warnings.push(message));
    const second = ensureSecrets(config, (message) => warnings.push(message));

    expect(first.jwtSecret).toMatch(/^[\w-]{64}$/);
    expect(first.sessionSecret).toMatch(/^[\w-]{64}$/);
    expect(first.sessionSecret).not.toBe(first.jwtSecret);
    expect(second).toEqual(first);
    expect(statSync(join(dir, 'nested', 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested', 'session-secret')).mode & 0o777).toBe(0o600);
    expect(warnings[0]).toMatch(/JWT_SECRET is not set/);
    expect(warnings[1]).toMatch(/SESSION_SECRET is not set/);
  });

  it('leaves configured secrets alone', () => {
    const config = loadConfig({ JWT_SECRET: SECRET, SESSION_SECRET: `${SECRET}-2` });

    expect(ensureSecrets(config, () => undefined)).toBe(config);
  });
});
