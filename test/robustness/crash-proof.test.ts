import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createTestStorage, TEST_JWT_SECRET, TEST_SESSION_SECRET, type TestStorage } from '../helpers/app.ts';
import { text, WebClient } from '../helpers/browser.ts';
import { injectWriteFault } from '../helpers/faults.ts';
import { startTestServer, type TestServer } from '../helpers/process.ts';

/**
 * Requests that once ended the process, sent to the real server process: each must get an
 * answer, and the server must still serve afterwards.
 */
let storage: TestStorage;
let server: TestServer;

beforeAll(async () => {
  storage = await createTestStorage();
  server = await startTestServer({
    DATA_DIR: storage.dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    SESSION_SECRET: TEST_SESSION_SECRET,
    ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl } : {}),
  });
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  await storage.remove();
});

async function stillServing(): Promise<void> {
  const health = await fetch(`${server.baseUrl}/healthz`);
  expect(health.status).toBe(200);
  expect(server.alive()).toBe(true);
}

async function signedInBrowser(): Promise<{ browser: WebClient; email: string; password: string }> {
  const browser = new WebClient(server.baseUrl);
  const { email, password } = await browser.signUp();
  return { browser, email, password };
}

describe('redirect targets from the client', () => {
  it.each([
    ['non-ASCII text', '/日'],
    ['a newline', '/\n'],
    ['a tab before another host', '/\t/evil.com'],
    ['a tab and a backslash before another host', '/\t\\evil.com'],
  ])('signing in with ?next= holding %s redirects home and the server keeps serving', async (_case, next) => {
    const { email, password } = await signedInBrowser();
    const browser = new WebClient(server.baseUrl);

    await browser.get('/login');
    const page = await browser.post(`/login?next=${encodeURIComponent(next)}`, { email, password });

    expect(page.status).toBe(303);
    expect(page.location).toBe('/');
    await stillServing();
  });

  it('a favorite form whose back field holds a line separator returns to the article', async () => {
    const { browser } = await signedInBrowser();
    await browser.get('/editor');
    const created = await browser.post('/editor', { title: 'Crash me not', description: 'd', body: 'b', tags: '' });
    const article = created.location!;
    await browser.get(article);

    const page = await browser.post(`${article}/favorite`, { back: '/é\u2028x' });

    expect(page.status).toBe(303);
    expect(page.location).toBe(article);
    await stillServing();
  });
});

describe('failures outside the request chain become a 500 for that request', () => {
  it('a session that cannot be saved fails the sign-in with 500, and later sign-ins work', async () => {
    const { email, password } = await signedInBrowser();
    const removeFault = await injectWriteFault(storage, 'sessions', 'insert');
    const browser = new WebClient(server.baseUrl);
    await browser.get('/login');

    const failed = await browser.post('/login', { email, password });
    await removeFault();
    await browser.get('/login');
    const retried = await browser.post('/login', { email, password });

    expect(failed.status).toBe(500);
    expect(text(failed.document.querySelector('h1'))).toBe('Something went wrong');
    expect(retried.status).toBe(303);
    await stillServing();
  });

  it('an avatar upload whose image cannot be stored fails with 500, and the server keeps serving', async () => {
    const { browser, email } = await signedInBrowser();
    await browser.get('/settings');
    const removeFault = await injectWriteFault(storage, 'images', 'insert');
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

    const page = await browser.postMultipart('/settings', { username: email.split('@')[0]!, email, bio: '', image: '', password: '' }, {
      field: 'avatar',
      filename: 'me.png',
      contentType: 'image/png',
      data: Buffer.concat([png, Buffer.alloc(64)]),
    });
    await removeFault();

    expect(page.status).toBe(500);
    await stillServing();
  });
});

describe('a response header HTTP forbids', () => {
  it('becomes a 500 for that request, with the detail in the log, and the next request is served', async () => {
    const testApp = await createTestApp({
      configure: (app) => {
        app.get('/test/bad-header', async (_request, reply) => reply.header('x-echo', 'line\nbreak').send({ ok: true }));
      },
    });
    try {
      const bad = await testApp.app.inject({ method: 'GET', url: '/test/bad-header' });
      const next = await testApp.app.inject({ method: 'GET', url: '/healthz' });

      expect(bad.statusCode).toBe(500);
      expect(bad.headers['x-echo']).toBeUndefined();
      expect(bad.json()).toEqual({ errors: { server: [expect.stringMatching(/^internal error; quote request id/)] } });
      expect(testApp.logs).toContainEqual(expect.objectContaining({ level: 'error', header: 'x-echo', msg: 'refused to send a response header' }));
      expect(next.statusCode).toBe(200);
    } finally {
      await testApp.close();
    }
  });
});
