import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';

/** One mounted route, as the app serves it. */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly schema: FastifySchema | undefined;
  readonly config: RouteOptions['config'];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route mounted after this plugin, API and web, in registration order. */
    readonly routeTable: readonly RouteEntry[];
  }
}

/**
 * Records every route as it is mounted, so tests (and whoever reads the app) can walk the one
 * list of what is served instead of keeping a copy of it by hand.
 */
export default fp(
  (app: FastifyInstance, _options: object, done: () => void) => {
    const routes: RouteEntry[] = [];
    app.decorate('routeTable', routes);
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url, schema: route.schema, config: route.config });
    });
    done();
  },
  { name: 'route-table' },
);
