import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';

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
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_ENVS = ['development', 'production', 'test'] as const;
const MIN_SECRET_LENGTH = 32;

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
    const packageJson = new URL('../package.json', import.meta.url);
    cachedPackageVersion = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  }
  return cachedPackageVersion;
}

class EnvReader {
  readonly #env: Env;

  constructor(env: Env) {
    this.#env = env;
  }

  optional(name: string): string | undefined {
    const value = this.#env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** A signing key: required in production, at least 32 characters when given. */
  secret(name: string, required: boolean): string | undefined {
    const value = this.optional(name);
    if (value === undefined && required) throw new ConfigError(name, 'is required when NODE_ENV=production');
    if (value !== undefined && value.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(name, `must be at least ${MIN_SECRET_LENGTH} characters long`);
    }
    return value;
  }

  /**
   * A signing key, or a ring of them for rotation: `RING=current,previous,...` (the first signs,
   * the others still verify) or the single `NAME`; not both.
   */
  keyRing(ringName: string, singleName: string, required: boolean): string[] {
    const ring = this.optional(ringName);
    if (ring === undefined) {
      const single = this.secret(singleName, required);
      return single === undefined ? [] : [single];
    }
    if (this.optional(singleName) !== undefined) throw new ConfigError(ringName, `and ${singleName} are both set: use one`);
    const keys = ring.split(',').map((key) => key.trim()).filter((key) => key !== '');
    if (keys.length === 0) throw new ConfigError(ringName, 'lists no key');
    if (keys.some((key) => key.length < MIN_SECRET_LENGTH)) throw new ConfigError(ringName, `must list keys of at least ${MIN_SECRET_LENGTH} characters each`);
    if (new Set(keys).size !== keys.length) throw new ConfigError(ringName, 'lists a key twice');
    return keys;
  }

  string(name: string, fallback: string): string {
    return this.optional(name) ?? fallback;
  }

  integer(name: string, fallback: number, range: { min: number; max: number }): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
    const value = Number(raw);
    if (value < range.min || value > range.max) {
      throw new ConfigError(name, `must be between ${range.min} and ${range.max}, got ${value}`);
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.optional(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new ConfigError(name, `must be true or false, got "${raw}"`);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  }

  postgresUrl(name: string): string | undefined {
    const raw = this.optional(name);
    if (raw === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(name, 'must be a URL like postgres://user:password@host:5432/database');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      throw new ConfigError(name, `must use the postgres:// scheme, got "${url.protocol}"`);
    }
    return raw;
  }

  /** "90", "90s", "15m", "24h", "7d" → seconds. */
  duration(name: string, fallback: string, limits: { minSeconds: number }): number {
    const raw = this.optional(name) ?? fallback;
    const match = /^(\d+)\s*([smhd]?)$/.exec(raw);
    if (!match) throw new ConfigError(name, `must be a duration like 3600, 15m, 24h or 7d, got "${raw}"`);
    const unitSeconds = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
    const seconds = Number(match[1]) * unitSeconds;
    if (seconds < limits.minSeconds) {
      throw new ConfigError(name, `must be at least ${limits.minSeconds} seconds, got "${raw}"`);
    }
    return seconds;
  }

  /** "1048576", "512kb", "1mb" → bytes. */
  byteSize(name: string, fallback: string): number {
    const raw = (this.optional(name) ?? fallback).toLowerCase();
    const match = /^(\d+)\s*(b|kb|mb)?$/.exec(raw);
    if (!match) throw new ConfigError(name, `must be a size like 1048576, 512kb or 1mb, got "${raw}"`);
    const multiplier = { b: 1, kb: 1024, mb: 1024 * 1024 }[(match[2] ?? 'b') as 'b' | 'kb' | 'mb'];
    const bytes = Number(match[1]) * multiplier;
    if (bytes < 1024 || bytes > 100 * 1024 * 1024) {
      throw new ConfigError(name, `must be between 1kb and 100mb, got "${raw}"`);
    }
    return bytes;
  }

  /** Comma-separated origins ("https://a.example,https://b.example") or "*". */
  origins(name: string): string[] {
    const raw = this.optional(name);
    if (raw === undefined) return [];
    const origins = raw.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '');
    for (const origin of origins) {
      if (origin === '*') continue;
      let parsed: URL;
      try {
        parsed = new URL(origin);
      } catch {
        throw new ConfigError(name, `must list origins like https://app.example.com, got "${origin}"`);
      }
      if (parsed.origin !== origin) {
        throw new ConfigError(name, `must list bare origins (scheme://host[:port]), got "${origin}"`);
      }
    }
    return origins;
  }

  /** false | true | hop count | comma-separated addresses or CIDRs, as Fastify's trustProxy takes. */
  trustProxy(name: string): boolean | number | string {
    const raw = this.optional(name);
    if (raw === undefined || raw.toLowerCase() === 'false') return false;
    if (raw.toLowerCase() === 'true') return true;
    if (/^\d+$/.test(raw)) return Number(raw);
    if (!/^[0-9a-fA-F.:/,\s]+$/.test(raw)) {
      throw new ConfigError(name, `must be true, false, a hop count or addresses/CIDRs, got "${raw}"`);
    }
    return raw;
  }
}
