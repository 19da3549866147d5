import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { fieldErrorsFor } from '../../validation.ts';
import { NewArticleBody, SlugParams, UpdateArticleBody } from '../articles/schemas.ts';
import { NewCommentBody } from '../comments/schemas.ts';
import type { UserRecord } from '../users/repository.ts';
import { renderForm } from './auth.ts';
import { renderMarkdown } from './markdown.ts';
import { FormBase, FormText, viewerOf } from './support.ts';
import { localRedirectTarget } from '../../lib/redirect-target.ts';

const EditorForm = Type.Object({ ...FormBase, title: FormText(1000), description: FormText(5000), body: FormText(), tags: FormText(5000) });
const CommentForm = Type.Object({ ...FormBase, body: FormText(50_000) });
const CommentParams = Type.Object({ slug: SlugParams.properties.slug, id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });

/** "a, b,c " → ["a", "b", "c"]: the editor takes tags as one comma-separated field. */
export function parseTags(text: string | undefined): string[] {
  return (text ?? '').split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
}

/** Reading an article, writing and editing one, favorites, comments and deletion. */
export default function articlePages(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { articles, comments } = app.repositories;
  const { admin } = app;

  async function showArticle(slug: string, viewer: UserRecord | null) {
    const [article, list] = await Promise.all([articles.get(slug, viewer?.id ?? null), comments.list(slug, viewer?.id ?? null)]);
    return { title: article.title, article, comments: list, bodyHtml: await renderMarkdown(article.body) };
  }

  app.get('/article/:slug', { config: { access: 'public' }, schema: { hide: true, params: SlugParams } }, async (request, reply) =>
    reply.page('pages/article', await showArticle(request.params.slug, request.viewer)),
  );

  for (const action of ['favorite', 'unfavorite'] as const) {
    app.post(`/article/:slug/${action}`, {
      schema: { hide: true, params: SlugParams, body: Type.Object(FormBase) },
    }, async (request, reply) => {
      const { slug } = request.params;
      const userId = viewerOf(request).id;
      if (action === 'favorite') await articles.favorite(slug, userId);
      else await articles.unfavorite(slug, userId);
      return reply.redirect(localRedirectTarget(request.body.back, `/article/${encodeURIComponent(slug)}`), 303);
    });
  }

  app.post('/article/:slug/delete', {
    schema: { hide: true, params: SlugParams, body: Type.Object(FormBase) },
  }, async (request, reply) => {
    const viewer = viewerOf(request);
    const article = await articles.get(request.params.slug, viewer.id);
    // Authors may delete their own (the repository's rule); admins anything, audited (AdminService's).
    if (viewer.role === 'admin') await admin.deleteArticle(viewer, article.slug);
    else await articles.delete(article.slug, viewer.id);
    reply.flash('success', `Deleted “${article.title}”.`);
    return reply.redirect('/', 303);
  });

  app.post('/article/:slug/comments', {
    schema: { hide: true, params: SlugParams, body: CommentForm },
  }, async (request, reply) => {
    const viewer = viewerOf(request);
    const { slug } = request.params;
    const body = request.body.body?.trim() ?? '';
    const invalid = fieldErrorsFor(NewCommentBody, { comment: { body } });
    if (invalid) {
      return renderForm(reply, 'pages/article', 422, { ...(await showArticle(slug, viewer)), values: { body }, errors: invalid });
    }
    const comment = await comments.add(slug, viewer.id, body);
    return reply.redirect(`/article/${encodeURIComponent(slug)}#comment-${comment.id}`, 303);
  });

  app.post('/article/:slug/comments/:id/delete', {
    schema: { hide: true, params: CommentParams, body: Type.Object(FormBase) },
  }, async (request, reply) => {
    const viewer = viewerOf(request);
    const { slug, id } = request.params;
    if (viewer.role === 'admin') await admin.deleteComment(viewer, id);
    else await comments.delete(slug, id, viewer.id);
    reply.flash('success', 'Comment deleted.');
    return reply.redirect(`/article/${encodeURIComponent(slug)}`, 303);
  });

  app.get('/editor', { schema: { hide: true } }, async (_request, reply) =>
    reply.page('pages/editor', { title: 'New article', nav: 'editor' }),
  );

  app.post('/editor', {
    schema: { hide: true, body: EditorForm },
  }, async (request, reply) => {
    const viewer = viewerOf(request);
    const values = editorValues(request.body);
    const draft = { title: values.title, description: values.description, body: values.body, tagList: parseTags(values.tags) };
    const invalid = fieldErrorsFor(NewArticleBody, { article: draft });
    if (invalid) return renderForm(reply, 'pages/editor', 422, { title: 'New article', nav: 'editor', values, errors: invalid });
    const article = await articles.create(viewer.id, draft);
    reply.flash('success', 'Your article is published.');
    return reply.redirect(`/article/${encodeURIComponent(article.slug)}`, 303);
  });

  app.get('/editor/:slug', { schema: { hide: true, params: SlugParams } }, async (request, reply) => {
    const viewer = viewerOf(request);
    const article = await articles.getToEdit(request.params.slug, viewer.id);
    return reply.page('pages/editor', {
      title: `Edit “${article.title}”`,
      slug: article.slug,
      values: { title: article.title, description: article.description, body: article.body, tags: article.tagList.join(', ') },
    });
  });

  app.post('/editor/:slug', {
    schema: { hide: true, params: SlugParams, body: EditorForm },
  }, async (request, reply) => {
    const viewer = viewerOf(request);
    const { slug } = request.params;
    const values = editorValues(request.body);
    const changes = { title: values.title, description: values.description, body: values.body, tagList: parseTags(values.tags) };
    const invalid = fieldErrorsFor(UpdateArticleBody, { article: changes });
    if (invalid) return renderForm(reply, 'pages/editor', 422, { title: 'Edit article', slug, values, errors: invalid });
    const article = await articles.update(slug, viewer.id, changes);
    reply.flash('success', 'Your article is updated.');
    return reply.redirect(`/article/${encodeURIComponent(article.slug)}`, 303);
  });
}

function editorValues(body: { title?: string | undefined; description?: string | undefined; body?: string | undefined; tags?: string | undefined }) {
  return { title: body.title?.trim() ?? '', description: body.description?.trim() ?? '', body: body.body ?? '', tags: body.tags ?? '' };
}
