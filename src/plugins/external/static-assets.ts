import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { VIEWS_DIR } from '../app/views.ts';

/** The stylesheet, icons and default avatar, served from this app (no CDN), cached for a day. */
export default fp(
  async (app: FastifyInstance) => {
    await app.register(fastifyStatic, {
      root: join(VIEWS_DIR, 'assets'),
      prefix: '/assets/',
      maxAge: '1d',
      index: false,
      wildcard: false,
      decorateReply: false,
    });
  },
  { name: 'assets' },
);
