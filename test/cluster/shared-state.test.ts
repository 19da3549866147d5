import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, WebClient } from '../helpers/browser.ts';
import { STRONG_PASSWORD, uniqueName } from '../helpers/conduit.ts';
import { Cluster } from './cluster.ts';
import { query } from './checks.ts';

const RATE_LIMIT = 6;
const SIGN_IN_FAILURES = 3;

let cluster: Cluster;
let replicaA: string;
let replicaB: string;
let replicaC: string;

beforeAll(async () => {
  cluster = await Cluster.start({
    replicas: 3,
    version: '1.0.0',
    env: {
      RATE_LIMIT_MAX: String(RATE_LIMIT),
      RATE_LIMIT_WINDOW: '1h',
      SIGNIN_MAX_FAILURES: String(SIGN_IN_FAILURES),
      SIGNIN_LOCKOUT: '1h',
      SIGNIN_MAX_FAILURES_PER_ADDRESS: '1000',
      SHUTDOWN_DELAY_SECONDS: '0',
    },
  });
  [replicaA, replicaB, replicaC] = [cluster.urlOf(0), cluster.urlOf(1), cluster.urlOf(2)];
});
afterAll(() => cluster?.stop());

let nextAddress = 1;
/** Each anonymous client speaks from its own address (the replicas trust one proxy hop), so address limits stay apart. */
function freshAddress(): string {
  nextAddress += 1;
  return `10.2.${nextAddress}.1`;
}

async function api(url: string, method: string, path: string, options: { body?: unknown; token?: string; address?: string } = {}) {
  const headers: Record<string, string> = { 'x-forwarded-for': options.address ?? freshAddress() };
  if (options.token !== undefined) headers.authorization = `Token ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(path, url), { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  return { status: response.status, body: (await response.json().catch(() => undefined)) as Record<string, Record<string, unknown>> | undefined };
}

async function registerThroughApi(url: string) {
  const username = uniqueName('shared');
  const user = { username, email: `${username}@example.com`, password: STRONG_PASSWORD };
  const response = await api(url, 'POST', '/api/users', { body: { user } });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status}`);
  return { ...user, token: String(response.body?.user?.token) };
}

function login(url: string, email: string, password: string) {
  return api(url, 'POST', '/api/users/login', { body: { user: { email, password } } });
}

describe('replicas share the web session, its CSRF token and its flash messages', () => {
  it('serves a browser signed in on A every page and form on B and C', async () => {
    const browser = new WebClient(replicaA, { 'x-forwarded-for': freshAddress() });
    const credentials = await browser.signUp();
    await browser.signOut();
    expect((await browser.signIn(credentials.email, credentials.password)).status).toBe(303);

    const settings = await browser.moveTo(replicaB).get('/settings');
    expect(settings.status).toBe(200);
    expect(settings.document.querySelector('input[name="username"]')?.getAttribute('value')).toBe(credentials.username);

    // The form comes from B, is submitted to C, and the flash it sets shows on A.
    await browser.get('/editor');
    const published = await browser.moveTo(replicaC).post('/editor', { title: uniqueName('Shared '), description: 'd', body: 'b', tags: 'cluster' });
    expect(published.status).toBe(303);
    const article = await browser.moveTo(replicaA).get(published.location!);
    expect(text(article.document.querySelector('.flash'))).toBe('Your article is published.');

    const commented = await browser.moveTo(replicaB).post(`${published.location!}/comments`, { body: 'posted on B' });
    expect(commented.status).toBe(303);
    const commentId = commented.location!.split('#comment-')[1];
    expect(text((await browser.moveTo(replicaC).get(published.location!)).document.querySelector(`#comment-${commentId} .card-body`))).toBe('posted on B');
    expect((await browser.post(`${published.location!}/favorite`)).status).toBe(303);

    const form = { username: credentials.username, email: credentials.email, bio: 'saved through C', image: '', password: '' };
    expect((await browser.postMultipart('/settings', form)).status).toBe(303);
    expect((await browser.moveTo(replicaA).get('/settings')).document.querySelector('textarea[name="bio"]')?.textContent).toBe('saved through C');

    // A form whose CSRF token belongs to another session is refused on every replica.
    const stranger = new WebClient(replicaB, { 'x-forwarded-for': freshAddress() });
    await stranger.get('/login');
    browser.csrfToken = stranger.csrfToken;
    expect((await browser.moveTo(replicaB).post(`${published.location!}/comments`, { body: 'forged' })).status).toBe(403);

    await browser.moveTo(replicaB).get('/settings');
    expect((await browser.moveTo(replicaC).post('/logout')).status).toBe(303);
    expect((await browser.moveTo(replicaA).get('/settings')).location).toMatch(/^\/login/);
  });
});

