import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, useTestApp } from './helpers/app.ts';
import { type ArticleJson, Conduit, uniqueName } from './helpers/conduit.ts';

/**
 * The read routes answer from serialised responses kept per data version (plugins/app/
 * response-cache.ts), and reads reuse the signed-in user's record the same way. Every test
 * warms this replica's caches, writes through ANOTHER replica on the same database (another
 * SQLite connection, or another PostgreSQL pool), and reads here again at once: no waiting,
 * the answer must already be fresh.
 */
const here = useTestApp();
let elsewhereApp: TestApp;
beforeAll(async () => {
  elsewhereApp = await createTestApp({ storage: here.storage });
});
afterAll(() => elsewhereApp.close());

const api = new Conduit(() => here.app);
const elsewhere = new Conduit(() => elsewhereApp.app);

async function cacheLookups(app = here.app): Promise<{ hit: number; miss: number }> {
  const metric = await app.metrics.registry.getSingleMetric('http_response_cache_lookups_total')!.get();
  const count = (result: string) => metric.values.find((value) => value.labels.result === result)?.value ?? 0;
  return { hit: count('hit'), miss: count('miss') };
}

async function articleHere(slug: string, token?: string): Promise<ArticleJson> {
  const response = await api.request<{ article: ArticleJson }>('GET', `/api/articles/${slug}`, token === undefined ? {} : { token });
  expect(response.status).toBe(200);
  return response.body.article;
}

