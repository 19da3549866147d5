import { describe, expect, it } from 'vitest';
import { STRONG_PASSWORD, uniqueName } from './helpers/conduit.ts';
import { createTestApp, useTestApp } from './helpers/app.ts';
import { text, WebClient } from './helpers/browser.ts';
import { eventually } from './helpers/wait.ts';

const testApp = useTestApp();

const SESSION_COOKIE = 'shipshape.sid';

describe('sign up', () => {
  it('creates the account, signs in and shows a welcome message', async () => {
    const browser = new WebClient(testApp.app);
    const { username } = await browser.signUp();

    const home = await browser.get('/');

    expect(text(home.document.querySelector('.flash'))).toBe(`Welcome to Conduit, ${username}.`);
    expect(text(home.document.querySelector('.site-header'))).toContain(username);
    expect(home.document.querySelector('a[href="/editor"]')).not.toBeNull();
  });

  it('shows every problem next to its field in one pass (the password rules too), keeps what was typed, and creates nothing', async () => {
    const browser = new WebClient(testApp.app);
    await browser.get('/register');
    const page = await browser.post('/register', { username: 'has space', email: 'not-an-email', password: 'weak' });

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#username-error'))).toBe('Username is invalid');
    expect(text(page.document.querySelector('#email-error'))).toBe('Email is invalid');
    expect(text(page.document.querySelector('#password-error'))).toMatch(/^Password is too short .*must contain an upper-case letter, must contain a digit$/);
    expect(page.document.querySelector('#username')?.getAttribute('value')).toBe('has space');
    expect(page.document.querySelector('#username')?.getAttribute('aria-invalid')).toBe('true');
    const users = await testApp.app.db.selectFrom('users').select('id').where('username', '=', 'has space').execute();
    expect(users).toEqual([]);
  });

  it('refuses a weak password with the policy, next to the password field', async () => {
    const browser = new WebClient(testApp.app);
    await browser.get('/register');
    const username = uniqueName('weak');
    const page = await browser.post('/register', { username, email: `${username}@example.com`, password: 'alllowercase' });

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#password-error'))).toBe('Password must contain an upper-case letter, must contain a digit');
    expect(text(page.document.querySelector('#password-hint'))).toContain('At least 8 and at most 128 characters');
  });

  it('says when a username is taken', async () => {
    const first = new WebClient(testApp.app);
    const { username } = await first.signUp();
    const second = new WebClient(testApp.app);
    await second.get('/register');

    const page = await second.post('/register', { username, email: `${uniqueName()}@example.com`, password: STRONG_PASSWORD });

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#username-error'))).toBe('Username has already been taken');
  });
});

