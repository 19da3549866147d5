import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { answerNotFound } from '../app/errors.ts';

/**
 * The OpenAPI 3.1 document, generated from the route schemas (never written by hand), at
 * /api/openapi.json, and Swagger UI at /docs.
 */
export default fp(
  async (app: FastifyInstance, options: { version: string }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Shipshape Conduit API',
          description: 'The RealWorld Conduit API as served by Shipshape. Errors are `{ "errors": { "<field>": ["<message>"] } }`.',
          version: options.version,
          license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
        },
        tags: [
          { name: 'User and Authentication' },
          { name: 'Profile' },
          { name: 'Articles' },
          { name: 'Favorites' },
          { name: 'Comments' },
          { name: 'Tags' },
          { name: 'Images', description: 'Uploaded images, by content hash' },
          { name: 'Operations', description: 'Health, readiness, version and metrics' },
        ],
        components: {
          securitySchemes: {
            Token: {
              type: 'apiKey',
              in: 'header',
              name: 'Authorization',
              description: 'The JWT from registration or login, sent as `Authorization: Token <jwt>`.',
            },
          },
        },
      },
    });
    // In a context of its own with its own 404: Swagger UI's static files answer a missing file
    // with Fastify's not-found, which would otherwise land in the web pages' handler, whose
    // session hooks have no session here.
    await app.register(
      async (docs) => {
        docs.setNotFoundHandler(answerNotFound);
        await docs.register(swaggerUi, {
          routePrefix: '/',
          staticCSP: true,
          uiConfig: { url: '/api/openapi.json', deepLinking: true },
        });
      },
      { prefix: '/docs' },
    );

    app.get('/api/openapi.json', {
      config: { operational: true },
      schema: { tags: ['Operations'], summary: 'This OpenAPI document', response: { 200: { type: 'object', additionalProperties: true } } },
    }, () => app.swagger());
  },
  { name: 'openapi' },
);
