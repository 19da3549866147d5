import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_LINE } from '../src/features/admin/service.ts';
import type { RouteEntry } from '../src/plugins/app/route-table.ts';
import { createTestApp, dialectUnderTest, type TestApp } from './helpers/app.ts';
import { WebClient } from './helpers/browser.ts';
import { Conduit, STRONG_PASSWORD, uniqueName } from './helpers/conduit.ts';

/**
 * Walks every route the app mounts (its route table, not a list kept by hand) and checks the
 * deny-by-default rules: what anyone may reach is exactly the list below; every other API route
 * wants a token; every other page wants a session; every form post wants its CSRF token and
 * changes nothing without it; every /admin route is for admins only.
 */
const PUBLIC_ROUTES = [
  // operations, documentation and static files
  'GET /healthz',
  'GET /readyz',
  'GET /version',
  'GET /metrics',
  'GET /api/openapi.json',
  'GET /docs/',
  'GET /docs/json',
  'GET /docs/yaml',
  'GET /docs/static/index.html',
  'GET /docs/static/swagger-initializer.js',
  'GET /docs/static/*',
  'GET /assets/app.css',
  'GET /assets/avatar.svg',
  'GET /assets/favicon.svg',
  'GET /images/:hash',
  // the API: registration, sign-in and reading
  'POST /api/users',
  'POST /api/users/login',
  'GET /api/profiles/:username',
  'GET /api/articles',
  'GET /api/articles/:slug',
  'GET /api/articles/:slug/comments',
  'GET /api/tags',
  // the web pages: reading, signing up, in and out
  'GET /',
  'GET /article/:slug',
  'GET /profile/:username',
  'GET /profile/:username/favorites',
  'GET /login',
  'POST /login',
  'GET /register',
  'POST /register',
  'POST /logout',
];

let testApp: TestApp;
let routes: RouteEntry[];
const real = { slug: '', commentId: '', userId: '', username: '' };
let admin: WebClient;
let adminToken: string;

beforeAll(async () => {
  testApp = await createTestApp();
  routes = testApp.app.routeTable.filter((route) => route.method !== 'HEAD');
  const api = new Conduit(testApp.app);
  const username = uniqueName('inventory');
  await testApp.app.admin.createAdmin(COMMAND_LINE, { email: `${username}@example.com`, username, password: STRONG_PASSWORD });
  adminToken = (await api.request<{ user: { token: string } }>('POST', '/api/users/login', { body: { user: { email: `${username}@example.com`, password: STRONG_PASSWORD } } })).body.user.token;
  const article = await api.createArticle(adminToken);
  const comment = await api.request<{ comment: { id: number } }>('POST', `/api/articles/${article.slug}/comments`, { token: adminToken, body: { comment: { body: 'c' } } });
  const other = await api.register();
  const otherId = await testApp.app.db.selectFrom('users').select('id').where('username', '=', other.username).executeTakeFirstOrThrow();
  Object.assign(real, { slug: article.slug, commentId: String(comment.body.comment.id), userId: String(otherId.id), username: other.username });
  admin = new WebClient(testApp.app);
  await admin.signIn(`${username}@example.com`, STRONG_PASSWORD);
});
afterAll(() => testApp.close());

const name = (route: RouteEntry) => `${route.method} ${route.url}`;
const isApi = (route: RouteEntry) => route.url.startsWith('/api/') && route.url !== '/api/openapi.json';
const isWebPage = (route: RouteEntry) => !isApi(route) && route.schema?.hide === true;

/** The route's URL with real values in its parameters, so a request would reach a real thing. */
function urlOf(route: RouteEntry): string {
  return route.url
    .replace(':slug', real.slug)
    .replace(':username', real.username)
    .replace(':hash', 'a'.repeat(64))
    .replace('*', 'index.html')
    .replace(':id', route.url.includes('/users/') ? real.userId : real.commentId);
}

