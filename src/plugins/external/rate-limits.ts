import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import { type Param, PreparedQuery } from '../../db/prepared.ts';
import type { Database } from '../../db/schema.ts';
import { ClientError } from '../../errors.ts';
import { type NodeCallback, settle } from '../../lib/callbacks.ts';

export interface RateLimitOptions {
  /** Requests that change something, allowed per client within one window. */
  readonly maxWrites: number;
  readonly windowSeconds: number;
}

/** Reads never count: they change nothing, and the list pages are what people refresh. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const PURGE_INTERVAL_MS = 10 * 60 * 1000;

interface Count {
  current: number;
  /** Milliseconds left in the window. */
  ttl: number;
}

interface Hit {
  key: string;
  now: number;
  windowEndsAt: number;
}

/**
 * Fixed-window counters in the database: one statement counts the request and returns the
 * count, so concurrent requests (on any replica) cannot all slip under the limit.
 */
export class RequestCounters {
  readonly #db: Kysely<Database>;
  readonly #hit: PreparedQuery<Hit, { hits: number; window_ends_at: number }>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.#hit = new PreparedQuery(db, (param: Param<Hit>) =>
      db
        .insertInto('request_counters')
        .values({ key: param('key'), hits: 1, window_ends_at: param('windowEndsAt') })
        .onConflict((conflict) =>
          conflict.column('key').doUpdateSet((eb) => {
            const windowOver = eb('request_counters.window_ends_at', '<=', param('now'));
            return {
              hits: eb.case().when(windowOver).then(1).else(eb('request_counters.hits', '+', 1)).end(),
              window_ends_at: eb.case().when(windowOver).then(eb.ref('excluded.window_ends_at')).else(eb.ref('request_counters.window_ends_at')).end(),
            };
          }),
        )
        .returning(['hits', 'window_ends_at']),
    );
  }

  /** Counts one request for this client; resolves to the count so far and the ms left in the window. */
  async hit(key: string, windowMs: number): Promise<Count> {
    const now = Date.now();
    const row = await this.#hit.first({ key, now, windowEndsAt: now + windowMs });
    if (row === undefined) throw new Error('request counter upsert returned no row');
    return { current: row.hits, ttl: Math.max(0, Number(row.window_ends_at) - now) };
  }

  /** Forgets counters whose window has closed. */
  async purgeExpired(): Promise<number> {
    const result = await this.#db.deleteFrom('request_counters').where('window_ends_at', '<=', Date.now()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

/** The shape @fastify/rate-limit expects of a store class, backed by RequestCounters. */
function storeClassFor(counters: RequestCounters, onUnreported: (error: unknown) => void) {
  return class DatabaseRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: Count) => void, timeWindow: number): void {
      const reply: NodeCallback<Count> = (error, result) => callback(error ?? null, result);
      settle(counters.hit(key, timeWindow), reply, onUnreported);
    }

    child(): DatabaseRateLimitStore {
      return this;
    }
  };
}

/** Who a request counts against: the signed-in user (API token or web session), else its address. */
export function rateLimitKey(request: FastifyRequest): string {
  const userId = request.auth?.user.id ?? request.viewer?.id;
  return userId === undefined ? `address:${request.ip}` : `user:${userId}`;
}

/**
 * Request rate limits on every route that changes something, API and web alike: `maxWrites`
 * per window per signed-in user, or per client address before sign-in. Checked in preHandler,
 * once the token or session has said who is asking. Counters are shared by all replicas
 * (see RequestCounters); past the limit the answer is 429 with Retry-After.
 */
export default fp(
  async (app: FastifyInstance, options: RateLimitOptions) => {
    const counters = new RequestCounters(app.database.db);
    await app.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      max: options.maxWrites,
      timeWindow: options.windowSeconds * 1000,
      store: storeClassFor(counters, (error) => app.log.error({ err: error }, 'rate limit store callback failed twice')),
      keyGenerator: rateLimitKey,
      allowList: (request) => SAFE_METHODS.has(request.method),
      errorResponseBuilder: (_request, context) =>
        new ClientError(
          429,
          { requests: [`are limited to ${context.max} changes per ${describeWindow(options.windowSeconds)}; try again in ${context.after}`] },
          { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
        ),
    });
    const purge = setInterval(() => {
      counters.purgeExpired().catch((error: unknown) => app.log.warn({ err: error }, 'request counter purge failed'));
    }, PURGE_INTERVAL_MS);
    purge.unref();
    app.addHook('onClose', () => clearInterval(purge));
  },
  { name: 'rate-limits', dependencies: ['database'] },
);

function describeWindow(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? 'minute' : `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}
