import { describe, expect, it } from 'vitest';
import { Conduit } from './helpers/conduit.ts';
import { useTestApp } from './helpers/app.ts';

const testApp = useTestApp();
const api = new Conduit(() => testApp.app);

interface CommentJson {
  id: number;
  createdAt: string;
  updatedAt: string;
  body: string;
  author: { username: string; following: boolean };
}

describe('comments', () => {
  it('adds a comment (200, per the spec) and lists comments oldest first', async () => {
    const author = await api.register();
    const reader = await api.register();
    const article = await api.createArticle(author.token);

    const first = await api.request<{ comment: CommentJson }>('POST', `/api/articles/${article.slug}/comments`, {
      token: reader.token,
      body: { comment: { body: 'First!' } },
    });
    await api.request('POST', `/api/articles/${article.slug}/comments`, { token: author.token, body: { comment: { body: 'Thanks' } } });
    const list = await api.request<{ comments: CommentJson[] }>('GET', `/api/articles/${article.slug}/comments`);

    expect(first.status).toBe(200);
    expect(first.body.comment).toEqual({
      id: expect.any(Number),
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: expect.stringMatching(/Z$/),
      body: 'First!',
      author: { username: reader.username, bio: null, image: null, following: false },
    });
    expect(list.status).toBe(200);
    expect(list.body.comments.map((comment) => comment.body)).toEqual(['First!', 'Thanks']);
  });

  it('shows following=true on comments by authors the viewer follows', async () => {
    const author = await api.register();
    const viewer = await api.register();
    const article = await api.createArticle(author.token);
    await api.request('POST', `/api/articles/${article.slug}/comments`, { token: author.token, body: { comment: { body: 'Hi' } } });
    await api.request('POST', `/api/profiles/${author.username}/follow`, { token: viewer.token });

    const list = await api.request<{ comments: CommentJson[] }>('GET', `/api/articles/${article.slug}/comments`, { token: viewer.token });

    expect(list.body.comments[0]?.author.following).toBe(true);
  });

  it('refuses a blank comment with 422', async () => {
    const author = await api.register();
    const article = await api.createArticle(author.token);

    const response = await api.request('POST', `/api/articles/${article.slug}/comments`, {
      token: author.token,
      body: { comment: { body: ' ' } },
    });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { body: ["can't be blank"] } });
  });

  it('answers 404 for comments on an unknown article', async () => {
    const user = await api.register();
    expect((await api.request('GET', '/api/articles/nope/comments')).status).toBe(404);
    expect((await api.request('POST', '/api/articles/nope/comments', { token: user.token, body: { comment: { body: 'x' } } })).status).toBe(404);
  });

  it('lets the comment author delete it (204)', async () => {
    const author = await api.register();
    const article = await api.createArticle(author.token);
    const created = await api.request<{ comment: CommentJson }>('POST', `/api/articles/${article.slug}/comments`, {
      token: author.token,
      body: { comment: { body: 'Oops' } },
    });

    const response = await api.request('DELETE', `/api/articles/${article.slug}/comments/${created.body.comment.id}`, {
      token: author.token,
      headers: { 'content-type': 'application/json' },
    });

    expect(response.status).toBe(204);
    const list = await api.request<{ comments: CommentJson[] }>('GET', `/api/articles/${article.slug}/comments`);
    expect(list.body.comments).toEqual([]);
  });

  it('refuses to delete someone else\'s comment with 403, even the article author, and keeps it', async () => {
    const articleAuthor = await api.register();
    const commenter = await api.register();
    const article = await api.createArticle(articleAuthor.token);
    const created = await api.request<{ comment: CommentJson }>('POST', `/api/articles/${article.slug}/comments`, {
      token: commenter.token,
      body: { comment: { body: 'Mine' } },
    });

    const response = await api.request('DELETE', `/api/articles/${article.slug}/comments/${created.body.comment.id}`, {
      token: articleAuthor.token,
    });

    expect(response.status).toBe(403);
    expect(response.body).toEqual({ errors: { comment: ['can only be deleted by its author'] } });
    const list = await api.request<{ comments: CommentJson[] }>('GET', `/api/articles/${article.slug}/comments`);
    expect(list.body.comments).toHaveLength(1);
  });

  it('answers 404 when the comment belongs to another article (no deleting across articles)', async () => {
    const author = await api.register();
    const first = await api.createArticle(author.token);
    const second = await api.createArticle(author.token);
    const comment = await api.request<{ comment: CommentJson }>('POST', `/api/articles/${first.slug}/comments`, {
      token: author.token,
      body: { comment: { body: 'On the first' } },
    });

    const response = await api.request('DELETE', `/api/articles/${second.slug}/comments/${comment.body.comment.id}`, { token: author.token });

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ errors: { comment: ['not found'] } });
  });

  it('refuses a non-numeric comment id with 422', async () => {
    const author = await api.register();
    const article = await api.createArticle(author.token);

    const response = await api.request('DELETE', `/api/articles/${article.slug}/comments/abc`, { token: author.token });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { id: ['must be an integer'] } });
  });
});
