import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, auditPage, DESKTOP, launchBrowser, PHONE, Screenshots, type Stack, startStack } from './harness.ts';

/**
 * The web application in a real browser, with JavaScript turned off throughout: every page and
 * form must work as plain HTML. Every page state a journey reaches is audited with axe-core at
 * desktop and phone sizes and must not scroll sideways at 390 or 320 pixels; screenshots of each
 * (desktop and phone) land in test-results/screenshots/.
 */
let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];

const WRITER = { username: 'ada', email: 'ada@example.com', password: 'Analytical-Engine-1' };
const READER = { username: 'charles', email: 'charles@example.com', password: 'Difference-Engine-2' };
let articlePath = '';

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: stack.baseUrl, viewport: DESKTOP });
  contexts.push(context);
  return context.newPage();
}

/** Screenshots the page at both sizes and records (softly, so one run shows them all) its accessibility and layout problems. */
async function check(page: Page, shots: Screenshots, step: string): Promise<void> {
  await shots.take(page, step);
  expect.soft(await auditPage(page, `${shots.name}: ${step}`), `accessibility and layout of ${step}`).toEqual([]);
  await page.setViewportSize(PHONE);
  await shots.take(page, `${step}-phone`);
  await page.setViewportSize(DESKTOP);
}

async function submit(page: Page, button: string | RegExp): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: button }).first().click()]);
}

async function signIn(page: Page, account: { email: string; password: string }): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await submit(page, 'Sign in');
}

beforeAll(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await stack?.stop();
});