/** A digest of everything a request could change (sessions and counters aside, which any visit touches). */
async function databaseDigest(): Promise<string> {
  const tables =
    dialectUnderTest === 'postgres'
      ? await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public'`.execute(testApp.app.db)
      : await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(testApp.app.db);
  const hash = createHash('sha256');
  for (const { name: table } of tables.rows.sort((a, b) => a.name.localeCompare(b.name))) {
    if (['sessions', 'request_counters', 'sign_in_failures'].includes(table)) continue;
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(testApp.app.db);
    hash.update(table).update(JSON.stringify(rows.rows.map((row) => JSON.stringify(row)).sort()));
  }
  return hash.digest('hex');
}

describe('route inventory', () => {
  it('mounts the routes this test knows of, API and web', () => {
    expect(routes.filter(isApi).length).toBeGreaterThanOrEqual(19);
    expect(routes.filter(isWebPage).length).toBeGreaterThanOrEqual(30);
    for (const route of PUBLIC_ROUTES) expect(routes.map(name), route).toContain(route);
  });

  it('lets anonymous visitors reach exactly the public list: every other API route wants a token, every other page (admin pages too) sends them to sign in', async () => {
    const anonymous = new WebClient(testApp.app);
    await anonymous.get('/login');
    const reachable: string[] = [];
    for (const route of routes) {
      const url = urlOf(route);
      let guarded: boolean;
      if (isApi(route)) {
        const response = await testApp.app.inject({ method: route.method as 'GET', url, headers: { 'content-type': 'application/json' }, payload: route.method === 'GET' ? undefined : '{}' });
        guarded = response.statusCode === 401;
        if (guarded) expect(JSON.parse(response.body), name(route)).toEqual({ errors: { token: [expect.any(String)] } });
      } else if (route.method === 'GET') {
        const page = await anonymous.get(url);
        guarded = page.status === 303 && page.location === `/login?next=${encodeURIComponent(url)}`;
      } else {
        // With a valid (signed-out) CSRF token, so only the sign-in requirement can stop it.
        const page = await anonymous.post(url, { back: '/' });
        guarded = page.status === 303 && page.location === '/login';
      }
      if (!guarded) reachable.push(name(route));
    }

    expect(reachable.sort()).toEqual([...PUBLIC_ROUTES].sort());
  });

  it('answers 401 on every non-public API route called without a token, and with a forged one', async () => {
    const guarded = routes.filter((route) => isApi(route) && !PUBLIC_ROUTES.includes(name(route)));
    expect(guarded.length).toBeGreaterThanOrEqual(12);
    for (const route of guarded) {
      for (const authorization of [undefined, `Token ${adminToken}x`]) {
        const response = await testApp.app.inject({ method: route.method as 'GET', url: urlOf(route), headers: authorization ? { authorization } : {} });
        expect(response.statusCode, `${name(route)} ${authorization ?? 'no token'}`).toBe(401);
      }
    }
  });

  it('refuses every web form post without a valid CSRF token with 403, and nothing changes', async () => {
    const posts = routes.filter((route) => isWebPage(route) && route.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(15);
    await admin.get('/settings');
    const before = await databaseDigest();
    for (const route of posts) {
      // As the signed-in admin who wrote the article and comment: with the token, each would succeed.
      for (const token of [undefined, 'forged-token']) {
        const fields = { back: '/', title: 'Changed', description: 'Changed', body: 'Changed', tags: 'changed', username: 'changed', email: 'changed@example.com', password: STRONG_PASSWORD };
        const saved = admin.csrfToken;
        admin.csrfToken = undefined;
        const page = await admin.post(urlOf(route), token === undefined ? fields : { ...fields, _csrf: token });
        admin.csrfToken = saved;
        expect(page.status, `${name(route)} ${token ?? 'no token'}`).toBe(403);
      }
    }
    expect(await databaseDigest()).toBe(before);
    expect((await admin.get('/settings')).status).toBe(200);
  });

  it('answers 403 on every /admin route to a signed-in non-admin', async () => {
    const adminRoutes = routes.filter((route) => route.url.startsWith('/admin'));
    expect(adminRoutes.length).toBeGreaterThanOrEqual(9);
    const user = new WebClient(testApp.app);
    await user.signUp();
    await user.get('/settings');
    for (const route of adminRoutes) {
      const page = route.method === 'GET' ? await user.get(urlOf(route)) : await user.post(urlOf(route), { back: '/' });
      expect(page.status, name(route)).toBe(403);
    }
  });
});
