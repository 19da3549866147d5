import type { Env } from './config.ts';

const MIB = 1024 * 1024;

/** The minimum length of a signing key. */
const MIN_SECRET_LENGTH = 32;

export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Reads and checks one environment variable at a time; every mistake names the variable. */
export class EnvReader {
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
    // The parse error never quotes the value: a database URL carries a password.
    return this.#url(name, ['postgres:', 'postgresql:'], () => 'must be a URL like postgres://user:password@host:5432/database', (protocol) => `must use the postgres:// scheme, got "${protocol}"`);
  }

  /** A fraction from 0 to 1, such as a sampling ratio ("0.25"). */
  ratio(name: string, fallback: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = /^(?:0|1|0?\.\d+|1\.0*)$/.test(raw) ? Number(raw) : Number.NaN;
    if (Number.isNaN(value)) throw new ConfigError(name, `must be a number from 0 to 1, got "${raw}"`);
    return value;
  }

  /** An http:// or https:// base URL, such as an OTLP collector's "http://collector:4318". */
  httpUrl(name: string): string | undefined {
    return this.#url(name, ['http:', 'https:'], (raw) => `must be a URL like http://otel-collector:4318, got "${raw}"`, (protocol) => `must use http:// or https://, got "${protocol}"`);
  }

  /** An absolute URL with one of `protocols`, or undefined when unset. */
  #url(name: string, protocols: readonly string[], unparsable: (raw: string) => string, otherProtocol: (protocol: string) => string): string | undefined {
    const raw = this.optional(name);
    if (raw === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(name, unparsable(raw));
    }
    if (!protocols.includes(url.protocol)) throw new ConfigError(name, otherProtocol(url.protocol));
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

  /** "1048576", "512kb", "1mb", "1gb" → bytes, within `limits` (1kb to 100mb unless given). */
  byteSize(name: string, fallback: string, limits: { min: number; max: number } = { min: 1024, max: 100 * MIB }): number {
    const raw = (this.optional(name) ?? fallback).toLowerCase();
    const match = /^(\d+)\s*(b|kb|mb|gb)?$/.exec(raw);
    if (!match) throw new ConfigError(name, `must be a size like 1048576, 512kb or 1mb, got "${raw}"`);
    const multiplier = { b: 1, kb: 1024, mb: MIB, gb: 1024 * MIB }[(match[2] ?? 'b') as 'b' | 'kb' | 'mb' | 'gb'];
    const bytes = Number(match[1]) * multiplier;
    if (bytes < limits.min || bytes > limits.max) {
      throw new ConfigError(name, `must be between ${describeSize(limits.min)} and ${describeSize(limits.max)}, got "${raw}"`);
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

/** 0, 512b, 1kb, 100mb, 1gb: the largest unit that divides the size, as the error messages write it. */
function describeSize(bytes: number): string {
  for (const [unit, size] of [['gb', 1024 * MIB], ['mb', MIB], ['kb', 1024]] as const) {
    if (bytes > 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return bytes === 0 ? '0' : `${bytes}b`;
}
