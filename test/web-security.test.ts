import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { Conduit, uniqueName } from './helpers/conduit.ts';
import { createTestApp, useTestApp } from './helpers/app.ts';
import { text, WebClient } from './helpers/browser.ts';

const SESSION_COOKIE = 'shipshape.sid';

const testApp = useTestApp();

async function authorWithArticle() {
  const browser = new WebClient(testApp.app);
  const credentials = await browser.signUp();
  await browser.get('/editor');
  const created = await browser.post('/editor', { title: `Guarded ${uniqueName()}`, description: 'd', body: 'b', tags: '' });
  return { browser, credentials, location: created.location! };
}

describe('CSRF protection', () => {
  it.each([
    ['sign-in', '/login', { email: 'a@example.com', password: 'x' }],
    ['sign-up', '/register', { username: 'csrfvictim', email: 'csrfvictim@example.com', password: 'Csrf-Victim-1' }],
  ])('refuses a %s form without a valid token with 403', async (_form, url, fields) => {
    const browser = new WebClient(testApp.app);
    await browser.get(url);

    const missing = await browser.post(url, { ...fields, _csrf: '' });
    const forged = await browser.post(url, { ...fields, _csrf: 'forged-token' });

    expect(missing.status).toBe(403);
    expect(forged.status).toBe(403);
    expect(text(forged.document.querySelector('.error-page'))).toContain('This form has expired or did not come from this site');
    expect(await testApp.app.db.selectFrom('users').select('id').where('username', '=', 'csrfvictim').execute()).toEqual([]);
  });

  it('refuses a state-changing post from a signed-in user without the token, and changes nothing', async () => {
    const { browser, location } = await authorWithArticle();
    const slug = location.split('/').at(-1)!;

    const comment = await browser.post(`${location}/comments`, { body: 'forged', _csrf: 'nope' });
    const favorite = await browser.post(`${location}/favorite`, { _csrf: 'nope' });
    const remove = await browser.post(`${location}/delete`, { _csrf: 'nope' });
    const settings = await browser.postMultipart('/settings', { _csrf: 'nope', username: 'renamed', email: 'x@example.com', bio: '', image: '', password: '' });

    expect([comment.status, favorite.status, remove.status, settings.status]).toEqual([403, 403, 403, 403]);
    const article = await new Conduit(testApp.app).request<{ article: { favoritesCount: number } }>('GET', `/api/articles/${slug}`);
    expect(article.status).toBe(200);
    expect(article.body.article.favoritesCount).toBe(0);
    const comments = await new Conduit(testApp.app).request<{ comments: unknown[] }>('GET', `/api/articles/${slug}/comments`);
    expect(comments.body.comments).toEqual([]);
  });

  it('refuses a token from another browser (tokens are bound to the browser\'s secret cookie)', async () => {
    const { browser, location } = await authorWithArticle();
    const attacker = new WebClient(testApp.app);
    await attacker.get('/login');

    const page = await browser.post(`${location}/favorite`, { _csrf: attacker.csrfToken! });

    expect(page.status).toBe(403);
  });

  it('refuses sign-out without the token (no logout CSRF)', async () => {
    const { browser } = await authorWithArticle();

    const page = await browser.post('/logout', { _csrf: 'nope' });
    const stillIn = await browser.get('/settings');

    expect(page.status).toBe(403);
    expect(stillIn.status).toBe(200);
  });
});

describe('security headers on pages', () => {
  it('sends a Content-Security-Policy without unsafe-inline, and helmet\'s other headers', async () => {
    const page = await new WebClient(testApp.app).get('/');
    const csp = String(page.headers['content-security-policy']);

    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.html).not.toMatch(/<script|style="|onclick=/i);
  });
});

describe('error pages', () => {
  it('answers unknown pages with an HTML 404 to browsers and JSON to API clients', async () => {
    const html = await new WebClient(testApp.app).get('/no/such/page');
    const json = await testApp.app.inject({ method: 'GET', url: '/no/such/page', headers: { accept: 'application/json' } });

    expect(html.status).toBe(404);
    expect(text(html.document.querySelector('h1'))).toBe('Page not found');
    expect(json.statusCode).toBe(404);
    expect(json.json()).toEqual({ errors: { route: ['no route for GET /no/such/page'] } });
  });

  it('shows a 500 page quoting the request id, without the detail', async () => {
    const faulty = await createTestApp();
    try {
      const browser = new WebClient(faulty.app);
      await browser.signUp();
      await sql`drop table comments`.execute(faulty.app.db);
      await browser.get('/editor');
      const created = await browser.post('/editor', { title: 'Doomed', description: 'd', body: 'b', tags: '' });

      const page = await browser.get(created.location!);

      expect(page.status).toBe(500);
      expect(text(page.document.querySelector('h1'))).toBe('Something went wrong');
      expect(text(page.document.querySelector('.error-page'))).toMatch(/quote request id [0-9a-f-]{36}/);
      expect(page.html).not.toMatch(/comments|SQL|stack/i);
    } finally {
      await faulty.close();
    }
  });
});

describe('CSRF tokens are bound to the session', () => {
  it('refuses a victim\'s session cookie with an attacker\'s own CSRF cookie and token (cookie tossing)', async () => {
    const { browser: victim, location } = await authorWithArticle();
    const attacker = new WebClient(testApp.app);
    await attacker.signUp();
    await attacker.get(location);
    // The attacker plants their CSRF cookie in the victim's browser (from a sibling subdomain,
    // say) and makes it submit their token: only the session cookie is the victim's.
    attacker.setCookie(SESSION_COOKIE, victim.cookie(SESSION_COOKIE)!);

    const favorite = await attacker.post(`${location}/favorite`);

    expect(favorite.status).toBe(403);
    const slug = location.split('/').at(-1)!;
    const article = await new Conduit(testApp.app).request<{ article: { favoritesCount: number } }>('GET', `/api/articles/${slug}`);
    expect(article.body.article.favoritesCount).toBe(0);
  });

  it('accepts the token the same session was given', async () => {
    const { browser, location } = await authorWithArticle();
    await browser.get(location);

    const favorite = await browser.post(`${location}/favorite`);

    expect(favorite.status).toBe(303);
  });
});
