import { describe, expect, it } from 'vitest';
import { useTestApp } from './helpers/app.ts';
import { text, WebClient } from './helpers/browser.ts';
import { Conduit } from './helpers/conduit.ts';

/** A new password ends every other way in: other web sessions and every earlier API token. */
const testApp = useTestApp();
const api = new Conduit(() => testApp.app);

async function twoBrowsersAndAToken() {
  const here = new WebClient(testApp.app);
  const credentials = await here.signUp();
  const elsewhere = new WebClient(testApp.app);
  expect((await elsewhere.signIn(credentials.email, credentials.password)).status).toBe(303);
  const signedIn = await api.request<{ user: { token: string } }>('POST', '/api/users/login', { body: { user: { email: credentials.email, password: credentials.password } } });
  return { here, elsewhere, credentials, token: signedIn.body.user.token };
}

function settingsForm(credentials: { username: string; email: string }, fields: Record<string, string>) {
  return { username: credentials.username, email: credentials.email, bio: '', image: '', ...fields };
}

describe('changing the password on the web', () => {
  it('asks for the current password', async () => {
    const { here, credentials } = await twoBrowsersAndAToken();
    await here.get('/settings');

    const blank = await here.postMultipart('/settings', settingsForm(credentials, { password: 'Brand-New-Pass-7', currentPassword: '' }));
    const wrong = await here.postMultipart('/settings', settingsForm(credentials, { password: 'Brand-New-Pass-7', currentPassword: 'Not-Mine-123' }));

    expect(blank.status).toBe(422);
    expect(text(blank.document.querySelector('#currentPassword-error'))).toContain("can't be blank");
    expect(wrong.status).toBe(422);
    expect(text(wrong.document.querySelector('#currentPassword-error'))).toContain('is not your current password');
    const oldPasswordStillWorks = await api.request('POST', '/api/users/login', { body: { user: { email: credentials.email, password: credentials.password } } });
    expect(oldPasswordStillWorks.status).toBe(200);
  });

  it('keeps this browser signed in, signs out every other session, and revokes earlier tokens', async () => {
    const { here, elsewhere, credentials, token } = await twoBrowsersAndAToken();
    await here.get('/settings');

    const saved = await here.postMultipart('/settings', settingsForm(credentials, { password: 'Brand-New-Pass-7', currentPassword: credentials.password }));

    expect(saved.status).toBe(303);
    expect((await here.get('/settings')).status).toBe(200);
    const other = await elsewhere.get('/settings');
    expect(other.status).toBe(303);
    expect(other.location).toBe('/login?next=%2Fsettings');
    const withOldToken = await api.request<{ errors: Record<string, string[]> }>('GET', '/api/user', { token });
    expect(withOldToken.status).toBe(401);
    expect(withOldToken.body).toEqual({ errors: { token: ['was issued before the password changed; sign in again'] } });
    const signedIn = await api.request('POST', '/api/users/login', { body: { user: { email: credentials.email, password: 'Brand-New-Pass-7' } } });
    expect(signedIn.status).toBe(200);
  });
});

describe('changing the password through the API', () => {
  it('returns a fresh token, revokes the one used and every earlier one, and ends web sessions', async () => {
    const { here, credentials, token } = await twoBrowsersAndAToken();
    const older = (await api.request<{ user: { token: string } }>('POST', '/api/users/login', { body: { user: { email: credentials.email, password: credentials.password } } })).body.user.token;

    const changed = await api.request<{ user: { token: string } }>('PUT', '/api/user', { token, body: { user: { password: 'Brand-New-Pass-7' } } });

    expect(changed.status).toBe(200);
    expect(changed.body.user.token).not.toBe(token);
    expect((await api.request('GET', '/api/user', { token: changed.body.user.token })).status).toBe(200);
    expect((await api.request('GET', '/api/user', { token })).status).toBe(401);
    expect((await api.request('GET', '/api/user', { token: older })).status).toBe(401);
    expect((await here.get('/settings')).status).toBe(303);
  });

  it('keeps the token when other fields change', async () => {
    const { token } = await twoBrowsersAndAToken();

    const changed = await api.request<{ user: { token: string } }>('PUT', '/api/user', { token, body: { user: { bio: 'auditor' } } });

    expect(changed.body.user.token).toBe(token);
    expect((await api.request('GET', '/api/user', { token })).status).toBe(200);
  });
});
