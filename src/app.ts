import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { ConfigWithSecrets } from './secrets.ts';
import { dialectOf, openDatabase, type QueryListener } from './db/database.ts';
import { migratesOnStart, migrateToLatest, pendingMigrations } from './db/migrate.ts';
import { AccessLog, loggerOptions, REQUEST_ID_HEADER, requestIdFor } from './logger.ts';
import openapiPlugin from './plugins/external/openapi.ts';
import rateLimitsPlugin from './plugins/external/rate-limits.ts';
import securityPlugin from './plugins/external/security.ts';
import authPlugin from './plugins/app/auth.ts';
import databasePlugin from './plugins/app/database.ts';
import errorsPlugin, { answerClientError, answerFrameworkError } from './plugins/app/errors.ts';
import healthPlugin from './plugins/app/health.ts';
import lingeringClose from './plugins/app/lingering-close.ts';
import metricsPlugin, { AppMetrics } from './plugins/app/metrics.ts';
import responseCachePlugin from './plugins/app/response-cache.ts';
import servicesPlugin from './plugins/app/services.ts';
import routeTablePlugin from './plugins/app/route-table.ts';
import type { Tracing } from './plugins/app/tracing.ts';
import routes from './routes.ts';
import { serviceOptionsFrom } from './services.ts';
import { strictValidatorCompiler } from './validation.ts';

export interface BuildOptions {
  /** Where logs go; defaults to stdout. Tests pass a stream to read them. */
  readonly logStream?: DestinationStream;
}

/**
 * Builds the whole application from a validated Config, without listening on a port.
 * Order: cross-cutting plugins, then domain services, then features. The embedded SQLite
 * database migrates itself; PostgreSQL does only with MIGRATE_ON_START=true.
 */
export async function buildApp(config: ConfigWithSecrets, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { ...loggerOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    requestIdHeader: false,
    genReqId: requestIdFor,
    logController: new AccessLog(),
    requestTimeout: config.requestTimeoutSeconds * 1000,
    // During shutdown, keep answering requests already on open connections (with
    // "Connection: close") rather than failing them with 503.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
  }).setValidatorCompiler(strictValidatorCompiler);

  app.addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });

  const metrics = new AppMetrics({ version: config.appVersion, gitSha: config.gitSha });
  const tracing = await startTracingIfConfigured(config);
  const database = openDatabase(config, tracing === undefined ? metrics.observeQuery : bothListeners(metrics.observeQuery, tracing.observeQuery));
  metrics.trackDatabase(database);
  app.log.info({ dialect: database.dialect, location: database.location }, 'database opened');
  try {
    await migrateIfAllowed(app, config, database.db);
  } catch (error) {
    await database.close();
    await tracing?.shutdown();
    throw error;
  }

  // First, so that every route's requests get a span and trace ids in their log lines.
  if (tracing !== undefined) await app.register(tracing.plugin);
  await app.register(routeTablePlugin);
  await app.register(errorsPlugin);
  await app.register(databasePlugin, { database });
  await app.register(metricsPlugin, { metrics, serveOnAppPort: config.metricsPort === undefined });
  await app.register(securityPlugin, { corsOrigins: config.corsOrigins });
  await app.register(openapiPlugin, { version: config.appVersion });
  await app.register(healthPlugin, { version: config.appVersion, gitSha: config.gitSha });
  await app.register(lingeringClose, { draining: () => app.readiness.draining });
  await app.register(servicesPlugin, serviceOptionsFrom(config));
  await app.register(responseCachePlugin, { maxBytes: config.responseCacheBytes });
  await app.register(authPlugin, { jwtSecret: config.jwtSecret, jwtPreviousSecrets: config.jwtPreviousSecrets, jwtTtlSeconds: config.jwtTtlSeconds });
  await app.register(rateLimitsPlugin, { maxWrites: config.rateLimitMax, windowSeconds: config.rateLimitWindowSeconds });

  await app.register(routes, { config });
  return app;
}

/**
 * Traces are off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; off, the OpenTelemetry SDK is not
 * even imported, so it costs neither start-up time, memory nor a hook per request.
 */
async function startTracingIfConfigured(config: ConfigWithSecrets): Promise<Tracing | undefined> {
  if (config.otelExporterEndpoint === undefined) return undefined;
  const { Tracing } = await import('./plugins/app/tracing.ts');
  return new Tracing({
    endpoint: config.otelExporterEndpoint,
    serviceName: config.otelServiceName,
    serviceVersion: config.appVersion,
    dialect: dialectOf(config),
    sampleRatio: config.otelSampleRatio,
  });
}

function bothListeners(first: QueryListener, second: QueryListener): QueryListener {
  return (event) => {
    first(event);
    second(event);
  };
}

/** Trust X-Forwarded-* from this many proxies in front of us. */
function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}

async function migrateIfAllowed(app: FastifyInstance, config: ConfigWithSecrets, db: Parameters<typeof migrateToLatest>[0]): Promise<void> {
  if (migratesOnStart(config)) {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) app.log.info({ migrations: applied }, 'database migrated');
    return;
  }
  // Pending migrations on PostgreSQL are reported by /readyz; an unreachable server is too.
  const pending = await pendingMigrations(db).catch(() => []);
  if (pending.length > 0) {
    app.log.warn({ pending }, 'database migrations pending: not ready until the migrate command runs');
  }
}
