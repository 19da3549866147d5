import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Conduit } from './helpers/conduit.ts';
import { useTestApp } from './helpers/app.ts';
import { text, WebClient } from './helpers/browser.ts';
import { GIF, JPEG, largePng, PNG, SVG_AS_PNG, WEBP } from './helpers/images.ts';

const testApp = useTestApp({ env: { UPLOAD_LIMIT: '64kb' } });

async function signedIn() {
  const browser = new WebClient(testApp.app);
  const credentials = await browser.signUp();
  const settings = await browser.get('/settings');
  return { browser, credentials, settings };
}

function formFields(credentials: { username: string; email: string }, overrides: Record<string, string> = {}) {
  return { username: credentials.username, email: credentials.email, bio: '', image: '', password: '', ...overrides };
}

const imageCount = async () => (await testApp.app.db.selectFrom('images').select('hash').execute()).length;

describe('settings', () => {
  it('shows the current account in the form', async () => {
    const { credentials, settings } = await signedIn();

    expect(settings.document.querySelector('#username')?.getAttribute('value')).toBe(credentials.username);
    expect(settings.document.querySelector('#email')?.getAttribute('value')).toBe(credentials.email);
    expect(settings.document.querySelector('form[enctype="multipart/form-data"]')).not.toBeNull();
  });

  it('updates username, bio and password; the new password signs in', async () => {
    const { browser, credentials } = await signedIn();
    const changed = { ...formFields(credentials), username: `${credentials.username}x`, bio: 'I audit ledgers', password: 'Brand-New-Pass-7', currentPassword: credentials.password };

    const saved = await browser.postMultipart('/settings', changed);
    const page = await browser.get('/settings');
    await browser.signOut();
    const signIn = await browser.signIn(credentials.email, 'Brand-New-Pass-7');

    expect(saved.status).toBe(303);
    expect(text(page.document.querySelector('.flash'))).toBe('Your settings are saved.');
    expect(page.document.querySelector('#bio')?.textContent).toBe('I audit ledgers');
    expect(signIn.status).toBe(303);
  });

  it('refuses a weak new password next to the field and changes nothing', async () => {
    const { browser, credentials } = await signedIn();

    const page = await browser.postMultipart('/settings', formFields(credentials, { bio: 'changed', password: 'short' }));

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#password-error'))).toContain('New password is too short (minimum is 8 characters)');
    const row = await testApp.app.db.selectFrom('users').select('bio').where('username', '=', credentials.username).executeTakeFirstOrThrow();
    expect(row.bio).toBeNull();
  });
});

describe('avatar upload', () => {
  it.each([
    ['PNG', PNG, 'image/png'],
    ['JPEG', JPEG, 'image/jpeg'],
    ['WebP', WEBP, 'image/webp'],
    ['GIF', GIF, 'image/gif'],
  ])('accepts a %s, stores it in the database and serves it by content hash', async (_name, bytes, contentType) => {
    const { browser, credentials } = await signedIn();

    const saved = await browser.postMultipart('/settings', formFields(credentials), { field: 'avatar', filename: 'me.bin', contentType: 'application/octet-stream', data: bytes });

    expect(saved.status).toBe(303);
    const hash = createHash('sha256').update(bytes).digest('hex');
    const user = await new Conduit(testApp.app).request<{ profile: { image: string } }>('GET', `/api/profiles/${credentials.username}`);
    expect(user.body.profile.image).toBe(`/images/${hash}`);
    const image = await testApp.app.inject({ method: 'GET', url: `/images/${hash}` });
    expect(image.statusCode).toBe(200);
    expect(image.headers['content-type']).toBe(contentType);
    expect(image.headers['x-content-type-options']).toBe('nosniff');
    expect(image.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(image.rawPayload.equals(bytes)).toBe(true);
  });

  it('refuses a file that is not an image by its bytes, whatever its name says, and stores nothing', async () => {
    const { browser, credentials } = await signedIn();
    const before = await imageCount();

    const page = await browser.postMultipart('/settings', formFields(credentials, { bio: 'should not be saved' }), {
      field: 'avatar',
      filename: 'innocent.png',
      contentType: 'image/png',
      data: SVG_AS_PNG,
    });

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#avatar-error'))).toBe('Profile picture must be a PNG, JPEG, WebP or GIF image');
    expect(await imageCount()).toBe(before);
    const row = await testApp.app.db.selectFrom('users').select(['bio', 'image']).where('username', '=', credentials.username).executeTakeFirstOrThrow();
    expect(row).toEqual({ bio: null, image: null });
  });

  it('refuses a file over UPLOAD_LIMIT with a clear message, and stores nothing', async () => {
    const { browser, credentials } = await signedIn();
    const before = await imageCount();

    const page = await browser.postMultipart('/settings', formFields(credentials), {
      field: 'avatar',
      filename: 'huge.png',
      contentType: 'image/png',
      data: largePng(64 * 1024),
    });

    expect(page.status).toBe(422);
    expect(text(page.document.querySelector('#avatar-error'))).toBe('Profile picture is larger than 64 KB');
    expect(await imageCount()).toBe(before);
  });

  it('stores the same picture once however many upload it', async () => {
    const first = await signedIn();
    const second = await signedIn();
    const before = await imageCount();
    const upload = { field: 'avatar', filename: 'a.gif', contentType: 'image/gif', data: Buffer.concat([GIF, Buffer.from('same')]) };

    await first.browser.postMultipart('/settings', formFields(first.credentials), upload);
    await second.browser.postMultipart('/settings', formFields(second.credentials), upload);

    expect(await imageCount()).toBe(before + 1);
  });

  it('answers 404 for an unknown image and 422 for a malformed name', async () => {
    const unknown = await testApp.app.inject({ method: 'GET', url: `/images/${'0'.repeat(64)}` });
    const malformed = await testApp.app.inject({ method: 'GET', url: '/images/not-a-hash' });

    expect(unknown.statusCode).toBe(404);
    expect(malformed.statusCode).toBe(422);
  });
});
