import { beforeAll, describe, expect, it } from 'vitest';
import { TAGS_FRESH_MS } from '../src/features/tags/repository.ts';
import { type ArticleJson, Conduit, type RegisteredUser, uniqueName } from './helpers/conduit.ts';
import { useTestApp } from './helpers/app.ts';
import { eventually } from './helpers/wait.ts';

const testApp = useTestApp();
const api = new Conduit(() => testApp.app);

interface ArticleBody {
  article: ArticleJson;
}
interface ArticlesBody {
  articles: ArticleJson[];
  articlesCount: number;
}

const ISO_8601_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /api/articles', () => {
  it('creates an article with a slug, sorted tags, timestamps and its author', async () => {
    const author = await api.register();
    const response = await api.request<ArticleBody>('POST', '/api/articles', {
      token: author.token,
      body: {
        article: { title: 'How to Train Your Dragon', description: 'Ever wonder how?', body: 'You have to believe', tagList: ['training', 'dragons', 'dragons'] },
      },
    });

    expect(response.status).toBe(201);
    const { article } = response.body;
    expect(article).toEqual({
      slug: expect.stringMatching(/^how-to-train-your-dragon/),
      title: 'How to Train Your Dragon',
      description: 'Ever wonder how?',
      body: 'You have to believe',
      tagList: ['dragons', 'training'],
      createdAt: expect.stringMatching(ISO_8601_MS),
      updatedAt: expect.stringMatching(ISO_8601_MS),
      favorited: false,
      favoritesCount: 0,
      author: { username: author.username, bio: null, image: null, following: false },
    });
  });

  it('gives every article a unique slug, even with the same title', async () => {
    const author = await api.register();
    const title = `Same title ${uniqueName()}`;
    const articles = await Promise.all([1, 2, 3].map(() => api.createArticle(author.token, { title })));
    const slugs = articles.map((article) => article.slug);

    expect(new Set(slugs).size).toBe(3);
    for (const slug of slugs) expect(slug.startsWith(title.toLowerCase().replaceAll(' ', '-'))).toBe(true);
  });

  it('makes a slug out of a title with no letters', async () => {
    const author = await api.register();
    const article = await api.createArticle(author.token, { title: '!!!' });

    expect(article.slug).toMatch(/^article/);
  });

  it('requires title, description and body, and refuses blank ones', async () => {
    const author = await api.register();
    const missing = await api.request('POST', '/api/articles', { token: author.token, body: { article: {} } });
    const blank = await api.request('POST', '/api/articles', {
      token: author.token,
      body: { article: { title: '   ', description: '', body: 'ok' } },
    });

    expect(missing.status).toBe(422);
    expect(missing.body).toEqual({ errors: { title: ["can't be blank"], description: ["can't be blank"], body: ["can't be blank"] } });
    expect(blank.status).toBe(422);
    expect(blank.body).toEqual({ errors: { title: ["can't be blank"], description: ["can't be blank"] } });
  });

  it('refuses blank tags', async () => {
    const author = await api.register();
    const response = await api.request('POST', '/api/articles', {
      token: author.token,
      body: { article: { title: 't', description: 'd', body: 'b', tagList: ['ok', ' '] } },
    });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { tagList: ["can't be blank"] } });
  });

  it('refuses a tagList that is not a list of strings', async () => {
    const author = await api.register();
    const response = await api.request('POST', '/api/articles', {
      token: author.token,
      body: { article: { title: 't', description: 'd', body: 'b', tagList: 'dragons' } },
    });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { tagList: ['must be a list'] } });
  });

  it('needs a token', async () => {
    const response = await api.request('POST', '/api/articles', { body: { article: { title: 't', description: 'd', body: 'b' } } });

    expect(response.status).toBe(401);
  });
});

describe('GET /api/articles/:slug', () => {
  it('returns the article with its body to anyone', async () => {
    const author = await api.register();
    const created = await api.createArticle(author.token, { body: 'The whole body' });

    const response = await api.request<ArticleBody>('GET', `/api/articles/${created.slug}`);

    expect(response.status).toBe(200);
    expect(response.body.article).toEqual(created);
  });

  it('answers 404 for an unknown slug', async () => {
    const response = await api.request('GET', '/api/articles/no-such-article');

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ errors: { article: ['not found'] } });
  });
});

