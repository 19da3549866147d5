import { describe, expect, it } from 'vitest';
import { bootstrapAdmin } from '../src/features/admin/bootstrap.ts';
import { COMMAND_LINE } from '../src/features/admin/service.ts';
import { Conduit, STRONG_PASSWORD, uniqueName } from './helpers/conduit.ts';
import { createTestApp, createTestStorage, TEST_JWT_SECRET, TEST_SESSION_SECRET, useTestApp } from './helpers/app.ts';
import { text, WebClient } from './helpers/browser.ts';
import { jsonLines, runNode } from './helpers/process.ts';

const testApp = useTestApp();
const api = new Conduit(() => testApp.app);

async function signedInAdmin() {
  const username = uniqueName('admin');
  const email = `${username}@example.com`;
  await testApp.app.admin.createAdmin(COMMAND_LINE, { email, username, password: STRONG_PASSWORD });
  const browser = new WebClient(testApp.app);
  await browser.signIn(email, STRONG_PASSWORD);
  return { browser, username };
}

async function userIdOf(username: string): Promise<number> {
  return (await testApp.app.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id;
}

describe('the admin area is for admins only', () => {
  const pages = ['/admin', '/admin/users', '/admin/articles', '/admin/comments', '/admin/audit'];
  const actions = ['/admin/users/1/disable', '/admin/users/1/enable', '/admin/articles/some-slug/delete', '/admin/comments/1/delete'];

  it('sends anonymous visitors to sign in (and back) from every admin page and action', async () => {
    const browser = new WebClient(testApp.app);
    await browser.get('/login');

    for (const path of pages) {
      const page = await browser.get(path);
      expect([page.status, page.location], path).toEqual([303, `/login?next=${encodeURIComponent(path)}`]);
    }
    for (const path of actions) {
      const page = await browser.post(path);
      expect([page.status, page.location], path).toEqual([303, '/login']);
    }
  });

  it('answers 403 to signed-in non-admins on every admin page and action', async () => {
    const browser = new WebClient(testApp.app);
    await browser.signUp();

    for (const path of pages) expect((await browser.get(path)).status, path).toBe(403);
    for (const path of actions) expect((await browser.post(path)).status, path).toBe(403);
  });

  it('shows admins the Admin link and the user list, with search', async () => {
    const { browser, username } = await signedInAdmin();
    const target = await new WebClient(testApp.app).signUp();

    const home = await browser.get('/');
    const all = await browser.get('/admin/users');
    const found = await browser.get(`/admin/users?q=${target.username.toUpperCase()}`);

    expect(home.document.querySelector('a[href="/admin/users"]')).not.toBeNull();
    expect(text(all.document.querySelector('tbody'))).toContain(username);
    expect(found.document.querySelectorAll('tbody tr')).toHaveLength(1);
    // Disabling is a two-step disclosure (works without JavaScript): the button that posts sits inside it.
    const confirm = found.document.querySelector('tbody details.confirm');
    expect(text(confirm?.querySelector('summary'))).toBe(`Disable ${target.username}`);
    expect(confirm?.querySelector('form')?.getAttribute('action')).toMatch(/^\/admin\/users\/\d+\/disable$/);
    expect(text(confirm?.querySelector('button'))).toBe(`Yes, disable ${target.username}`);
    expect(text(found.document.querySelector('tbody tr'))).toContain(target.email);
  });
});

describe('disabling an account', () => {
  it('signs the user out everywhere, refuses sign-in and stops their API tokens; enabling restores access', async () => {
    const { browser: admin, username: adminName } = await signedInAdmin();
    const victim = new WebClient(testApp.app);
    const credentials = await victim.signUp();
    const token = (await api.request<{ user: { token: string } }>('POST', '/api/users/login', { body: { user: { email: credentials.email, password: credentials.password } } })).body.user.token;
    const victimId = await userIdOf(credentials.username);
    await admin.get('/admin/users');

    const disabled = await admin.post(`/admin/users/${victimId}/disable`);
    const victimPage = await victim.get('/settings');
    const webSignIn = await victim.signIn(credentials.email, credentials.password);
    const apiCall = await api.request('GET', '/api/user', { token });
    const apiSignIn = await api.request('POST', '/api/users/login', { body: { user: { email: credentials.email, password: credentials.password } } });

    expect(disabled.status).toBe(303);
    expect(victimPage.status).toBe(303);
    expect(webSignIn.status).toBe(403);
    expect(text(webSignIn.document.querySelector('.error-summary'))).toContain('Account is disabled');
    expect(apiCall.status).toBe(401);
    expect(apiCall.body).toEqual({ errors: { token: ['belongs to a disabled account'] } });
    expect(apiSignIn.status).toBe(403);

    await admin.get('/admin/users');
    await admin.post(`/admin/users/${victimId}/enable`);
    expect((await victim.signIn(credentials.email, credentials.password)).status).toBe(303);
    expect((await api.request('GET', '/api/user', { token })).status).toBe(200);

    const audit = await admin.get('/admin/audit');
    const rows = audit.document.querySelectorAll('tbody tr').map(text);
    expect(rows[0]).toContain(`${adminName} user.enable user ${credentials.username}`);
    expect(rows[1]).toContain(`${adminName} user.disable user ${credentials.username}`);
    expect(audit.document.querySelector('tbody tr time')?.getAttribute('datetime')).toMatch(/Z$/);
  });

  it('does not let an admin disable their own account', async () => {
    const { browser, username } = await signedInAdmin();
    await browser.get('/admin/users');

    const page = await browser.post(`/admin/users/${await userIdOf(username)}/disable`);

    expect(page.status).toBe(422);
    expect((await browser.get('/admin/users')).status).toBe(200);
  });
});

describe('moderation', () => {
  it('deletes any article and any comment, and records it in the audit log', async () => {
    const { browser: admin, username: adminName } = await signedInAdmin();
    const author = new WebClient(testApp.app);
    const { username: authorName } = await author.signUp();
    await author.get('/editor');
    const location = (await author.post('/editor', { title: 'Inappropriate', description: 'd', body: 'b', tags: '' })).location!;
    await author.get(location);
    const commented = await author.post(`${location}/comments`, { body: 'spam spam spam' });
    const commentId = commented.location!.split('#comment-')[1]!;
    const slug = location.split('/').at(-1)!;

    const articlePage = await admin.get(location);
    expect(articlePage.document.querySelector(`form[action="${location}/delete"]`)).not.toBeNull();
    await admin.get('/admin/comments');
    const commentDeleted = await admin.post(`/admin/comments/${commentId}/delete`);
    await admin.get('/admin/articles');
    const articleDeleted = await admin.post(`/admin/articles/${slug}/delete`);

    expect(commentDeleted.status).toBe(303);
    expect(articleDeleted.status).toBe(303);
    expect((await api.request('GET', `/api/articles/${slug}`)).status).toBe(404);
    const audit = await admin.get('/admin/audit');
    const rows = audit.document.querySelectorAll('tbody tr').map(text);
    expect(rows[0]).toContain(`${adminName} article.delete article ${slug} “Inappropriate” by ${authorName}`);
    expect(rows[1]).toContain(`${adminName} comment.delete comment ${commentId} on ${slug} by ${authorName}: “spam spam spam”`);
  });

  it('lets an admin delete someone else\'s comment from the article page', async () => {
    const { browser: admin } = await signedInAdmin();
    const author = new WebClient(testApp.app);
    await author.signUp();
    await author.get('/editor');
    const location = (await author.post('/editor', { title: 'Discussion', description: 'd', body: 'b', tags: '' })).location!;
    await author.get(location);
    const commentId = (await author.post(`${location}/comments`, { body: 'off topic' })).location!.split('#comment-')[1]!;

    await admin.get(location);
    const deleted = await admin.post(`${location}/comments/${commentId}/delete`);
    const after = await admin.get(location);

    expect(deleted.status).toBe(303);
    expect(after.document.querySelector(`#comment-${commentId}`)).toBeNull();
  });

  it('still refuses a non-admin deleting someone else\'s comment from the article page', async () => {
    const author = new WebClient(testApp.app);
    await author.signUp();
    await author.get('/editor');
    const location = (await author.post('/editor', { title: 'Guarded discussion', description: 'd', body: 'b', tags: '' })).location!;
    await author.get(location);
    const commentId = (await author.post(`${location}/comments`, { body: 'keep me' })).location!.split('#comment-')[1]!;
    const stranger = new WebClient(testApp.app);
    await stranger.signUp();
    await stranger.get(location);

    const page = await stranger.post(`${location}/comments/${commentId}/delete`);

    expect(page.status).toBe(403);
    expect((await author.get(location)).document.querySelector(`#comment-${commentId}`)).not.toBeNull();
  });
});

describe('making admins', () => {
  it('bootstraps the first admin from ADMIN_EMAIL, only while there is none, never promoting a registered account', async () => {
    const fresh = await createTestApp();
    try {
      const squatter = await new Conduit(fresh.app).register({ email: 'ops@example.com', username: 'squatter' });
      await bootstrapAdmin({ email: 'ops@example.com', username: 'ops', password: STRONG_PASSWORD }, fresh.app.admin, fresh.app.repositories.users, fresh.app.log);
      expect(await fresh.app.admin.adminExists()).toBe(false);
      expect(fresh.logs.some((line) => String(line.msg).startsWith('ADMIN_EMAIL belongs to an existing non-admin account'))).toBe(true);
      expect(squatter.username).toBe('squatter');

      await bootstrapAdmin({ email: 'root@example.com', username: 'root', password: STRONG_PASSWORD }, fresh.app.admin, fresh.app.repositories.users, fresh.app.log);
      await bootstrapAdmin({ email: 'second@example.com', username: 'second', password: STRONG_PASSWORD }, fresh.app.admin, fresh.app.repositories.users, fresh.app.log);

      const admins = await fresh.app.db.selectFrom('users').select('username').where('role', '=', 'admin').execute();
      expect(admins).toEqual([{ username: 'root' }]);
    } finally {
      await fresh.close();
    }
  });

  it('creates or promotes an admin from the command line, with the password from stdin or ADMIN_PASSWORD', async () => {
    const storage = await createTestStorage();
    const env: Record<string, string> = { DATA_DIR: storage.dataDir, NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, SESSION_SECRET: TEST_SESSION_SECRET };
    if (storage.databaseUrl) env.DATABASE_URL = storage.databaseUrl;
    try {
      if (storage.databaseUrl) await runNode('src/cli.ts', ['migrate'], env);
      const noPassword = await runNode('src/cli.ts', ['admin:create', '--email', 'boss@example.com', '--username', 'boss'], env);
      const weak = await runNode('src/cli.ts', ['admin:create', '--email', 'boss@example.com', '--username', 'boss'], { ...env, ADMIN_PASSWORD: 'weak' });
      const created = await runNode('src/cli.ts', ['admin:create', '--email', 'boss@example.com', '--username', 'boss'], { ...env, ADMIN_PASSWORD: 'Boss-Password-1' });
      const promoted = await runNode('src/cli.ts', ['admin:create', '--email', 'BOSS@example.com'], { ...env, ADMIN_PASSWORD: 'Boss-Password-2' });

      expect(noPassword.code).toBe(1);
      expect(jsonLines(noPassword.output)[0]?.msg).toBe('no password: set ADMIN_PASSWORD or pipe it on standard input');
      expect(weak.code).toBe(1);
      expect(jsonLines(weak.output)[0]?.msg).toMatch(/^admin:create refused: password is too short \(minimum is 8 characters\)/);
      expect(created.code).toBe(0);
      expect(jsonLines(created.output).at(-1)).toMatchObject({ msg: 'admin created', username: 'boss' });
      expect(promoted.code).toBe(0);
      expect(jsonLines(promoted.output).at(-1)).toMatchObject({ msg: 'existing account promoted to admin', username: 'boss' });
    } finally {
      await storage.remove();
    }
  });
});