describe('in a real browser, without JavaScript', () => {
  it('a writer signs up (after a weak password is refused), writes and edits an article, uploads an avatar and signs out', async () => {
    const shots = new Screenshots('writer');
    const page = await newPage();

    await page.goto('/');
    expect(await page.getByRole('heading', { name: 'conduit' }).count()).toBe(1);
    await check(page, shots, 'home-empty');

    await page.getByRole('link', { name: 'Sign up' }).click();
    await page.getByLabel('Username').fill(WRITER.username);
    await page.getByLabel('Email').fill(WRITER.email);
    await page.getByLabel('Password').fill('password');
    await submit(page, 'Sign up');
    expect(await page.locator('#password-error').textContent()).toContain('must contain an upper-case letter');
    // The error summary has focus, so a screen reader announces it and Tab starts from it.
    expect(await page.evaluate('document.activeElement.className')).toBe('error-summary');
    expect(await page.title()).toMatch(/^Error: /);
    await check(page, shots, 'sign-up-weak-password');

    await page.getByLabel('Password').fill(WRITER.password);
    await submit(page, 'Sign up');
    expect(await page.locator('.flash').textContent()).toBe(`Welcome to Conduit, ${WRITER.username}.`);
    await check(page, shots, 'signed-up');

    await page.getByRole('link', { name: 'New article' }).click();
    await check(page, shots, 'editor-new');
    await page.getByLabel('Title').fill('Reconciling the quarter');
    await page.getByLabel("What's this article about?").fill('How we close the books in five days');
    await page.getByLabel('Article (Markdown)').fill('## Day one\n\nMatch **every** bank line.\n\n- invoices\n- payments\n\n> Trust, but verify.');
    await page.getByLabel('Tags').fill('finance, process');
    await submit(page, 'Publish article');
    articlePath = new URL(page.url()).pathname;
    expect(articlePath).toMatch(/^\/article\/reconciling-the-quarter/);
    expect(await page.locator('.article-body h3').textContent()).toBe('Day one');
    await check(page, shots, 'article-published');

    await page.getByRole('link', { name: 'Edit article' }).first().click();
    await page.getByLabel('Article (Markdown)').fill('## Day one\n\nMatch **every** bank line, twice.');
    await submit(page, 'Update article');
    expect(await page.locator('.article-body p').textContent()).toBe('Match every bank line, twice.');
    await check(page, shots, 'article-edited');

    // A real picture to upload: a 96×96 crop of the page itself, as PNG.
    const avatar = await page.screenshot({ clip: { x: 0, y: 0, width: 96, height: 96 } });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Short bio').fill('Writes about closing the books.');
    await page.getByLabel('Profile picture').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: avatar });
    await submit(page, 'Update settings');
    expect(await page.locator('.flash').textContent()).toBe('Your settings are saved.');
    const picture = page.getByAltText('Your current profile picture');
    expect(await picture.getAttribute('src')).toMatch(/^\/images\/[0-9a-f]{64}$/);
    expect(await picture.evaluate((image: { naturalWidth: number }) => image.naturalWidth)).toBe(96);
    await check(page, shots, 'settings-avatar');

    await page.goto(`/profile/${WRITER.username}`);
    expect(await page.locator('.article-preview h2').textContent()).toBe('Reconciling the quarter');
    await check(page, shots, 'profile');

    await page.goto('/dashboard');
    expect(await page.locator('.stat .number').first().textContent()).toBe('1');
    await check(page, shots, 'dashboard');

    await page.goto('/settings');
    await submit(page, 'Sign out');
    expect(await page.locator('.flash').textContent()).toBe('You have signed out.');
    expect(await page.locator('.site-header').getByRole('link', { name: 'Sign in' }).count()).toBe(1);
    await check(page, shots, 'signed-out');
  });

  it('a reader signs in, follows the writer, favorites and comments', async () => {
    const shots = new Screenshots('reader');
    const page = await newPage();
    await page.goto('/register');
    await page.getByLabel('Username').fill(READER.username);
    await page.getByLabel('Email').fill(READER.email);
    await page.getByLabel('Password').fill(READER.password);
    await submit(page, 'Sign up');
    await page.goto('/settings');
    await submit(page, 'Sign out');

    await page.goto('/login');
    await page.getByLabel('Email').fill(READER.email);
    await page.getByLabel('Password').fill('Not-The-Password-1');
    await submit(page, 'Sign in');
    expect(await page.locator('.error-summary').textContent()).toContain('Email or password is invalid');
    await check(page, shots, 'sign-in-refused');
    await page.getByLabel('Password').fill(READER.password);
    await submit(page, 'Sign in');
    await check(page, shots, 'home-signed-in');

    await page.goto(articlePath);
    await submit(page, `Follow ${WRITER.username}`);
    await submit(page, /Favorite article \(0\)/);
    expect(await page.getByRole('button', { name: /Unfavorite article \(1\)/ }).count()).toBe(2);
    expect(await page.getByRole('button', { name: `Unfollow ${WRITER.username}` }).count()).toBe(2);
    await page.getByLabel('Write a comment').fill('Five days is ambitious. How do you handle accruals?');
    await submit(page, 'Post comment');
    expect(await page.locator('.comments .card-body').last().textContent()).toBe('Five days is ambitious. How do you handle accruals?');
    await check(page, shots, 'article-with-comment');

    // An empty comment comes back with the field focused and scrolled into view, not at the top.
    await submit(page, 'Post comment');
    expect(await page.evaluate('document.activeElement.id')).toBe('comment-body');
    expect(await page.evaluate('document.activeElement.getBoundingClientRect().bottom <= window.innerHeight')).toBe(true);
    await check(page, shots, 'comment-refused');

    await page.goto(`/profile/${WRITER.username}/favorites`);
    await check(page, shots, 'writer-favorites');

    await page.goto('/?feed=yours');
    expect(await page.locator('.article-preview h2').first().textContent()).toBe('Reconciling the quarter');
    await check(page, shots, 'your-feed');

    await page.goto('/no/such/page');
    expect(await page.getByRole('heading', { name: 'Page not found' }).count()).toBe(1);
    await check(page, shots, 'not-found');
  });

  it('a visitor who is not signed in reads the article, the tag feed and the profile', async () => {
    const shots = new Screenshots('visitor');
    const page = await newPage();
    await page.goto('/?tag=finance');
    expect(await page.locator('.article-preview h2').first().textContent()).toBe('Reconciling the quarter');
    await check(page, shots, 'tag-feed');
    await page.goto(articlePath);
    await check(page, shots, 'article');
    await page.goto(`/profile/${WRITER.username}`);
    await check(page, shots, 'profile');
    await page.goto('/login');
    await check(page, shots, 'sign-in');
    await page.goto('/register');
    await submit(page, 'Sign up');
    await check(page, shots, 'sign-up-empty');
  });

  it('an admin disables the reader, who is signed out and refused; the audit log records it', async () => {
    const shots = new Screenshots('admin');
    const reader = await newPage();
    await signIn(reader, READER);
    expect(await reader.getByRole('link', { name: READER.username }).count()).toBe(1);

    const admin = await newPage();
    await signIn(admin, ADMIN);
    await admin.getByRole('link', { name: 'Admin', exact: true }).click();
    await admin.getByLabel('Search users by username or email').fill(READER.username);
    await submit(admin, 'Search');
    await check(admin, shots, 'users-search');
    // Disabling asks first, without JavaScript: the first click opens the question, the second acts.
    await admin.locator('summary', { hasText: 'Disable' }).click();
    await check(admin, shots, 'user-disable-confirm');
    await submit(admin, `Yes, disable ${READER.username}`);
    expect(await admin.locator('.flash').textContent()).toContain('The account is disabled');
    await check(admin, shots, 'user-disabled');

    await reader.goto('/settings');
    expect(new URL(reader.url()).pathname).toBe('/login');
    await reader.getByLabel('Email').fill(READER.email);
    await reader.getByLabel('Password').fill(READER.password);
    await submit(reader, 'Sign in');
    expect(await reader.locator('.error-summary').textContent()).toContain('Account is disabled');
    await check(reader, shots, 'disabled-user-refused');

    await admin.getByRole('link', { name: 'Audit log' }).click();
    expect(await admin.locator('tbody tr').first().textContent()).toContain(`user.disable`);
    await check(admin, shots, 'audit-log');

    await admin.getByRole('link', { name: 'Comments' }).click();
    await check(admin, shots, 'comments');
    await admin.getByRole('link', { name: 'Articles' }).click();
    await check(admin, shots, 'articles');
    await admin.goto('/');
    await check(admin, shots, 'home');
    await admin.goto(articlePath);
    await check(admin, shots, 'article');
  });
});
