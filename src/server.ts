import pino from 'pino';
import { buildApp } from './app.ts';
import { ConfigError, environmentWithDotEnv, loadConfig } from './config.ts';
import { loggerOptions } from './logger.ts';
import { ensureJwtSecret } from './secrets.ts';
import { createShutdown } from './shutdown.ts';

/** Process entry: configuration, the app, the port, and signals. */
async function main(): Promise<void> {
  const bootLog = pino(loggerOptions('info'));
  let config;
  try {
    config = loadConfig(environmentWithDotEnv(process.env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    bootLog.fatal({ variable: error.variable }, error.message);
    process.exit(1);
  }
  config = ensureJwtSecret(config, (message) => bootLog.warn(message));

  const app = await buildApp(config);
  const shutdown = createShutdown(
    app,
    { delaySeconds: config.shutdownDelaySeconds, timeoutSeconds: config.shutdownTimeoutSeconds },
    (code) => process.exit(code),
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void shutdown(signal));
  }
  await app.listen({ host: config.host, port: config.port });
}

main().catch((error: unknown) => {
  pino(loggerOptions('info')).fatal({ err: error }, 'failed to start');
  process.exit(1);
});
