import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { currentAuth } from '../../plugins/app/auth.ts';
import { errorResponses, NOT_MODIFIED_RESPONSE, TOKEN_REQUIRED } from '../../schemas.ts';
import {
  DEFAULT_PAGE_SIZE,
  FeedQuery,
  ListArticlesQuery,
  MultipleArticlesResponse,
  NewArticleBody,
  SingleArticleResponse,
  SlugParams,
  UpdateArticleBody,
} from './schemas.ts';

const tags = ['Articles'];
const favoriteTags = ['Favorites'];

/** Articles, the feed and favorites (RealWorld "articles" endpoints). */
export default function articlesRoutes(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { articles } = app.repositories;

  app.get('/articles', {
    config: { access: 'optional' },
    schema: {
      tags,
      summary: 'Recent articles, optionally by tag, author or favoriter (token optional)',
      querystring: ListArticlesQuery,
      response: { 200: MultipleArticlesResponse, ...NOT_MODIFIED_RESPONSE, ...errorResponses(401, 422) },
    },
  }, async (request, reply) => {
    const { tag, author, favorited } = request.query;
    const page = { limit: request.query.limit ?? DEFAULT_PAGE_SIZE, offset: request.query.offset ?? 0 };
    const viewerId = request.auth?.user.id ?? null;
    return reply.sendCached(viewerId, () => articles.list({ tag, author, favorited }, page, viewerId));
  });

  app.get('/articles/feed', {
    schema: {
      tags,
      summary: 'Recent articles by the users you follow',
      security: TOKEN_REQUIRED,
      querystring: FeedQuery,
      response: { 200: MultipleArticlesResponse, ...NOT_MODIFIED_RESPONSE, ...errorResponses(401, 422) },
    },
  }, async (request, reply) => {
    const userId = currentAuth(request).user.id;
    const page = { limit: request.query.limit ?? DEFAULT_PAGE_SIZE, offset: request.query.offset ?? 0 };
    return reply.sendCached(userId, () => articles.list({ followedBy: userId }, page, userId));
  });

  app.get('/articles/:slug', {
    config: { access: 'optional' },
    schema: {
      tags,
      summary: 'One article (token optional)',
      params: SlugParams,
      response: { 200: SingleArticleResponse, ...NOT_MODIFIED_RESPONSE, ...errorResponses(401, 404, 422) },
    },
  }, async (request, reply) => {
    const { slug } = request.params;
    const viewerId = request.auth?.user.id ?? null;
    return reply.sendCached(viewerId, async () => ({ article: await articles.get(slug, viewerId) }));
  });

  app.post('/articles', {
    schema: {
      tags,
      summary: 'Write an article',
      security: TOKEN_REQUIRED,
      body: NewArticleBody,
      response: { 201: SingleArticleResponse, ...errorResponses(401, 422) },
    },
  }, async (request, reply) => {
    const article = await articles.create(currentAuth(request).user.id, request.body.article);
    return reply.code(201).send({ article });
  });

  app.put('/articles/:slug', {
    schema: {
      tags,
      summary: 'Change your article (a new title gives a new slug)',
      security: TOKEN_REQUIRED,
      params: SlugParams,
      body: UpdateArticleBody,
      response: { 200: SingleArticleResponse, ...errorResponses(401, 403, 404, 422) },
    },
  }, async (request) => ({
    article: await articles.update(request.params.slug, currentAuth(request).user.id, request.body.article),
  }));

  app.delete('/articles/:slug', {
    schema: {
      tags,
      summary: 'Delete your article',
      security: TOKEN_REQUIRED,
      params: SlugParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(401, 403, 404, 422) },
    },
  }, async (request, reply) => {
    await articles.delete(request.params.slug, currentAuth(request).user.id);
    return reply.code(204).send(null);
  });

  app.post('/articles/:slug/favorite', {
    schema: {
      tags: favoriteTags,
      summary: 'Favorite an article',
      security: TOKEN_REQUIRED,
      params: SlugParams,
      response: { 200: SingleArticleResponse, ...errorResponses(401, 404, 422) },
    },
  }, async (request) => ({ article: await articles.favorite(request.params.slug, currentAuth(request).user.id) }));

  app.delete('/articles/:slug/favorite', {
    schema: {
      tags: favoriteTags,
      summary: 'Unfavorite an article',
      security: TOKEN_REQUIRED,
      params: SlugParams,
      response: { 200: SingleArticleResponse, ...errorResponses(401, 404, 422) },
    },
  }, async (request) => ({ article: await articles.unfavorite(request.params.slug, currentAuth(request).user.id) }));
}
