import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError, EnvReader } from './env-reader.ts';
import { PACKAGE_JSON } from './paths.ts';

export { ConfigError };

/**
 * Every setting of the process, read from the environment once at start-up.
 * A bad value throws ConfigError naming the variable; server.ts turns that into exit code 1.
 */
export interface Config {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly host: string;
  readonly port: number;
  /** Serve /metrics on this port instead of PORT, so an ingress never exposes it. */
  readonly metricsPort: number | undefined;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly databasePoolSize: number;
  /** Page cache of each SQLite connection (the main one and every reader thread's), in KiB. */
  readonly sqliteCacheKib: number;
  /** How much of the SQLite file each connection reads through a memory map (0: none). */
  readonly sqliteMmapBytes: number;
  /** Threads (each a V8 isolate with its own SQLite connection) for the reads a page does not bound. */
  readonly sqliteReaderThreads: number;
  /** Bytes of serialised read responses kept per data version (see plugins/app/response-cache.ts). */
  readonly responseCacheBytes: number;
  /** A full garbage collection once the server is quiet, when its heap grew this much (0: never; idle-gc.ts). */
  readonly idleGcHeapGrowthBytes: number;
  readonly migrateOnStart: boolean;
  /** Signs new API tokens; absent only before ensureSecrets() fills it in outside production. */
  readonly jwtSecret: string | undefined;
  /** Earlier signing keys that still verify tokens during a rotation (JWT_SECRETS after the first). */
  readonly jwtPreviousSecrets: readonly string[];
  readonly jwtTtlSeconds: number;
  /** Signs session cookies; absent only before ensureSecrets() fills it in outside production. */
  readonly sessionSecret: string | undefined;
  /** Earlier keys that still verify session cookies during a rotation (SESSION_SECRETS after the first). */
  readonly sessionPreviousSecrets: readonly string[];
  readonly sessionIdleSeconds: number;
  readonly sessionMaxAgeSeconds: number;
  readonly cookieSecure: boolean;
  readonly uploadLimitBytes: number;
  readonly signInMaxFailures: number;
  readonly signInMaxFailuresPerAddress: number;
  readonly signInLockoutSeconds: number;
  /** Requests that change something, allowed per signed-in user (or address) per window. */
  readonly rateLimitMax: number;
  readonly rateLimitWindowSeconds: number;
  readonly adminEmail: string | undefined;
  readonly adminUsername: string | undefined;
  readonly adminPassword: string | undefined;
  readonly logLevel: LogLevel;
  readonly corsOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  readonly trustProxy: boolean | number | string;
  readonly shutdownDelaySeconds: number;
  readonly shutdownTimeoutSeconds: number;
  readonly requestTimeoutSeconds: number;
  readonly appVersion: string;
  readonly gitSha: string;
  /**
   * Where to send traces (OTLP/HTTP, JSON); unset, tracing is off and its code is never loaded.
   * The standard OTEL_EXPORTER_OTLP_ENDPOINT: traces go to its /v1/traces.
   */
  readonly otelExporterEndpoint: string | undefined;
  /** service.name on every span (OTEL_SERVICE_NAME). */
  readonly otelServiceName: string;
  /**
   * The share of new traces kept (OTEL_TRACES_SAMPLER=parentbased_traceidratio with
   * OTEL_TRACES_SAMPLER_ARG); 1 for parentbased_always_on. A caller's decision always wins.
   */
  readonly otelSampleRatio: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type Env = Readonly<Record<string, string | undefined>>;

const KIB = 1024;
const GIB = 1024 * 1024 * 1024;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_ENVS = ['development', 'production', 'test'] as const;
/** The exporter we ship speaks OTLP over HTTP with JSON bodies; every OTLP receiver takes it. */
const OTLP_PROTOCOLS = ['http/json'] as const;
const TRACE_SAMPLERS = ['parentbased_always_on', 'parentbased_traceidratio'] as const;

export interface LoadOptions {
  /**
   * False for the operational commands (migrate, admin:create): they sign no token or cookie,
   * so a migration Job needs the database URL and nothing more.
   */
  readonly requireSecrets?: boolean;
}

export function loadConfig(env: Env, options: LoadOptions = {}): Config {
  const read = new EnvReader(env);
  const nodeEnv = read.oneOf('NODE_ENV', NODE_ENVS, 'development');
  const production = nodeEnv === 'production';
  const secretsRequired = production && (options.requireSecrets ?? true);
  const [jwtSecret, ...jwtPreviousSecrets] = read.keyRing('JWT_SECRETS', 'JWT_SECRET', secretsRequired);
  const [sessionSecret, ...sessionPreviousSecrets] = read.keyRing('SESSION_SECRETS', 'SESSION_SECRET', secretsRequired);
  const port = read.integer('PORT', 3000, { min: 0, max: 65535 });
  const metricsPort = read.optional('METRICS_PORT') === undefined ? undefined : read.integer('METRICS_PORT', 0, { min: 1, max: 65535 });
  if (metricsPort !== undefined && metricsPort === port) throw new ConfigError('METRICS_PORT', `must differ from PORT (${port})`);
  const adminEmail = read.optional('ADMIN_EMAIL');
  const adminPassword = read.optional('ADMIN_PASSWORD');
  // Read for its check only: a collector set up for another protocol fails at start-up, not silently.
  read.oneOf('OTEL_EXPORTER_OTLP_PROTOCOL', OTLP_PROTOCOLS, 'http/json');
  if (adminEmail !== undefined && adminPassword === undefined) {
    throw new ConfigError('ADMIN_PASSWORD', 'is required with ADMIN_EMAIL (there is no default admin password)');
  }

  return Object.freeze({
    nodeEnv,
    host: read.string('HOST', '127.0.0.1'),
    port,
    metricsPort,
    databaseUrl: read.postgresUrl('DATABASE_URL'),
    dataDir: resolvePath(read.string('DATA_DIR', './data')),
    databasePoolSize: read.integer('DATABASE_POOL_SIZE', 10, { min: 1, max: 500 }),
    sqliteCacheKib: Math.floor(read.byteSize('SQLITE_CACHE_SIZE', '64mb', { min: 256 * KIB, max: 4 * GIB }) / KIB),
    sqliteMmapBytes: read.byteSize('SQLITE_MMAP_SIZE', '256mb', { min: 0, max: 64 * GIB }),
    sqliteReaderThreads: read.integer('SQLITE_READER_THREADS', 2, { min: 1, max: 16 }),
    responseCacheBytes: read.byteSize('RESPONSE_CACHE_SIZE', '8mb', { min: 0, max: 1 * GIB }),
    idleGcHeapGrowthBytes: read.byteSize('IDLE_GC_HEAP_GROWTH', '8mb', { min: 0, max: 64 * GIB }),
    migrateOnStart: read.boolean('MIGRATE_ON_START', false),
    jwtSecret,
    jwtPreviousSecrets: Object.freeze(jwtPreviousSecrets),
    jwtTtlSeconds: read.duration('JWT_TTL', '24h', { minSeconds: 60 }),
    sessionSecret,
    sessionPreviousSecrets: Object.freeze(sessionPreviousSecrets),
    sessionIdleSeconds: read.duration('SESSION_IDLE_TIMEOUT', '30m', { minSeconds: 60 }),
    sessionMaxAgeSeconds: read.duration('SESSION_MAX_AGE', '12h', { minSeconds: 60 }),
    cookieSecure: read.boolean('COOKIE_SECURE', production),
    uploadLimitBytes: read.byteSize('UPLOAD_LIMIT', '2mb'),
    signInMaxFailures: read.integer('SIGNIN_MAX_FAILURES', 5, { min: 1, max: 1000 }),
    signInMaxFailuresPerAddress: read.integer('SIGNIN_MAX_FAILURES_PER_ADDRESS', 20, { min: 1, max: 100_000 }),
    signInLockoutSeconds: read.duration('SIGNIN_LOCKOUT', '15m', { minSeconds: 1 }),
    rateLimitMax: read.integer('RATE_LIMIT_MAX', 120, { min: 1, max: 1_000_000 }),
    rateLimitWindowSeconds: read.duration('RATE_LIMIT_WINDOW', '1m', { minSeconds: 1 }),
    adminEmail,
    adminUsername: read.optional('ADMIN_USERNAME'),
    adminPassword,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    corsOrigins: Object.freeze(read.origins('CORS_ORIGINS')),
    bodyLimitBytes: read.byteSize('BODY_LIMIT', '1mb'),
    trustProxy: read.trustProxy('TRUST_PROXY'),
    shutdownDelaySeconds: read.integer('SHUTDOWN_DELAY_SECONDS', 5, { min: 0, max: 300 }),
    shutdownTimeoutSeconds: read.integer('SHUTDOWN_TIMEOUT_SECONDS', 20, { min: 1, max: 600 }),
    requestTimeoutSeconds: read.integer('REQUEST_TIMEOUT_SECONDS', 30, { min: 1, max: 600 }),
    appVersion: read.string('APP_VERSION', packageVersion()),
    gitSha: read.string('GIT_SHA', 'unknown'),
    otelExporterEndpoint: read.httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT'),
    otelServiceName: read.string('OTEL_SERVICE_NAME', 'shipshape'),
    otelSampleRatio: read.oneOf('OTEL_TRACES_SAMPLER', TRACE_SAMPLERS, 'parentbased_always_on') === 'parentbased_traceidratio' ? read.ratio('OTEL_TRACES_SAMPLER_ARG', 1) : 1,
  });
}

/** Reads `.env` if present; variables already in the environment win over the file. */
export function environmentWithDotEnv(env: Env, dotEnvPath = '.env'): Env {
  let text: string;
  try {
    text = readFileSync(dotEnvPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return env;
    throw error;
  }
  return { ...(parseEnv(text) as Record<string, string>), ...env };
}

function resolvePath(path: string): string {
  return isAbsolute(path) ? path : resolve(process.cwd(), path);
}

let cachedPackageVersion: string | undefined;
function packageVersion(): string {
  if (cachedPackageVersion === undefined) {
    cachedPackageVersion = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
  }
  return cachedPackageVersion;
}