describe('GET /api/articles', () => {
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let tag: string;
  const aliceSlugs: string[] = [];

  beforeAll(async () => {
    alice = await api.register();
    bob = await api.register();
    tag = uniqueName('tag');
    for (let index = 0; index < 3; index += 1) {
      aliceSlugs.push((await api.createArticle(alice.token, { title: `Alice ${index}`, tagList: [tag, 'common'] })).slug);
    }
    await api.createArticle(bob.token, { title: 'Bob writes', tagList: ['common'] });
    await api.request('POST', `/api/articles/${aliceSlugs[0]}/favorite`, { token: bob.token });
  });

  it('lists newest first, without bodies, with the total count', async () => {
    const response = await api.request<ArticlesBody>('GET', `/api/articles?author=${alice.username}`);

    expect(response.status).toBe(200);
    expect(response.body.articlesCount).toBe(3);
    expect(response.body.articles.map((article) => article.slug)).toEqual([...aliceSlugs].reverse());
    for (const article of response.body.articles) expect(article).not.toHaveProperty('body');
  });

  it('filters by tag', async () => {
    const response = await api.request<ArticlesBody>('GET', `/api/articles?tag=${tag}`);

    expect(response.body.articlesCount).toBe(3);
    expect(response.body.articles.every((article) => article.tagList.includes(tag))).toBe(true);
  });

  it('filters by the user who favorited', async () => {
    const response = await api.request<ArticlesBody>('GET', `/api/articles?favorited=${bob.username}`);

    expect(response.body.articlesCount).toBe(1);
    expect(response.body.articles[0]).toMatchObject({ slug: aliceSlugs[0], favoritesCount: 1, favorited: false });
  });

  it('marks favorited and following for the signed-in viewer', async () => {
    await api.request('POST', `/api/profiles/${alice.username}/follow`, { token: bob.token });
    const response = await api.request<ArticlesBody>('GET', `/api/articles?favorited=${bob.username}`, { token: bob.token });

    expect(response.body.articles[0]).toMatchObject({ favorited: true, author: { username: alice.username, following: true } });
  });

  it('combines filters', async () => {
    const both = await api.request<ArticlesBody>('GET', `/api/articles?tag=${tag}&author=${bob.username}`);
    const none = await api.request<ArticlesBody>('GET', '/api/articles?author=nobody-at-all');

    expect(both.body).toEqual({ articles: [], articlesCount: 0 });
    expect(none.body).toEqual({ articles: [], articlesCount: 0 });
  });

  it('pages with limit and offset; the count stays the total', async () => {
    const page = await api.request<ArticlesBody>('GET', `/api/articles?author=${alice.username}&limit=2&offset=1`);

    expect(page.body.articlesCount).toBe(3);
    expect(page.body.articles.map((article) => article.slug)).toEqual([aliceSlugs[1], aliceSlugs[0]]);
  });

  it.each([
    ['limit=0', { limit: ['must be at least 1'] }],
    ['limit=101', { limit: ['must be at most 100'] }],
    ['limit=ten', { limit: ['must be an integer'] }],
    ['offset=-1', { offset: ['must be at least 0'] }],
  ])('refuses %s with 422', async (query, errors) => {
    const response = await api.request('GET', `/api/articles?${query}`);

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors });
  });

  it('answers an empty page for an offset past the end', async () => {
    const response = await api.request<ArticlesBody>('GET', `/api/articles?author=${alice.username}&offset=1000000`);

    expect(response.body).toEqual({ articles: [], articlesCount: 3 });
  });
});

describe('GET /api/articles/feed', () => {
  it('lists only articles by followed authors, newest first', async () => {
    const reader = await api.register();
    const followed = await api.register();
    const ignored = await api.register();
    const first = await api.createArticle(followed.token);
    await api.createArticle(ignored.token);
    const second = await api.createArticle(followed.token);
    await api.request('POST', `/api/profiles/${followed.username}/follow`, { token: reader.token });

    const response = await api.request<ArticlesBody>('GET', '/api/articles/feed', { token: reader.token });

    expect(response.status).toBe(200);
    expect(response.body.articlesCount).toBe(2);
    expect(response.body.articles.map((article) => article.slug)).toEqual([second.slug, first.slug]);
    expect(response.body.articles.every((article) => article.author.following)).toBe(true);
  });

  it('is empty with articlesCount 0 when following nobody', async () => {
    const loner = await api.register();
    const response = await api.request<ArticlesBody>('GET', '/api/articles/feed?limit=5', { token: loner.token });

    expect(response.body).toEqual({ articles: [], articlesCount: 0 });
  });

  it('needs a token', async () => {
    const response = await api.request('GET', '/api/articles/feed');

    expect(response.status).toBe(401);
  });
});

