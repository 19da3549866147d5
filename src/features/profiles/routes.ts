import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { currentAuth } from '../../plugins/app/auth.ts';
import { errorResponses, NOT_MODIFIED_RESPONSE, TOKEN_REQUIRED } from '../../schemas.ts';
import { ProfileResponse, UsernameParams } from './schemas.ts';

const tags = ['Profile'];

/** Profiles and following (RealWorld "profiles" endpoints). */
export default function profilesRoutes(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { profiles } = app.repositories;

  app.get('/profiles/:username', {
    config: { access: 'optional' },
    schema: {
      tags,
      summary: 'A user\'s profile (token optional)',
      params: UsernameParams,
      response: { 200: ProfileResponse, ...NOT_MODIFIED_RESPONSE, ...errorResponses(401, 404, 422) },
    },
  }, async (request, reply) => {
    const { username } = request.params;
    const viewerId = request.auth?.user.id ?? null;
    return reply.sendCached(viewerId, async () => ({ profile: await profiles.get(username, viewerId) }));
  });

  app.post('/profiles/:username/follow', {
    schema: {
      tags,
      summary: 'Follow a user',
      security: TOKEN_REQUIRED,
      params: UsernameParams,
      response: { 200: ProfileResponse, ...errorResponses(401, 404, 422) },
    },
  }, async (request) => ({
    profile: await profiles.follow(currentAuth(request).user.id, request.params.username),
  }));

  app.delete('/profiles/:username/follow', {
    schema: {
      tags,
      summary: 'Stop following a user',
      security: TOKEN_REQUIRED,
      params: UsernameParams,
      response: { 200: ProfileResponse, ...errorResponses(401, 404, 422) },
    },
  }, async (request) => ({
    profile: await profiles.unfollow(currentAuth(request).user.id, request.params.username),
  }));
}
