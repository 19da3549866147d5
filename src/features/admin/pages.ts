import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import Type from 'typebox';
import { forbidden } from '../../errors.ts';
import { SlugParams } from '../articles/schemas.ts';
import { FormBase, PAGE_SIZE, PageQuery, pageHref, paginate, viewerOf } from '../web/support.ts';
import { localRedirectTarget } from '../../lib/redirect-target.ts';

const ADMIN_PAGE_SIZE = PAGE_SIZE * 2;
const UserParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
const CommentIdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });
const UsersQuery = Type.Object({ ...PageQuery.properties, q: Type.Optional(Type.String({ maxLength: 200 })) });

/** Every admin route answers 403 to anyone who is not a signed-in admin. */
function requireAdmin(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  done(request.viewer?.role === 'admin' ? undefined : forbidden('admin area', 'is for administrators only'));
}

/** The admin area: users (search, disable, enable), articles, comments and the audit log. */
export default function adminPages(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { admin } = app;
  const { articles, comments } = app.repositories;
  // Every route here is for admins: 403 to anyone else, signed in or not.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'admin' };
  });
  app.addHook('preHandler', requireAdmin);
  const offset = (page: number) => (page - 1) * ADMIN_PAGE_SIZE;

  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/admin/users', 303));

  app.get('/users', { schema: { hide: true, querystring: UsersQuery } }, async (request, reply) => {
    const page = request.query.page ?? 1;
    const query = request.query.q?.trim() ?? '';
    const { users, total } = await admin.searchUsers(viewerOf(request), query, { limit: ADMIN_PAGE_SIZE, offset: offset(page) });
    return reply.page('pages/admin/users', {
      title: 'Admin: users',
      nav: 'admin',
      query,
      users,
      total,
      pagination: paginate(page, total, ADMIN_PAGE_SIZE, (number) => pageHref('/admin/users', { q: query }, number)),
    });
  });

  for (const action of ['disable', 'enable'] as const) {
    app.post(`/users/:id/${action}`, {
      schema: { hide: true, params: UserParams, body: Type.Object(FormBase) },
    }, async (request, reply) => {
      await admin.setDisabled(viewerOf(request), request.params.id, action === 'disable');
      reply.flash('success', action === 'disable' ? 'The account is disabled: it is signed out everywhere.' : 'The account is enabled again.');
      return reply.redirect(localRedirectTarget(request.body.back, '/admin/users'), 303);
    });
  }

  app.get('/articles', { schema: { hide: true, querystring: PageQuery } }, async (request, reply) => {
    const page = request.query.page ?? 1;
    const list = await articles.list({}, { limit: ADMIN_PAGE_SIZE, offset: offset(page) }, null);
    return reply.page('pages/admin/articles', {
      title: 'Admin: articles',
      nav: 'admin',
      articles: list.articles,
      pagination: paginate(page, list.articlesCount, ADMIN_PAGE_SIZE, (number) => pageHref('/admin/articles', {}, number)),
    });
  });

  app.post('/articles/:slug/delete', {
    schema: { hide: true, params: SlugParams, body: Type.Object(FormBase) },
  }, async (request, reply) => {
    await admin.deleteArticle(viewerOf(request), request.params.slug);
    reply.flash('success', 'Article deleted.');
    return reply.redirect('/admin/articles', 303);
  });

  app.get('/comments', { schema: { hide: true, querystring: PageQuery } }, async (request, reply) => {
    const page = request.query.page ?? 1;
    const { comments: recent, total } = await comments.recent({ limit: ADMIN_PAGE_SIZE, offset: offset(page) });
    return reply.page('pages/admin/comments', {
      title: 'Admin: comments',
      nav: 'admin',
      comments: recent,
      pagination: paginate(page, total, ADMIN_PAGE_SIZE, (number) => pageHref('/admin/comments', {}, number)),
    });
  });

  app.post('/comments/:id/delete', {
    schema: { hide: true, params: CommentIdParams, body: Type.Object(FormBase) },
  }, async (request, reply) => {
    await admin.deleteComment(viewerOf(request), request.params.id);
    reply.flash('success', 'Comment deleted.');
    return reply.redirect('/admin/comments', 303);
  });

  app.get('/audit', { schema: { hide: true, querystring: PageQuery } }, async (request, reply) => {
    const page = request.query.page ?? 1;
    const { entries, total } = await admin.auditLog(viewerOf(request), { limit: ADMIN_PAGE_SIZE, offset: offset(page) });
    return reply.page('pages/admin/audit', {
      title: 'Admin: audit log',
      nav: 'admin',
      entries,
      pagination: paginate(page, total, ADMIN_PAGE_SIZE, (number) => pageHref('/admin/audit', {}, number)),
    });
  });
}