describe('limits hold across replicas', () => {
  it('locks an account after SIGNIN_MAX_FAILURES failures spread over all replicas', async () => {
    const user = await registerThroughApi(replicaA);

    const failures = [];
    for (const replica of [replicaA, replicaB, replicaC]) failures.push((await login(replica, user.email, 'Wrong-Password-1')).status);
    const rightPasswordOnA = await login(replicaA, user.email, user.password);
    const webSignInOnB = await new WebClient(replicaB, { 'x-forwarded-for': freshAddress() }).signIn(user.email, user.password);

    expect(failures).toEqual([401, 401, 401]);
    expect(rightPasswordOnA.status).toBe(429);
    expect(webSignInOnB.status).toBe(429);
  });

  it('allows RATE_LIMIT_MAX writes per user in all, whichever replicas they reach, with one counter row in the database', async () => {
    const user = await registerThroughApi(replicaA);
    const replicas = [replicaA, replicaB, replicaC];
    const write = (replica: string) => api(replica, 'POST', '/api/articles', { token: user.token, body: { article: { title: uniqueName('Limited '), description: 'd', body: 'b' } } });

    const allowed = [];
    for (let attempt = 0; attempt < RATE_LIMIT; attempt += 1) allowed.push((await write(replicas[attempt % 3]!)).status);
    const refused = await Promise.all(replicas.map(write));

    expect(allowed).toEqual(Array.from({ length: RATE_LIMIT }, () => 201));
    expect(refused.map((response) => response.status)).toEqual([429, 429, 429]);
    const [{ id }] = await query<{ id: number }>(cluster.databaseUrl, 'select id from users where username = $1', [user.username]) as [{ id: number }];
    const counters = await query<{ hits: number }>(cluster.databaseUrl, 'select hits from request_counters where key = $1', [`user:${id}`]);
    expect(counters).toEqual([{ hits: RATE_LIMIT + 3 }]);
  });

  it('counts anonymous writes per address across replicas', async () => {
    const address = freshAddress();
    const replicas = [replicaA, replicaB, replicaC];
    const statuses = [];
    for (let attempt = 0; attempt <= RATE_LIMIT; attempt += 1) {
      const response = await api(replicas[attempt % 3]!, 'POST', '/api/users/login', { address, body: { user: { email: `${uniqueName('nobody')}@example.com`, password: 'Wrong-Password-1' } } });
      statuses.push(response.status);
    }

    expect(statuses).toEqual([...Array.from({ length: RATE_LIMIT }, () => 401), 429]);
  });
});

describe('an admin disabling a user', () => {
  it('takes effect on every replica at once: web session, API token and sign-in', async () => {
    const adminName = uniqueName('admin');
    const adminEmail = `${adminName}@example.com`;
    await cluster.createAdmin(adminName, adminEmail, STRONG_PASSWORD);
    const admin = new WebClient(replicaA, { 'x-forwarded-for': freshAddress() });
    expect((await admin.signIn(adminEmail, STRONG_PASSWORD)).status).toBe(303);
    const victim = await registerThroughApi(replicaA);
    const victimBrowser = new WebClient(replicaB, { 'x-forwarded-for': freshAddress() });
    expect((await victimBrowser.signIn(victim.email, victim.password)).status).toBe(303);
    // Both replicas have just accepted the victim's credentials (and C has verified the token).
    expect((await victimBrowser.get('/settings')).status).toBe(200);
    expect((await api(replicaC, 'GET', '/api/user', { token: victim.token })).status).toBe(200);

    const [{ id }] = await query<{ id: number }>(cluster.databaseUrl, 'select id from users where username = $1', [victim.username]) as [{ id: number }];
    await admin.get(`/admin/users?q=${victim.username}`);
    expect((await admin.post(`/admin/users/${id}/disable`)).status).toBe(303);

    const webOnB = await victimBrowser.get('/settings');
    const apiOnC = await api(replicaC, 'GET', '/api/user', { token: victim.token });
    const apiOnB = await api(replicaB, 'GET', '/api/user', { token: victim.token });
    const signInOnC = await login(replicaC, victim.email, victim.password);

    expect(webOnB.status).toBe(303);
    expect(webOnB.location).toMatch(/^\/login/);
    expect(apiOnC.status).toBe(401);
    expect(apiOnC.body).toEqual({ errors: { token: ['belongs to a disabled account'] } });
    expect(apiOnB.status).toBe(401);
    expect(signInOnC.status).toBe(403);
  });
});