describe('PUT /api/articles/:slug', () => {
  it('lets the author change fields; a new title gives a new slug', async () => {
    const author = await api.register();
    const created = await api.createArticle(author.token, { title: 'Original title', tagList: ['a'] });

    const response = await api.request<ArticleBody>('PUT', `/api/articles/${created.slug}`, {
      token: author.token,
      body: { article: { title: 'Did you train your dragon?', body: 'With two hands', tagList: ['z', 'b'] } },
    });

    expect(response.status).toBe(200);
    expect(response.body.article).toMatchObject({
      slug: expect.stringMatching(/^did-you-train-your-dragon/),
      title: 'Did you train your dragon?',
      description: created.description,
      body: 'With two hands',
      tagList: ['b', 'z'],
    });
    expect(response.body.article.updatedAt >= created.updatedAt).toBe(true);
    expect((await api.request('GET', `/api/articles/${created.slug}`)).status).toBe(404);
  });

  it('keeps the slug when the title is unchanged', async () => {
    const author = await api.register();
    const created = await api.createArticle(author.token);

    const response = await api.request<ArticleBody>('PUT', `/api/articles/${created.slug}`, {
      token: author.token,
      body: { article: { title: created.title, description: 'New description' } },
    });

    expect(response.body.article.slug).toBe(created.slug);
    expect(response.body.article.description).toBe('New description');
  });

  it('refuses anyone but the author with 403 and leaves the article intact', async () => {
    const author = await api.register();
    const intruder = await api.register();
    const created = await api.createArticle(author.token);

    const response = await api.request('PUT', `/api/articles/${created.slug}`, {
      token: intruder.token,
      body: { article: { body: 'defaced' } },
    });

    expect(response.status).toBe(403);
    expect(response.body).toEqual({ errors: { article: ['can only be changed by its author'] } });
    const reread = await api.request<ArticleBody>('GET', `/api/articles/${created.slug}`);
    expect(reread.body.article.body).toBe(created.body);
  });

  it('refuses an empty change with 422 and an unknown slug with 404', async () => {
    const author = await api.register();
    const created = await api.createArticle(author.token);

    const empty = await api.request('PUT', `/api/articles/${created.slug}`, { token: author.token, body: { article: {} } });
    const unknown = await api.request('PUT', '/api/articles/nope', { token: author.token, body: { article: { body: 'x' } } });

    expect(empty.status).toBe(422);
    expect(unknown.status).toBe(404);
  });
});

describe('DELETE /api/articles/:slug', () => {
  it('lets the author delete, with its comments and favorites', async () => {
    const author = await api.register();
    const fan = await api.register();
    const created = await api.createArticle(author.token);
    await api.request('POST', `/api/articles/${created.slug}/favorite`, { token: fan.token });
    await api.request('POST', `/api/articles/${created.slug}/comments`, { token: fan.token, body: { comment: { body: 'Nice' } } });

    const response = await api.request('DELETE', `/api/articles/${created.slug}`, {
      token: author.token,
      headers: { 'content-type': 'application/json' },
    });

    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect((await api.request('GET', `/api/articles/${created.slug}`)).status).toBe(404);
    const favoritedByFan = await api.request<ArticlesBody>('GET', `/api/articles?favorited=${fan.username}`);
    expect(favoritedByFan.body.articlesCount).toBe(0);
  });

  it('refuses anyone but the author with 403 and keeps the article', async () => {
    const author = await api.register();
    const intruder = await api.register();
    const created = await api.createArticle(author.token);

    const response = await api.request('DELETE', `/api/articles/${created.slug}`, { token: intruder.token });

    expect(response.status).toBe(403);
    expect((await api.request('GET', `/api/articles/${created.slug}`)).status).toBe(200);
  });

  it('answers 404 for an unknown slug and 401 without a token', async () => {
    const author = await api.register();
    expect((await api.request('DELETE', '/api/articles/nope', { token: author.token })).status).toBe(404);
    expect((await api.request('DELETE', '/api/articles/nope')).status).toBe(401);
  });
});

