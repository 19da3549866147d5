import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface SecurityOptions {
  /** Origins allowed to call the API from a browser; "*" allows any; empty allows none. */
  corsOrigins: readonly string[];
}

/** Security headers on every response, and CORS for front ends served from other origins. */
export default fp(
  async (app: FastifyInstance, options: SecurityOptions) => {
    await app.register(helmet, {
      // The API answers JSON; HTML pages that need more set their own policy.
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          baseUri: ["'self'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          objectSrc: ["'none'"],
          imgSrc: ["'self'", 'data:', 'https:'],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          upgradeInsecureRequests: null,
        },
      },
      crossOriginResourcePolicy: { policy: 'same-site' },
    });
    if (options.corsOrigins.length > 0) {
      const anyOrigin = options.corsOrigins.includes('*');
      await app.register(cors, {
        origin: anyOrigin ? '*' : [...options.corsOrigins],
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
        allowedHeaders: ['Authorization', 'Content-Type', 'X-Requested-With', 'X-Request-Id'],
        exposedHeaders: ['X-Request-Id'],
        maxAge: 600,
      });
    }
  },
  { name: 'security' },
);