describe('cached read responses', () => {
  it('answers a repeated read with the same bytes, headers and status, from the cache', async () => {
    const author = await api.register();
    await api.createArticle(author.token);
    const first = await api.request('GET', '/api/articles?limit=3');
    const before = await cacheLookups();

    const second = await api.request('GET', '/api/articles?limit=3');

    expect(await cacheLookups()).toEqual({ hit: before.hit + 1, miss: before.miss });
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(second.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(second.headers['content-type']).toBe(first.headers['content-type']);
  });

  it('lists an article another replica published, and counts it, at once', async () => {
    const author = await api.register();
    const before = await api.request<{ articles: ArticleJson[]; articlesCount: number }>('GET', '/api/articles');

    const published = await elsewhere.createArticle(author.token);

    const after = await api.request<{ articles: ArticleJson[]; articlesCount: number }>('GET', '/api/articles');
    expect(after.body.articles[0]!.slug).toBe(published.slug);
    expect(after.body.articlesCount).toBe(before.body.articlesCount + 1);
  });

  it('shows an edit, a favorite and a new bio made on another replica at once', async () => {
    const author = await api.register();
    const reader = await api.register();
    const article = await api.createArticle(author.token);
    expect(await articleHere(article.slug, reader.token)).toMatchObject({ favorited: false, favoritesCount: 0, author: { bio: null } });

    await elsewhere.request('PUT', `/api/articles/${article.slug}`, { token: author.token, body: { article: { body: 'Edited elsewhere' } } });
    expect((await articleHere(article.slug, reader.token)).body).toBe('Edited elsewhere');

    await elsewhere.request('POST', `/api/articles/${article.slug}/favorite`, { token: reader.token });
    expect(await articleHere(article.slug, reader.token)).toMatchObject({ favorited: true, favoritesCount: 1 });
    const readersList = await api.request<{ articles: ArticleJson[] }>('GET', `/api/articles?author=${author.username}`, { token: reader.token });
    expect(readersList.body.articles[0]).toMatchObject({ slug: article.slug, favorited: true, favoritesCount: 1 });

    await elsewhere.request('PUT', '/api/user', { token: author.token, body: { user: { bio: 'Bio written elsewhere' } } });
    expect((await articleHere(article.slug)).author.bio).toBe('Bio written elsewhere');
    const profile = await api.request<{ profile: { bio: string } }>('GET', `/api/profiles/${author.username}`);
    expect(profile.body.profile.bio).toBe('Bio written elsewhere');
  });

  it('shows a comment and a follow made on another replica at once, in comments, profile and feed', async () => {
    const author = await api.register();
    const reader = await api.register();
    const article = await api.createArticle(author.token);
    const emptyComments = await api.request<{ comments: unknown[] }>('GET', `/api/articles/${article.slug}/comments`, { token: reader.token });
    const emptyFeed = await api.request<{ articles: ArticleJson[] }>('GET', '/api/articles/feed', { token: reader.token });
    expect(emptyComments.body.comments).toEqual([]);
    expect(emptyFeed.body.articles).toEqual([]);

    await elsewhere.request('POST', `/api/articles/${article.slug}/comments`, { token: author.token, body: { comment: { body: 'From elsewhere' } } });
    await elsewhere.request('POST', `/api/profiles/${author.username}/follow`, { token: reader.token });

    const comments = await api.request<{ comments: { body: string; author: { following: boolean } }[] }>('GET', `/api/articles/${article.slug}/comments`, { token: reader.token });
    expect(comments.body.comments).toMatchObject([{ body: 'From elsewhere', author: { following: true } }]);
    const profile = await api.request<{ profile: { following: boolean } }>('GET', `/api/profiles/${author.username}`, { token: reader.token });
    expect(profile.body.profile.following).toBe(true);
    const feed = await api.request<{ articles: ArticleJson[]; articlesCount: number }>('GET', '/api/articles/feed', { token: reader.token });
    expect(feed.body.articles.map((entry) => entry.slug)).toEqual([article.slug]);
    expect(feed.body.articlesCount).toBe(1);
  });

  it('never shows one viewer the answer made for another', async () => {
    const author = await api.register();
    const fan = await api.register();
    const stranger = await api.register();
    const article = await api.createArticle(author.token, { tagList: [uniqueName('tag')] });
    await api.request('POST', `/api/articles/${article.slug}/favorite`, { token: fan.token });
    const path = `/api/articles?tag=${article.tagList[0]}`;

    const asFan = await api.request<{ articles: ArticleJson[] }>('GET', path, { token: fan.token });
    const asStranger = await api.request<{ articles: ArticleJson[] }>('GET', path, { token: stranger.token });
    const anonymous = await api.request<{ articles: ArticleJson[] }>('GET', path);

    expect(asFan.body.articles[0]!.favorited).toBe(true);
    expect(asStranger.body.articles[0]!.favorited).toBe(false);
    expect(anonymous.body.articles[0]!.favorited).toBe(false);
    expect((await articleHere(article.slug, fan.token)).favorited).toBe(true);
    expect((await articleHere(article.slug, stranger.token)).favorited).toBe(false);
  });

  it('refuses a token at once on a read after its password was changed on another replica', async () => {
    const user = await api.register();
    expect((await api.request('GET', '/api/user', { token: user.token })).status).toBe(200);
    expect((await api.request('GET', '/api/articles', { token: user.token })).status).toBe(200);

    const changed = await elsewhere.request('PUT', '/api/user', { token: user.token, body: { user: { password: 'Another-Pass-42' } } });
    expect(changed.status).toBe(200);

    expect((await api.request('GET', '/api/user', { token: user.token })).status).toBe(401);
    expect((await api.request('GET', '/api/articles', { token: user.token })).status).toBe(401);
  });

  it('does not keep a 404: an article published after a miss is found at once', async () => {
    const author = await api.register();
    const title = `Not yet ${uniqueName('t')}`;
    const slug = title.toLowerCase().replaceAll(' ', '-');
    expect((await api.request('GET', `/api/articles/${slug}`)).status).toBe(404);

    const published = await elsewhere.createArticle(author.token, { title });

    expect(published.slug).toBe(slug);
    expect((await api.request('GET', `/api/articles/${slug}`)).status).toBe(200);
  });
});

describe('conditional reads (ETag, If-None-Match)', () => {
  async function tagOf(url: string, token?: string): Promise<string> {
    const response = await api.request('GET', url, token === undefined ? {} : { token });
    expect(response.status).toBe(200);
    expect(response.headers.etag).toMatch(/^"[\w-]{27}"$/);
    return String(response.headers.etag);
  }

  function conditional(url: string, ifNoneMatch: string, options: { token?: string; conduit?: Conduit; headers?: Record<string, string> } = {}) {
    return (options.conduit ?? api).request('GET', url, { ...(options.token === undefined ? {} : { token: options.token }), headers: { 'if-none-match': ifNoneMatch, ...options.headers } });
  }

  it('answers 304 with no body to a request naming the current tag, on every cached read route', async () => {
    const author = await api.register();
    const reader = await api.register();
    const article = await api.createArticle(author.token);
    await api.request('POST', `/api/profiles/${author.username}/follow`, { token: reader.token });
    const reads: [string, string | undefined][] = [
      ['/api/articles?limit=5', undefined],
      ['/api/articles/feed', reader.token],
      [`/api/articles/${article.slug}`, reader.token],
      [`/api/articles/${article.slug}/comments`, undefined],
      [`/api/profiles/${author.username}`, reader.token],
    ];
    for (const [url, token] of reads) {
      const etag = await tagOf(url, token);

      const again = await conditional(url, etag, { token });

      expect(again.status, url).toBe(304);
      expect(again.text, url).toBe('');
      expect(again.headers.etag, url).toBe(etag);
    }
  });

  it('matches weak tags and lists as RFC 9110 says, and answers in full to a stale tag or no-cache', async () => {
    const url = '/api/articles?limit=4';
    const etag = await tagOf(url);

    expect((await conditional(url, `W/${etag}`)).status).toBe(304);
    expect((await conditional(url, `"stale", ${etag}`)).status).toBe(304);
    expect((await conditional(url, '*')).status).toBe(304);
    expect((await conditional(url, '"stale"')).status).toBe(200);
    const forced = await conditional(url, etag, { headers: { 'cache-control': 'no-cache' } });
    expect(forced.status).toBe(200);
    expect(forced.text).not.toBe('');
  });

  it('gives a changed answer a new tag at once, after a write on another replica; an unchanged one keeps its tag', async () => {
    const author = await api.register();
    const article = await api.createArticle(author.token);
    const url = `/api/articles/${article.slug}`;
    const etag = await tagOf(url);

    await elsewhere.register();
    expect((await conditional(url, etag)).status).toBe(304);

    await elsewhere.request('PUT', url, { token: author.token, body: { article: { body: 'Edited elsewhere' } } });
    const changed = await conditional(url, etag);
    expect(changed.status).toBe(200);
    expect((changed.body as { article: ArticleJson }).article.body).toBe('Edited elsewhere');
    expect(changed.headers.etag).not.toBe(etag);
  });

  it('lets caches keep an answer only to revalidate it, a viewer\'s privately, selected by Authorization', async () => {
    const reader = await api.register();
    const anonymous = await api.request('GET', '/api/articles?limit=2');
    const signedIn = await api.request('GET', '/api/articles?limit=2', { token: reader.token });

    expect(anonymous.headers['cache-control']).toBe('no-cache');
    expect(signedIn.headers['cache-control']).toBe('private, no-cache');
    for (const response of [anonymous, signedIn]) expect(String(response.headers.vary).split(/, */)).toContain('Authorization');
    const notModified = await conditional('/api/articles?limit=2', String(signedIn.headers.etag), { token: reader.token });
    expect(notModified.status).toBe(304);
    expect(notModified.headers['cache-control']).toBe('private, no-cache');
    expect(String(notModified.headers.vary).split(/, */)).toContain('Authorization');
  });

  it('answers HEAD as GET: 304 for a current tag, with no Content-Length other than the full answer\'s', async () => {
    const url = '/api/articles?limit=3';
    const full = await api.request('GET', url);

    const head = await api.request('HEAD', url, { headers: { 'if-none-match': String(full.headers.etag) } });

    expect(head.status).toBe(304);
    expect([undefined, String(Buffer.byteLength(full.text))]).toContain(head.headers['content-length'] === undefined ? undefined : String(head.headers['content-length']));
  });

  it('tags what each viewer sees: a reader who favorited gets a different tag from an anonymous one', async () => {
    const author = await api.register();
    const reader = await api.register();
    const article = await api.createArticle(author.token);
    await api.request('POST', `/api/articles/${article.slug}/favorite`, { token: reader.token });
    const url = `/api/articles/${article.slug}`;

    const anonymousTag = await tagOf(url);

    expect((await conditional(url, anonymousTag, { token: reader.token })).status).toBe(200);
  });

  it('tags the same bytes the same way with the response cache off', async () => {
    const uncached = await createTestApp({ env: { RESPONSE_CACHE_SIZE: '0' }, storage: here.storage });
    try {
      const url = '/api/articles?limit=2';
      const etag = await tagOf(url);
      const reader = new Conduit(() => uncached.app);

      expect((await conditional(url, etag, { conduit: reader })).status).toBe(304);
    } finally {
      await uncached.close();
    }
  });
});

describe('RESPONSE_CACHE_SIZE', () => {
  it('0 turns the cache off: a repeated read is computed again, with the same answer', async () => {
    const uncached = await createTestApp({ env: { RESPONSE_CACHE_SIZE: '0' }, storage: here.storage });
    try {
      const reader = new Conduit(() => uncached.app);
      const first = await reader.request('GET', '/api/articles?limit=2');
      const before = await cacheLookups(uncached.app);

      const second = await reader.request('GET', '/api/articles?limit=2');

      expect(await cacheLookups(uncached.app)).toEqual({ hit: 0, miss: before.miss + 1 });
      expect(second.text).toBe(first.text);
    } finally {
      await uncached.close();
    }
  });
});
