import { createSigner } from 'fast-jwt';
import { describe, expect, it } from 'vitest';
import { Conduit } from './helpers/conduit.ts';
import { TEST_JWT_SECRET, useTestApp } from './helpers/app.ts';

const testApp = useTestApp({ env: { JWT_TTL: '1h' } });
const api = new Conduit(() => testApp.app);

function currentUserWith(authorization: string) {
  return api.request<{ errors: { token: string[] } }>('GET', '/api/user', { headers: { authorization } });
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('tokens', () => {
  it('issues HS256 tokens with issuer, subject and the configured lifetime', async () => {
    const user = await api.register();
    const [header, payload] = user.token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);

    expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ iss: 'shipshape', sub: expect.stringMatching(/^\d+$/) });
    expect(Number(payload!.exp) - Number(payload!.iat)).toBe(3600);
  });

  it('accepts the RealWorld "Token" scheme and the common "Bearer" scheme', async () => {
    const user = await api.register();

    expect((await currentUserWith(`Token ${user.token}`)).status).toBe(200);
    expect((await currentUserWith(`Bearer ${user.token}`)).status).toBe(200);
  });

  it.each([
    ['a scheme without a token', 'Token'],
    ['an unknown scheme', 'Basic dXNlcjpwYXNz'],
    ['extra words', 'Token a b'],
  ])('refuses %s as malformed', async (_case, header) => {
    const response = await currentUserWith(header);

    expect(response.status).toBe(401);
    expect(response.body.errors.token[0]).toMatch(/^is malformed/);
  });

  it('refuses an expired token with a message that says so', async () => {
    const user = await api.register();
    const userId = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString()) as { sub: string };
    const signInThePast = createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', iss: 'shipshape', expiresIn: 60_000, clockTimestamp: Date.now() - 3_600_000 });

    const response = await currentUserWith(`Token ${signInThePast({ sub: userId.sub })}`);

    expect(response.status).toBe(401);
    expect(response.body).toEqual({ errors: { token: ['has expired'] } });
  });

  it.each([
    ['signed with another secret', createSigner({ key: 'another-secret-another-secret-another-secret', algorithm: 'HS256', iss: 'shipshape', expiresIn: 60_000 })({ sub: '1' })],
    ['signed with HS512 (algorithm pinned to HS256)', createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS512', iss: 'shipshape', expiresIn: 60_000 })({ sub: '1' })],
    ['from another issuer', createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', iss: 'someone-else', expiresIn: 60_000 })({ sub: '1' })],
    ['without an expiry', createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', iss: 'shipshape' })({ sub: '1' })],
    ['with a non-numeric subject', createSigner({ key: TEST_JWT_SECRET, algorithm: 'HS256', iss: 'shipshape', expiresIn: 60_000 })({ sub: 'admin' })],
    ['unsigned (alg "none")', `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: '1', iss: 'shipshape', exp: 9_999_999_999 })}.`],
    ['garbage', 'not-a-token'],
  ])('refuses a token %s', async (_case, token) => {
    const response = await currentUserWith(`Token ${token}`);

    expect(response.status).toBe(401);
    expect(response.body).toEqual({ errors: { token: ['is invalid'] } });
  });

  it('refuses a valid token whose user no longer exists', async () => {
    const user = await api.register();
    await testApp.app.db.deleteFrom('users').where('username', '=', user.username).execute();

    const response = await currentUserWith(`Token ${user.token}`);

    expect(response.status).toBe(401);
    expect(response.body).toEqual({ errors: { token: ['is invalid'] } });
  });
});
