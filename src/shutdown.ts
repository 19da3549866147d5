import type { FastifyInstance } from 'fastify';

export interface ShutdownSettings {
  readonly delaySeconds: number;
  readonly timeoutSeconds: number;
}

/**
 * Graceful shutdown, as a load balancer needs it: on the first signal /readyz turns 503 at
 * once, requests keep being served for `delaySeconds` while endpoints are withdrawn, then the
 * server stops accepting, finishes in-flight requests, closes the database and exits 0.
 * A second signal, or a drain longer than `timeoutSeconds`, exits 1 at once.
 */
export function createShutdown(app: FastifyInstance, settings: ShutdownSettings, exit: (code: number) => void) {
  let started = false;
  return async function shutdown(signal: string): Promise<void> {
    if (started) {
      app.log.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    started = true;
    app.readiness.startDraining();
    app.log.info({ signal, delaySeconds: settings.delaySeconds }, 'shutting down: draining');
    const deadline = setTimeout(() => {
      app.log.error({ timeoutSeconds: settings.timeoutSeconds }, 'shutdown took too long: exiting');
      exit(1);
    }, (settings.delaySeconds + settings.timeoutSeconds) * 1000);
    deadline.unref();
    await new Promise((resolve) => setTimeout(resolve, settings.delaySeconds * 1000));
    try {
      await app.close();
      app.log.info('shutdown complete');
      exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      exit(1);
    } finally {
      clearTimeout(deadline);
    }
  };
}
