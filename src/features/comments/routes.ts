import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { currentAuth } from '../../plugins/app/auth.ts';
import { errorResponses, NOT_MODIFIED_RESPONSE, TOKEN_REQUIRED } from '../../schemas.ts';
import { SlugParams } from '../articles/schemas.ts';
import { CommentParams, MultipleCommentsResponse, NewCommentBody, SingleCommentResponse } from './schemas.ts';

const tags = ['Comments'];

/** Comments on an article (RealWorld "comments" endpoints). */
export default function commentsRoutes(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { comments } = app.repositories;

  app.get('/articles/:slug/comments', {
    config: { access: 'optional' },
    schema: {
      tags,
      summary: 'Comments on an article, oldest first (token optional)',
      params: SlugParams,
      response: { 200: MultipleCommentsResponse, ...NOT_MODIFIED_RESPONSE, ...errorResponses(401, 404, 422) },
    },
  }, async (request, reply) => {
    const { slug } = request.params;
    const viewerId = request.auth?.user.id ?? null;
    return reply.sendCached(viewerId, async () => ({ comments: await comments.list(slug, viewerId) }));
  });

  app.post('/articles/:slug/comments', {
    schema: {
      tags,
      summary: 'Comment on an article',
      security: TOKEN_REQUIRED,
      params: SlugParams,
      body: NewCommentBody,
      response: { 200: SingleCommentResponse, ...errorResponses(401, 404, 422) },
    },
  }, async (request) => ({
    comment: await comments.add(request.params.slug, currentAuth(request).user.id, request.body.comment.body),
  }));

  app.delete('/articles/:slug/comments/:id', {
    schema: {
      tags,
      summary: 'Delete your comment',
      security: TOKEN_REQUIRED,
      params: CommentParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(401, 403, 404, 422) },
    },
  }, async (request, reply) => {
    await comments.delete(request.params.slug, request.params.id, currentAuth(request).user.id);
    return reply.code(204).send(null);
  });
}