describe('favorites', () => {
  it('favorites and unfavorites, accepting an empty JSON body', async () => {
    const author = await api.register();
    const fan = await api.register();
    const created = await api.createArticle(author.token);
    const emptyJson = { 'content-type': 'application/json' };

    const favorite = await api.request<ArticleBody>('POST', `/api/articles/${created.slug}/favorite`, { token: fan.token, headers: emptyJson });
    const again = await api.request<ArticleBody>('POST', `/api/articles/${created.slug}/favorite`, { token: fan.token });
    const unfavorite = await api.request<ArticleBody>('DELETE', `/api/articles/${created.slug}/favorite`, { token: fan.token, headers: emptyJson });

    expect(favorite.status).toBe(200);
    expect(favorite.body.article).toMatchObject({ favorited: true, favoritesCount: 1, body: created.body });
    expect(again.body.article).toMatchObject({ favorited: true, favoritesCount: 1 });
    expect(unfavorite.status).toBe(200);
    expect(unfavorite.body.article).toMatchObject({ favorited: false, favoritesCount: 0 });
  });

  it('counts exactly 20 when 20 users favorite at the same moment', async () => {
    const author = await api.register();
    const created = await api.createArticle(author.token);
    const fans = await Promise.all(Array.from({ length: 20 }, () => api.register()));

    const responses = await Promise.all(
      fans.map((fan) => api.request('POST', `/api/articles/${created.slug}/favorite`, { token: fan.token })),
    );

    expect(responses.every((response) => response.status === 200)).toBe(true);
    const article = await api.request<ArticleBody>('GET', `/api/articles/${created.slug}`);
    expect(article.body.article.favoritesCount).toBe(20);
  });

  it('answers 404 for an unknown article and 401 without a token', async () => {
    const fan = await api.register();
    expect((await api.request('POST', '/api/articles/nope/favorite', { token: fan.token })).status).toBe(404);
    expect((await api.request('DELETE', '/api/articles/nope/favorite', { token: fan.token })).status).toBe(404);
    expect((await api.request('POST', '/api/articles/nope/favorite')).status).toBe(401);
  });
});

describe('GET /api/tags', () => {
  it('lists tags in use, alphabetically, and forgets tags whose articles are gone', async () => {
    const author = await api.register();
    const fleeting = uniqueName('zz-fleeting');
    const created = await api.createArticle(author.token, { tagList: [fleeting, 'aardvark'] });

    const before = await api.request<{ tags: string[] }>('GET', '/api/tags');
    await api.request('DELETE', `/api/articles/${created.slug}`, { token: author.token });
    const after = await api.request<{ tags: string[] }>('GET', '/api/tags');

    expect(before.status).toBe(200);
    expect(before.body.tags).toEqual([...before.body.tags].sort());
    expect(before.body.tags).toContain(fleeting);
    expect(after.body.tags).not.toContain(fleeting);
  });

  it('shows tags written by another replica within TAGS_FRESH_MS', async () => {
    const author = await api.register();
    const article = await api.createArticle(author.token, { tagList: ['first'] });
    await api.request('GET', '/api/tags');
    // Another replica writes straight to the shared database; this one has not heard of it.
    const { id: articleId } = await testApp.app.db.selectFrom('articles').select('id').where('slug', '=', article.slug).executeTakeFirstOrThrow();
    const fresh = uniqueName('replica-tag');
    const { id: tagId } = await testApp.app.db.insertInto('tags').values({ name: fresh }).returning('id').executeTakeFirstOrThrow();
    await testApp.app.db.insertInto('article_tags').values({ article_id: articleId, tag_id: tagId }).execute();

    const later = await eventually(() => api.request<{ tags: string[] }>('GET', '/api/tags'), (response) => response.body.tags.includes(fresh), {
      timeoutMs: TAGS_FRESH_MS + 2000,
      what: 'the other replica\'s tag',
    });

    expect(later.body.tags).toContain(fresh);
  });
});
