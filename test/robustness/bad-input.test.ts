import { describe, expect, it } from 'vitest';
import { createListeningTestApp, useTestApp } from '../helpers/app.ts';
import { text, WebClient } from '../helpers/browser.ts';
import { Conduit } from '../helpers/conduit.ts';

/** A clumsy or hostile client's requests: each is the client's mistake and gets a 4xx, never a 500. */
const testApp = useTestApp();
const api = new Conduit(() => testApp.app);

function errorLines() {
  return testApp.logs.filter((line) => line.level === 'error' || line.level === 'fatal');
}

describe('malformed multipart bodies', () => {
  it.each([
    ['no boundary', 'multipart/form-data', 'x'],
    ['a boundary and garbage', 'multipart/form-data; boundary=abc', 'garbage'],
    ['a body cut short', 'multipart/form-data; boundary=abc', '--abc\r\nContent-Disposition: form-data; name="email"\r\n\r\nx'],
  ])('a sign-in form with %s gets 400, logged as the client\'s mistake', async (_case, contentType, payload) => {
    const before = errorLines().length;
    const page = await new WebClient(testApp.app).postRaw('/login', contentType, payload);

    expect(page.status).toBe(400);
    expect(text(page.document.querySelector('h1'))).toBe('That request did not make sense');
    expect(errorLines().length).toBe(before);
  });
});

describe('the settings form\'s avatar', () => {
  async function settingsBrowser() {
    const browser = new WebClient(testApp.app);
    const credentials = await browser.signUp();
    await browser.get('/settings');
    return { browser, credentials };
  }

  it('sent as a text part is refused with 422 next to the field', async () => {
    const { browser, credentials } = await settingsBrowser();

    const page = await browser.postMultipart('/settings', { username: credentials.username, email: credentials.email, avatar: 'not a file' });

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#avatar-error'))).toContain('must be a file');
  });

  it('sent as a url-encoded field is refused with 422 next to the field', async () => {
    const { browser, credentials } = await settingsBrowser();

    const page = await browser.post('/settings', { username: credentials.username, email: credentials.email, avatar: 'x' });

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#avatar-error'))).toContain('must be a file');
  });

  it.each([
    ['an object', { filename: 'a.png', data: 'x' }],
    ['an array', ['a', 'b']],
  ])('sent in JSON as %s is refused with 422 next to the field', async (_case, avatar) => {
    const { browser, credentials } = await settingsBrowser();

    const page = await browser.postRaw('/settings', 'application/json', JSON.stringify({ _csrf: browser.csrfToken, username: credentials.username, email: credentials.email, avatar }));

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#avatar-error'))).toContain('must be a file');
  });
});

describe('URLs the router cannot take', () => {
  it.each([
    ['/api/profiles/%ff', 400, { url: ['is not a valid address: a percent-escape does not decode to text'] }],
    [`/api/articles/${'a'.repeat(300)}`, 414, { url: ['has a path segment that is too long'] }],
  ])('the API answers %s in the unified format', async (url, status, errors) => {
    const response = await api.request('GET', url);

    expect(response.status).toBe(status);
    expect(response.body).toEqual({ errors });
  });

  it.each([
    ['/article/%ff%fe', 400, 'That request did not make sense'],
    [`/article/${'a'.repeat(300)}`, 414, 'Address too long'],
  ])('a browser gets the error page for %s', async (url, status, heading) => {
    const page = await new WebClient(testApp.app).get(url);

    expect(page.status).toBe(status);
    expect(text(page.document.querySelector('h1'))).toBe(heading);
  });

  it('a 100 KB query string gets 431 in the unified format: JSON for the API, the error page for a browser', async () => {
    const listening = await createListeningTestApp();
    try {
      const query = `?q=${'a'.repeat(100_000)}`;
      const fromApi = await fetch(`${listening.baseUrl}/api/articles${query}`);
      const fromBrowser = await fetch(`${listening.baseUrl}/${query}`, { headers: { accept: 'text/html' } });

      expect(fromApi.status).toBe(431);
      expect(await fromApi.json()).toEqual({ errors: { request: ['has an address or headers larger than the server accepts'] } });
      expect(fromBrowser.status).toBe(431);
      expect(await fromBrowser.text()).toContain('<h1>Request too large</h1>');
    } finally {
      await listening.close();
    }
  });
});

describe('numbers in the query and the path', () => {
  it.each(['1.5', '0x10', ' 1', '1e1', '+1', '', 'one'])('refuses limit=%j with 422: only plain decimal integers', async (limit) => {
    const response = await api.request('GET', `/api/articles?limit=${encodeURIComponent(limit)}`);

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { limit: ['must be an integer'] } });
  });

  it('still takes a plain decimal integer', async () => {
    const response = await api.request('GET', '/api/articles?limit=2&offset=0');

    expect(response.status).toBe(200);
  });

  it('refuses a page number that is not a plain decimal integer on the web pages', async () => {
    const page = await new WebClient(testApp.app).get('/?page=0x2');

    expect(page.status).toBe(400);
  });
});

// Found by the schema-driven fuzzer (test/robustness/fuzz.test.ts).
describe('NUL characters', () => {
  it.each([
    ['an article title', 'POST', '/api/articles', { article: { title: 'a\u0000b', description: 'd', body: 'b' } }, 'title'],
    ['a tag', 'POST', '/api/articles', { article: { title: 't', description: 'd', body: 'b', tagList: ['x\u0000'] } }, '1'],
    ['a bio', 'PUT', '/api/user', { user: { bio: '\u0000' } }, 'bio'],
  ] as const)('in %s are refused with 422 naming the field (PostgreSQL cannot store them)', async (_case, method, url, body, field) => {
    const { token } = await api.register();
    const before = errorLines().length;

    const response = await api.request<{ errors: Record<string, string[]> }>(method, url, { token, body });

    expect(response.status).toBe(422);
    expect(response.body.errors[field === '1' ? 'tagList' : field] ?? Object.values(response.body.errors)[0]).toEqual(['must not contain NUL characters']);
    expect(errorLines().length).toBe(before);
  });

  it('in a path or query parameter are refused: 422 on the API, 400 on the web pages', async () => {
    expect((await api.request('GET', '/api/profiles/a%00b')).status).toBe(422);
    expect((await api.request('GET', '/api/articles?tag=%00')).status).toBe(422);
    expect((await new WebClient(testApp.app).get('/?tag=%00')).status).toBe(400);
  });
});

describe('Swagger UI\'s static files', () => {
  it('a missing one is a 404 (JSON, or the error page for a browser), not a 500', async () => {
    const before = errorLines().length;

    const json = await api.request<{ errors: Record<string, string[]> }>('GET', '/docs/static/missing.js');
    const page = await new WebClient(testApp.app).get('/docs/static/*');

    expect(json.status).toBe(404);
    expect(json.body.errors.route).toEqual(['no route for GET /docs/static/missing.js']);
    expect(page.status).toBe(404);
    expect(text(page.document.querySelector('h1'))).toBe('Page not found');
    expect((await api.request('GET', '/docs/static/swagger-initializer.js')).status).toBe(200);
    expect(errorLines().length).toBe(before);
  });
});
