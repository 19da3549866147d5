import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { ConfigWithSecrets } from './secrets.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest, pendingMigrations } from './db/migrate.ts';
import articlesRoutes from './features/articles/routes.ts';
import commentsRoutes from './features/comments/routes.ts';
import profilesRoutes from './features/profiles/routes.ts';
import tagsRoutes from './features/tags/routes.ts';
import usersRoutes from './features/users/routes.ts';
import imagesRoutes from './features/images/routes.ts';
import webApplication from './features/web/index.ts';
import staticAssets from './plugins/assets.ts';
import { AccessLog, loggerOptions, REQUEST_ID_HEADER, requestIdFor } from './logger.ts';
import authPlugin from './plugins/auth.ts';
import databasePlugin from './plugins/database.ts';
import errorsPlugin, { answerClientError, answerFrameworkError, jsonNotFound } from './plugins/errors.ts';
import healthPlugin from './plugins/health.ts';
import lingeringClose from './plugins/lingering-close.ts';
import metricsPlugin, { AppMetrics } from './plugins/metrics.ts';
import openapiPlugin from './plugins/openapi.ts';
import rateLimitsPlugin from './plugins/rate-limits.ts';
import repositoriesPlugin from './plugins/repositories.ts';
import routeTablePlugin from './plugins/route-table.ts';
import securityPlugin from './plugins/security.ts';
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
  const database = openDatabase(config, metrics.observeQuery);
  metrics.trackDatabase(database);
  app.log.info({ dialect: database.dialect, location: database.location }, 'database opened');
  try {
    await migrateIfAllowed(app, config, database.db);
  } catch (error) {
    await database.close();
    throw error;
  }

  await app.register(routeTablePlugin);
  await app.register(errorsPlugin);
  await app.register(databasePlugin, { database });
  await app.register(metricsPlugin, { metrics, serveOnAppPort: config.metricsPort === undefined });
  await app.register(securityPlugin, { corsOrigins: config.corsOrigins });
  await app.register(openapiPlugin, { version: config.appVersion });
  await app.register(healthPlugin, { version: config.appVersion, gitSha: config.gitSha });
  await app.register(lingeringClose, { draining: () => app.readiness.draining });
  await app.register(repositoriesPlugin, {
    sessionMaxAgeSeconds: config.sessionMaxAgeSeconds,
    signInPolicy: {
      maxFailures: config.signInMaxFailures,
      maxFailuresPerAddress: config.signInMaxFailuresPerAddress,
      lockoutSeconds: config.signInLockoutSeconds,
    },
  });
  await app.register(authPlugin, { jwtSecret: config.jwtSecret, jwtTtlSeconds: config.jwtTtlSeconds });
  await app.register(rateLimitsPlugin, { maxWrites: config.rateLimitMax, windowSeconds: config.rateLimitWindowSeconds });

  await app.register(
    async (api) => {
      api.setNotFoundHandler(jsonNotFound);
      // Deny by default: every API route needs a token unless it declares `config.access`.
      api.addHook('onRequest', api.authenticateByRoute);
      await api.register(usersRoutes);
      await api.register(profilesRoutes);
      await api.register(articlesRoutes);
      await api.register(commentsRoutes);
      await api.register(tagsRoutes);
    },
    { prefix: '/api' },
  );
  await app.register(imagesRoutes);
  await app.register(staticAssets);
  await app.register(webApplication, { config });
  return app;
}

/** Trust X-Forwarded-* from this many proxies in front of us. */
function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}

async function migrateIfAllowed(app: FastifyInstance, config: ConfigWithSecrets, db: Parameters<typeof migrateToLatest>[0]): Promise<void> {
  const embedded = config.databaseUrl === undefined;
  if (embedded || config.migrateOnStart) {
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
