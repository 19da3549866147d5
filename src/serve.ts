/** The server process proper: configuration, the app, the port, and signals (server.ts loads it). */
import pino from 'pino';
import { buildApp } from './app.ts';
import { bootstrapAdmin } from './features/admin/bootstrap.ts';
import { ConfigError, environmentWithDotEnv, loadConfig } from './config.ts';
import { startIdleGc } from './idle-gc.ts';
import { loggerOptions } from './logger.ts';
import { listenForMetrics } from './metrics-server.ts';
import { ensureSecrets } from './secrets.ts';
import { createShutdown } from './shutdown.ts';

// Buffered, asynchronous log writes (one syscall per batch rather than per line); every exit
// path below flushes them first.
const logDestination = pino.destination({ dest: 1, sync: false });
const log = pino(loggerOptions('info'), logDestination);

function exit(code: number): never {
  logDestination.flushSync();
  process.exit(code);
}

process.on('uncaughtException', (error) => {
  log.fatal({ err: error }, 'uncaught exception');
  exit(1);
});
process.on('unhandledRejection', (reason) => {
  log.fatal({ err: reason }, 'unhandled promise rejection');
  exit(1);
});

/** Process entry: configuration, the app, the port, and signals. */
async function main(): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig(environmentWithDotEnv(process.env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.fatal({ variable: error.variable }, error.message);
    exit(1);
  }
  const config = ensureSecrets(loaded, (message) => log.warn(message));

  const app = await buildApp(config, { logStream: logDestination });
  await app.ready();
  await bootstrapAdmin(
    { email: config.adminEmail, username: config.adminUsername, password: config.adminPassword },
    app.admin,
    app.repositories.users,
    app.log,
  ).catch((error: unknown) => app.log.error({ err: error }, 'could not create the first admin from ADMIN_EMAIL'));
  const shutdown = createShutdown(
    app,
    { delaySeconds: config.shutdownDelaySeconds, timeoutSeconds: config.shutdownTimeoutSeconds },
    exit,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void shutdown(signal));
  }
  await app.listen({ host: config.host, port: config.port });
  if (config.metricsPort !== undefined) {
    await listenForMetrics(app.metrics.registry, config.host, config.metricsPort);
    app.log.info({ port: config.metricsPort }, 'metrics served on their own port');
  }
  startIdleGc({
    growthBytes: config.idleGcHeapGrowthBytes,
    onCollected: ({ heapBeforeBytes, heapAfterBytes, durationMs }) =>
      app.log.debug({ heapBeforeBytes, heapAfterBytes, durationMs: Math.round(durationMs) }, 'heap collected while idle'),
    onUnavailable: (error) => app.log.warn({ err: error }, 'no collection while idle: V8 gives no gc() here'),
  });
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, 'failed to start');
  exit(1);
});
