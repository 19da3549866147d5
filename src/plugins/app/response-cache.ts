import { hash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import fresh from 'fresh';
import { Counter } from 'prom-client';
import vary from 'vary';
import { VersionedCache } from '../../lib/versioned-cache.ts';

export interface ResponseCacheOptions {
  /**
   * Bytes of serialised responses kept (RESPONSE_CACHE_SIZE, 8 MiB by default): a page of 20
   * articles is about 9 KB, so the default holds some 900 pages (every list, feed and article of
   * a busy hour's readers); the least recently used go first. Entries die with the data version
   * anyway, so a larger cache buys little. 0 turns the cache off.
   */
  readonly maxBytes: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The database's data version (DatabaseHandle.dataVersion), read once per request: the auth
     * hook and the handler share one read, so both see the same version.
     */
    dataVersion(): Promise<string>;
    dataVersionRead: Promise<string> | null;
  }
  interface FastifyReply {
    /**
     * Answers 200 with the route's response: the bytes serialised for the current data version
     * if an earlier request with the same route, parameters, query and viewer already made them,
     * else `compute()`'s value serialised by the route's response schema (exactly what returning
     * it would send) and kept for the next one. The key is made here from the request, so a
     * parameter added to a route is part of it without anyone listing it; the viewer (whose
     * follows and favorites the answer shows) is the route's to name: null for anonymous.
     * The answer carries an ETag made from its bytes; a request whose If-None-Match names it
     * gets 304 and no body.
     */
    sendCached(viewerId: number | null, compute: () => Promise<unknown>): Promise<FastifyReply>;
  }
}

/**
 * Serialised JSON answers of the read routes, kept per data version: a reader who sees the
 * same version of the database as the request that made an answer gets the same bytes without
 * querying or serialising again. Any commit, on any replica, changes the version, so an answer
 * is never older than the data the reader could see.
 */
export default fp(
  (app: FastifyInstance, options: ResponseCacheOptions) => {
    // Keys count too: a key names the route, its parameters, its query and the viewer.
    const responses = new VersionedCache<Representation>(options.maxBytes, ({ body, etag }, key) => body.length + etag.length + key.length);
    const lookups = new Counter({
      name: 'http_response_cache_lookups_total',
      help: 'Read responses looked up in the per-data-version cache, by result (hit or miss).',
      labelNames: ['result'],
      registers: [app.metrics.registry],
    });
    const hits = lookups.labels('hit');
    const misses = lookups.labels('miss');

    app.decorateRequest('dataVersionRead', null);
    app.decorateRequest('dataVersion', function dataVersion(this: FastifyRequest): Promise<string> {
      this.dataVersionRead ??= app.database.dataVersion();
      return this.dataVersionRead;
    });

    app.decorateReply('sendCached', async function sendCached(this: FastifyReply, viewerId: number | null, compute: () => Promise<unknown>): Promise<FastifyReply> {
      const { routeOptions, params, query } = this.request;
      const key = JSON.stringify([routeOptions.url, params, query, viewerId]);
      // The version first: what compute() reads afterwards is at least as new (see VersionedCache).
      const version = await this.request.dataVersion();
      let representation = responses.get(key, version);
      if (representation === undefined) {
        misses.inc();
        representation = representationOf(this.serialize(await compute()));
        responses.set(key, version, representation);
      } else {
        hits.inc();
      }
      // Any cache may keep the answer but must ask again before reusing it; one made for a
      // signed-in viewer is theirs alone, and who is asking (Authorization) selects it.
      this.header('etag', representation.etag)
        .header('cache-control', viewerId === null ? 'no-cache' : 'private, no-cache')
        .header('vary', vary.append(String(this.getHeader('vary') ?? ''), 'Authorization'));
      if (fresh(this.request.headers, { etag: representation.etag })) {
        // No body either way; given the answer, Fastify's HEAD route states its full length, as a
        // Content-Length on a 304 must (RFC 9110, 8.6), where it would otherwise say 0.
        return this.code(304).send(this.request.method === 'HEAD' ? representation.body : undefined);
      }
      return this.type(JSON_TYPE).send(representation.body);
    });
  },
  { name: 'response-cache', dependencies: ['database', 'metrics'] },
);

/** A serialised answer and its strong entity tag. */
interface Representation {
  readonly body: Buffer;
  readonly etag: string;
}

/**
 * The tag is a hash of the bytes, not the data version: an answer that a write elsewhere left
 * unchanged keeps its tag, so a client's copy stays valid (304) across versions and replicas.
 */
function representationOf(serialized: string | Buffer | ArrayBuffer): Representation {
  const body = typeof serialized === 'string' ? Buffer.from(serialized) : Buffer.isBuffer(serialized) ? serialized : Buffer.from(serialized);
  return { body, etag: `"${hash('sha256', body, 'base64url').slice(0, 27)}"` };
}
