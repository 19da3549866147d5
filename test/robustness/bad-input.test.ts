import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { text, WebClient } from '../helpers/browser.ts';
import { Conduit } from '../helpers/conduit.ts';

/** A clumsy or hostile client's requests: each is the client's mistake and gets a 4xx, never a 500. */
let testApp: TestApp;
let api: Conduit;

beforeAll(async () => {
  testApp = await createTestApp();
  api = new Conduit(testApp.app);
});
afterAll(() => testApp.close());

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