describe('sign in and out', () => {
  it('rotates the session id at every sign-in, so an earlier id (fixation) is worthless', async () => {
    const browser = new WebClient(testApp.app);
    const { email, password } = await browser.signUp();
    const first = browser.cookie(SESSION_COOKIE)!;

    await browser.signIn(email, password);
    const second = browser.cookie(SESSION_COOKIE)!;

    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    const firstId = decodeURIComponent(first).split('.')[0]!;
    const stillThere = await testApp.app.db.selectFrom('sessions').select('id').where('id', '=', firstId).execute();
    expect(stillThere).toEqual([]);
  });

  it('destroys the session at sign-out', async () => {
    const browser = new WebClient(testApp.app);
    const { username } = await browser.signUp();
    const sessionsOf = () =>
      testApp.app.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', (eb) => eb.selectFrom('users').select('users.id').where('users.username', '=', username))
        .execute();
    expect(await sessionsOf()).toHaveLength(1);

    const signOut = await browser.signOut();
    const home = await browser.get('/');

    expect(signOut.status).toBe(303);
    expect(browser.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(await sessionsOf()).toEqual([]);
    expect(text(home.document.querySelector('.flash'))).toBe('You have signed out.');
    expect(text(home.document.querySelector('.site-header'))).toContain('Sign in');
  });

  it('sets the session cookie HttpOnly and SameSite=Lax, and not Secure over plain HTTP in tests', async () => {
    const browser = new WebClient(testApp.app);
    const { email, password } = await browser.signUp();
    await browser.signOut();
    const page = await browser.signIn(email, password);

    const setCookie = ([] as string[]).concat(page.headers['set-cookie'] as string[]).find((cookie) => cookie.startsWith(SESSION_COOKIE));
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).not.toMatch(/Secure/);
  });

  it('marks cookies Secure with the __Host- prefix when COOKIE_SECURE is on and the request came over HTTPS', async () => {
    const secure = await createTestApp({ env: { COOKIE_SECURE: 'true', TRUST_PROXY: 'true' } });
    try {
      const overHttps = { 'x-forwarded-proto': 'https' };
      const form = await secure.app.inject({ method: 'GET', url: '/register', headers: { accept: 'text/html', ...overHttps } });
      const csrfCookie = form.cookies.find((cookie) => cookie.name === '__Host-shipshape.csrf')!;
      const token = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
      const username = uniqueName('secure');
      const signedUp = await secure.app.inject({
        method: 'POST',
        url: '/register',
        headers: { ...overHttps, 'content-type': 'application/x-www-form-urlencoded', cookie: `__Host-shipshape.csrf=${csrfCookie.value}` },
        payload: new URLSearchParams({ _csrf: token, username, email: `${username}@example.com`, password: STRONG_PASSWORD }).toString(),
      });

      const session = signedUp.cookies.find((cookie) => cookie.name === '__Host-shipshape.sid');
      expect(csrfCookie.secure).toBe(true);
      expect(signedUp.statusCode).toBe(303);
      expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/' });
    } finally {
      await secure.close();
    }
  });

  it('says the email or password is invalid, without saying which', async () => {
    const browser = new WebClient(testApp.app);
    await browser.get('/login');
    const page = await browser.post('/login', { email: 'nobody@example.com', password: 'Wrong-Password-1' });

    expect(page.status).toBe(401);
    expect(text(page.document.querySelector('.error-summary'))).toContain('Email or password is invalid');
    expect(page.document.querySelector('#email')?.getAttribute('value')).toBe('nobody@example.com');
  });

  it('goes back to the page that asked for sign-in, but never to another site', async () => {
    const browser = new WebClient(testApp.app);
    const { email, password } = await browser.signUp();
    await browser.signOut();

    const redirect = await browser.get('/settings');
    expect(redirect.status).toBe(303);
    expect(redirect.location).toBe('/login?next=%2Fsettings');
    await browser.get(redirect.location!);
    const back = await browser.post('/login?next=%2Fsettings', { email, password });
    expect(back.location).toBe('/settings');

    await browser.signOut();
    await browser.get('/login');
    const offsite = await browser.post('/login?next=%2F%2Fevil.example', { email, password });
    expect(offsite.location).toBe('/');
  });

  it('throttles repeated sign-in failures with 429 and Retry-After', async () => {
    const throttled = await createTestApp({ env: { SIGNIN_MAX_FAILURES: '2' } });
    try {
      const browser = new WebClient(throttled.app);
      const { email, password } = await browser.signUp();
      await browser.signOut();
      await browser.get('/login');
      await browser.post('/login', { email, password: 'Wrong-Password-1' });
      await browser.post('/login', { email, password: 'Wrong-Password-1' });

      const locked = await browser.post('/login', { email, password });

      expect(locked.status).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      expect(text(locked.document.querySelector('.error-summary'))).toMatch(/Sign-in is locked after too many failed attempts/);
    } finally {
      await throttled.close();
    }
  });
});

describe('sessions expire', () => {
  it('ends a session idle for longer than SESSION_IDLE_TIMEOUT', async () => {
    const browser = new WebClient(testApp.app);
    const { username } = await browser.signUp();
    await testApp.app.db
      .updateTable('sessions')
      .set({ expires_at: Date.now() - 1000 })
      .where('user_id', '=', (eb) => eb.selectFrom('users').select('users.id').where('users.username', '=', username))
      .execute();

    const settings = await browser.get('/settings');

    expect(settings.status).toBe(303);
    expect(settings.location).toMatch(/^\/login/);
  });

  it('ends a session older than SESSION_MAX_AGE even while in use', async () => {
    const browser = new WebClient(testApp.app);
    const { username } = await browser.signUp();
    await testApp.app.db
      .updateTable('sessions')
      .set({ absolute_expires_at: Date.now() - 1000 })
      .where('user_id', '=', (eb) => eb.selectFrom('users').select('users.id').where('users.username', '=', username))
      .execute();

    const settings = await browser.get('/settings');

    expect(settings.status).toBe(303);
  });

  it('renews the idle expiry on each request but never the absolute one', async () => {
    const browser = new WebClient(testApp.app);
    const { username } = await browser.signUp();
    const row = () =>
      testApp.app.db
        .selectFrom('sessions')
        .select(['expires_at', 'absolute_expires_at'])
        .where('user_id', '=', (eb) => eb.selectFrom('users').select('users.id').where('users.username', '=', username))
        .executeTakeFirstOrThrow();
    const before = await row();

    // Each visit renews the idle expiry from the current time: visit until the clock has moved on.
    const after = await eventually(async () => {
      await browser.get('/settings');
      return row();
    }, (current) => Number(current.expires_at) > Number(before.expires_at), { what: 'a renewed idle expiry' });

    expect(Number(after.expires_at)).toBeGreaterThan(Number(before.expires_at));
    expect(Number(after.absolute_expires_at)).toBe(Number(before.absolute_expires_at));
  });

  it('purges expired sessions from the table', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();
    await testApp.app.db.updateTable('sessions').set({ expires_at: 1 }).execute();

    const purged = await testApp.app.sessionStore.purgeExpired();

    expect(purged).toBeGreaterThan(0);
    expect(await testApp.app.db.selectFrom('sessions').select('id').execute()).toEqual([]);
  });
});
