import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { Conduit, STRONG_PASSWORD, uniqueName } from './helpers/conduit.ts';
import { createTestApp, useTestApp } from './helpers/app.ts';

const testApp = useTestApp({ env: { BODY_LIMIT: '4kb' } });
const api = new Conduit(() => testApp.app);

describe('bad input never yields a 5xx', () => {
  it('answers malformed JSON with 400 and a JSON error', async () => {
    const response = await api.request('POST', '/api/users', { rawBody: '{"user": {"email": ' });

    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toContain('application/json');
    expect(response.body).toEqual({ errors: { body: ['is not valid JSON'] } });
  });

  it('refuses JSON that tries prototype poisoning', async () => {
    const response = await api.request('POST', '/api/users', {
      rawBody: '{"user": {"username": "x", "email": "x@example.com", "password": "Aa1aaaaaaa", "__proto__": {"admin": true}}}',
    });

    expect(response.status).toBe(400);
  });

  it('answers a body over BODY_LIMIT with 413', async () => {
    const author = await api.register();
    const response = await api.request('POST', '/api/articles', {
      token: author.token,
      body: { article: { title: 't', description: 'd', body: 'x'.repeat(5000) } },
    });

    expect(response.status).toBe(413);
    expect(response.body).toEqual({ errors: { body: ['is too large'] } });
  });

  it('answers an unsupported content type with 415', async () => {
    const response = await api.request('POST', '/api/users', { rawBody: 'user=x', headers: { 'content-type': 'text/plain' } });

    expect(response.status).toBe(415);
    expect(response.body).toEqual({ errors: { body: ['has an unsupported content type; send application/json'] } });
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await api.request('GET', '/api/nothing-here?x=1');

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ errors: { route: ['no route for GET /api/nothing-here'] } });
  });

  it('answers a POST without a body where one is required with 422', async () => {
    const response = await api.request('POST', '/api/users', { headers: { 'content-type': 'application/json' } });

    expect(response.status).toBe(422);
  });

  it('answers a JSON array or string where an object is expected with 422', async () => {
    const array = await api.request('POST', '/api/users', { rawBody: '[1,2]' });
    const nested = await api.request('POST', '/api/users', { body: { user: 'jake' } });

    expect(array.status).toBe(422);
    expect(nested.status).toBe(422);
    expect(nested.body).toEqual({ errors: { user: ['must be an object'] } });
  });

  it('accepts a trailing slash on a route', async () => {
    const response = await api.request('GET', '/api/tags/');

    expect(response.status).toBe(200);
  });
});

describe('server faults', () => {
  it('answers 500 with a request id to quote, and logs the detail, not the client', async () => {
    const faulty = await createTestApp();
    try {
      const client = new Conduit(faulty.app);
      const user = await client.register({ password: STRONG_PASSWORD, username: uniqueName() });
      const article = await client.createArticle(user.token);
      // A real fault, not a mock: the comments table disappears under the running app.
      await sql`drop table comments`.execute(faulty.app.db);

      const response = await client.request<{ errors: { server: string[] } }>('GET', `/api/articles/${article.slug}/comments`, {
        headers: { 'x-request-id': 'fault-123' },
      });

      expect(response.status).toBe(500);
      expect(response.body).toEqual({ errors: { server: ['internal error; quote request id fault-123 when reporting it'] } });
      expect(response.text).not.toMatch(/comments|SQL|stack/i);
      const logged = faulty.logs.find((line) => line.requestId === 'fault-123' && line.msg === 'request failed');
      expect(logged).toBeDefined();
      expect(JSON.stringify(logged)).toMatch(/comments/);
    } finally {
      await faulty.close();
    }
  });
});
