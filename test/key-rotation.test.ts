import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, createTestStorage, type TestApp, type TestStorage } from './helpers/app.ts';
import { WebClient } from './helpers/browser.ts';
import { Conduit } from './helpers/conduit.ts';

/**
 * Rotating the signing keys, as operators would across three deploys on one database: the
 * old keys alone; then the new keys first with the old ones still listed; then the new keys
 * alone. A token and a web session from before keep working through the second step and stop
 * at the third; new ones are signed with the new key all along.
 */
const OLD_JWT = 'old-jwt-key-that-is-long-enough-0123456789abcdef';
const NEW_JWT = 'new-jwt-key-that-is-long-enough-0123456789abcdef';
const OLD_SESSION = 'old-session-key-that-is-long-enough-0123456789ab';
const NEW_SESSION = 'new-session-key-that-is-long-enough-0123456789ab';
const SESSION_COOKIE = 'shipshape.sid';

let storage: TestStorage;
const running: TestApp[] = [];

async function deploy(env: Record<string, string>): Promise<TestApp> {
  const app = await createTestApp({ storage, env: { JWT_SECRET: '', SESSION_SECRET: '', ...env } });
  running.push(app);
  return app;
}

beforeAll(async () => {
  storage = await createTestStorage();
});
afterAll(async () => {
  for (const app of running) await app.close();
  await storage.remove();
});

function kidOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
}

async function signedInAs(app: TestApp, token: string) {
  return new Conduit(app.app).request<{ user: { username: string } }>('GET', '/api/user', { token });
}

/** The same browser (its session cookie) visiting another deploy. */
function sameBrowserOn(app: TestApp, sessionCookie: string): WebClient {
  const browser = new WebClient(app.app);
  browser.setCookie(SESSION_COOKIE, sessionCookie);
  return browser;
}

describe('signing key rotation', () => {
  it('keeps tokens and sessions working while the old keys are listed, and ends them once they are removed', async () => {
    const before = await deploy({ JWT_SECRET: OLD_JWT, SESSION_SECRET: OLD_SESSION });
    const user = await new Conduit(before.app).register();
    const browser = new WebClient(before.app);
    await browser.signIn(user.email, user.password);
    const cookie = browser.cookie(SESSION_COOKIE)!;
    expect((await browser.get('/settings')).status).toBe(200);

    const during = await deploy({ JWT_SECRETS: `${NEW_JWT},${OLD_JWT}`, SESSION_SECRETS: `${NEW_SESSION},${OLD_SESSION}` });
    expect((await signedInAs(during, user.token)).status).toBe(200);
    expect((await sameBrowserOn(during, cookie).get('/settings')).status).toBe(200);
    const login = await new Conduit(during.app).request<{ user: { token: string } }>('POST', '/api/users/login', { body: { user: { email: user.email, password: user.password } } });
    const newToken = login.body.user.token;
    expect(kidOf(newToken)).not.toBe(kidOf(user.token));

    const after = await deploy({ JWT_SECRET: NEW_JWT, SESSION_SECRET: NEW_SESSION });
    const oldToken = await signedInAs(after, user.token);
    expect(oldToken.status).toBe(401);
    expect(oldToken.body).toEqual({ errors: { token: ['was signed with a key that is no longer accepted; sign in again'] } });
    const oldSession = await sameBrowserOn(after, cookie).get('/settings');
    expect(oldSession.status).toBe(303);
    expect(oldSession.location).toBe('/login?next=%2Fsettings');
    expect((await signedInAs(after, newToken)).status).toBe(200);
  });

  it('still takes tokens issued before key ids existed, signed with the current key', async () => {
    const app = await deploy({ JWT_SECRET: NEW_JWT, SESSION_SECRET: NEW_SESSION });
    const { token } = await new Conduit(app.app).register();
    const [header, payload, signature] = token.split('.');
    const withoutKid = JSON.parse(Buffer.from(header!, 'base64url').toString()) as Record<string, unknown>;
    delete withoutKid.kid;
    const unsigned = `${Buffer.from(JSON.stringify(withoutKid)).toString('base64url')}.${payload}`;
    const legacy = `${unsigned}.${createHmac('sha256', NEW_JWT).update(unsigned).digest('base64url')}`;
    expect(signature).not.toBe(legacy.split('.')[2]);

    expect((await signedInAs(app, legacy)).status).toBe(200);
  });
});
