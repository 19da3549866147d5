import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { LogEvent } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DatabaseHandle } from '../../db/database.ts';

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

const QUERY_OPERATIONS: Record<string, string> = {
  SelectQueryNode: 'select',
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
};

/**
 * The app's own Prometheus registry (one per app instance, so tests can build many apps).
 * Created before the database so query timings can be observed from the first query.
 */
export class AppMetrics {
  readonly registry = new Registry();
  readonly #queryDuration: Histogram<'operation'>;
  readonly #queryErrors: Counter<'operation'>;

  constructor(build: { version: string; gitSha: string }) {
    collectDefaultMetrics({ register: this.registry });
    this.#queryDuration = new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Database query duration in seconds, by kind of statement.',
      labelNames: ['operation'],
      buckets: QUERY_BUCKETS,
      registers: [this.registry],
    });
    this.#queryErrors = new Counter({
      name: 'db_query_errors_total',
      help: 'Database queries that failed, by kind of statement.',
      labelNames: ['operation'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'shipshape_build_info',
      help: 'Always 1; the labels say which build is running.',
      labelNames: ['version', 'git_sha', 'node_version'],
      registers: [this.registry],
    }).set({ version: build.version, git_sha: build.gitSha, node_version: process.version }, 1);
  }

  readonly observeQuery = (event: LogEvent): void => {
    const operation = QUERY_OPERATIONS[event.query.query.kind] ?? 'other';
    this.#queryDuration.observe({ operation }, event.queryDurationMillis / 1000);
    if (event.level === 'error') this.#queryErrors.inc({ operation });
  };

  /** `shipshape_ready`: 1 when /readyz would answer 200, evaluated at every scrape. */
  trackReadiness(notReadyReason: () => Promise<string | undefined>): void {
    new Gauge({
      name: 'shipshape_ready',
      help: '1 when the instance is ready to serve (database reachable, schema current, not draining), else 0.',
      registers: [this.registry],
      async collect() {
        this.set((await notReadyReason()) === undefined ? 1 : 0);
      },
    });
  }

  trackDatabase(database: DatabaseHandle): void {
    new Gauge({
      name: 'shipshape_database_storage_full',
      help: '1 while the database is out of storage space (writes answer 503), else 0.',
      registers: [this.registry],
      collect() {
        this.set(database.storageFull() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database connection pool occupancy (PostgreSQL only).',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const stats = database.poolStats();
        if (!stats) return;
        this.set({ state: 'total' }, stats.total);
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }
}

const METRICS_SCHEMA = {
  tags: ['Operations'],
  summary: 'Prometheus metrics',
  response: {
    200: {
      description: 'Metrics in the Prometheus text exposition format',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
  },
};

declare module 'fastify' {
  interface FastifyInstance {
    metrics: AppMetrics;
  }
}

/**
 * Request metrics labelled by route template (never the raw URL, which would explode the
 * label set) and `GET /metrics` in the Prometheus text format.
 */
export default fp(
  (app: FastifyInstance, options: { metrics: AppMetrics; serveOnAppPort: boolean }) => {
    const { metrics } = options;
    app.decorate('metrics', metrics);
    const requestDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration in seconds, by method, route template and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
      registers: [metrics.registry],
    });

    app.addHook('onResponse', (request, reply, done) => {
      requestDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status_code: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      );
      done();
    });

    if (options.serveOnAppPort) {
      app.get('/metrics', { schema: METRICS_SCHEMA }, async (_request, reply) => {
        const body = await metrics.registry.metrics();
        return reply.type(metrics.registry.contentType).send(body);
      });
    }
  },
  { name: 'metrics' },
);
