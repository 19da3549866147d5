import { describe, expect, it } from 'vitest';
import { Conduit, STRONG_PASSWORD, uniqueName } from './helpers/conduit.ts';
import { useTestApp } from './helpers/app.ts';

const testApp = useTestApp();
const api = new Conduit(() => testApp.app);

interface UserBody {
  user: { email: string; token: string; username: string; bio: string | null; image: string | null };
}

describe('POST /api/users (registration)', () => {
  it('creates the user and answers 201 with a token and the RealWorld user shape', async () => {
    const username = uniqueName();
    const response = await api.request<UserBody>('POST', '/api/users', {
      body: { user: { username, email: `${username}@Example.COM`, password: STRONG_PASSWORD } },
    });

    expect(response.status).toBe(201);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.body.user).toEqual({
      email: `${username}@example.com`,
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      username,
      bio: null,
      image: null,
    });
  });

  it('refuses an email or username already taken, case-insensitively, with 422', async () => {
    const existing = await api.register();

    const sameEmail = await api.request('POST', '/api/users', {
      body: { user: { username: uniqueName(), email: existing.email.toUpperCase(), password: STRONG_PASSWORD } },
    });
    const sameUsername = await api.request('POST', '/api/users', {
      body: { user: { username: existing.username.toUpperCase(), email: `${uniqueName()}@example.com`, password: STRONG_PASSWORD } },
    });

    expect(sameEmail.status).toBe(422);
    expect(sameEmail.body).toEqual({ errors: { email: ['has already been taken'] } });
    expect(sameUsername.status).toBe(422);
    expect(sameUsername.body).toEqual({ errors: { username: ['has already been taken'] } });
  });

  it('lets exactly one of two simultaneous registrations with the same email win; the other gets 422', async () => {
    const email = `${uniqueName()}@example.com`;
    const attempts = await Promise.all(
      [uniqueName(), uniqueName()].map((username) =>
        api.request('POST', '/api/users', { body: { user: { username, email, password: STRONG_PASSWORD } } }),
      ),
    );

    expect(attempts.map((attempt) => attempt.status).sort()).toEqual([201, 422]);
    expect(attempts.find((attempt) => attempt.status === 422)?.body).toEqual({ errors: { email: ['has already been taken'] } });
  });

  it('names every missing field with 422', async () => {
    const response = await api.request('POST', '/api/users', { body: { user: {} } });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({
      errors: { username: ["can't be blank"], email: ["can't be blank"], password: ["can't be blank"] },
    });
  });

  it('rejects a body without the "user" wrapper with 422', async () => {
    const response = await api.request('POST', '/api/users', { body: { email: 'a@b.co' } });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { user: ["can't be blank"] } });
  });

  it('rejects wrong types without coercing them', async () => {
    const response = await api.request('POST', '/api/users', {
      body: { user: { username: 12345, email: 'x@example.com', password: STRONG_PASSWORD } },
    });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { username: ['must be a string'] } });
  });

  it('rejects an invalid email and a username with spaces', async () => {
    const response = await api.request('POST', '/api/users', {
      body: { user: { username: 'two words', email: 'not-an-email', password: STRONG_PASSWORD } },
    });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { username: ['is invalid'], email: ['is invalid'] } });
  });

  it.each([
    ['short1A', 'is too short (minimum is 8 characters)'],
    ['alllowercase1', 'must contain an upper-case letter'],
    ['ALLUPPERCASE1', 'must contain a lower-case letter'],
    ['NoDigitsHere', 'must contain a digit'],
  ])('applies the password policy: %s → %s', async (password, problem) => {
    const username = uniqueName();
    const response = await api.request<{ errors: { password: string[] } }>('POST', '/api/users', {
      body: { user: { username, email: `${username}@example.com`, password } },
    });

    expect(response.status).toBe(422);
    expect(response.body.errors.password).toContain(problem);
  });

  it('rejects passwords over 128 characters', async () => {
    const username = uniqueName();
    const response = await api.request('POST', '/api/users', {
      body: { user: { username, email: `${username}@example.com`, password: `Aa1${'x'.repeat(126)}` } },
    });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { password: ['is too long (maximum is 128 characters)'] } });
  });

  it('stores an argon2id hash, never the password', async () => {
    const user = await api.register();
    const row = await testApp.app.db.selectFrom('users').select('password_hash').where('username', '=', user.username).executeTakeFirstOrThrow();

    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row.password_hash).not.toContain(user.password);
  });
});

describe('POST /api/users/login', () => {
  it('signs in with the right password, whatever the email case', async () => {
    const user = await api.register();
    const response = await api.request<UserBody>('POST', '/api/users/login', {
      body: { user: { email: user.email.toUpperCase(), password: user.password } },
    });

    expect(response.status).toBe(200);
    expect(response.body.user.username).toBe(user.username);
    expect(response.body.user.token).toEqual(expect.any(String));
  });

  it('answers 401 without saying whether the email or the password was wrong', async () => {
    const user = await api.register();
    const wrongPassword = await api.request('POST', '/api/users/login', {
      body: { user: { email: user.email, password: 'Wrong-Password-1' } },
    });
    const unknownEmail = await api.request('POST', '/api/users/login', {
      body: { user: { email: 'nobody@example.com', password: 'Wrong-Password-1' } },
    });

    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.body).toEqual({ errors: { 'email or password': ['is invalid'] } });
    expect(unknownEmail.body).toEqual(wrongPassword.body);
  });

  it('answers 422 for missing credentials', async () => {
    const response = await api.request('POST', '/api/users/login', { body: { user: { email: '' } } });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { email: ["can't be blank"], password: ["can't be blank"] } });
  });
});

describe('GET /api/user', () => {
  it('returns the signed-in user with the token that was sent', async () => {
    const user = await api.register();
    const response = await api.request<UserBody>('GET', '/api/user', { token: user.token });

    expect(response.status).toBe(200);
    expect(response.body.user).toMatchObject({ username: user.username, email: user.email, token: user.token });
  });

  it('answers 401 with WWW-Authenticate when no token is sent', async () => {
    const response = await api.request('GET', '/api/user');

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Token');
    expect(response.body).toEqual({ errors: { token: ['is missing; send "Authorization: Token <jwt>"'] } });
  });
});

describe('PUT /api/user', () => {
  it('updates bio, image, username and email and returns the result', async () => {
    const user = await api.register();
    const newName = uniqueName('renamed');
    const response = await api.request<UserBody>('PUT', '/api/user', {
      token: user.token,
      body: { user: { bio: 'I like to skateboard', image: 'https://example.com/me.png', username: newName, email: `${newName}@example.com` } },
    });

    expect(response.status).toBe(200);
    expect(response.body.user).toEqual({
      email: `${newName}@example.com`,
      token: user.token,
      username: newName,
      bio: 'I like to skateboard',
      image: 'https://example.com/me.png',
    });
    const reread = await api.request<UserBody>('GET', '/api/user', { token: user.token });
    expect(reread.body.user.username).toBe(newName);
  });

  it('accepts the user\'s own current email (the Postman suite does this)', async () => {
    const user = await api.register();
    const response = await api.request('PUT', '/api/user', { token: user.token, body: { user: { email: user.email } } });

    expect(response.status).toBe(200);
  });

  it('clears bio and image when they are sent empty or null', async () => {
    const user = await api.register();
    await api.request('PUT', '/api/user', { token: user.token, body: { user: { bio: 'x', image: 'https://example.com/a.png' } } });
    const response = await api.request<UserBody>('PUT', '/api/user', { token: user.token, body: { user: { bio: '  ', image: null } } });

    expect(response.body.user.bio).toBeNull();
    expect(response.body.user.image).toBeNull();
  });

  it('changes the password: the old one stops working, the new one works', async () => {
    const user = await api.register();
    const newPassword = 'Another-Strong-7';
    const change = await api.request('PUT', '/api/user', { token: user.token, body: { user: { password: newPassword } } });
    const withOld = await api.request('POST', '/api/users/login', { body: { user: { email: user.email, password: user.password } } });
    const withNew = await api.request('POST', '/api/users/login', { body: { user: { email: user.email, password: newPassword } } });

    expect(change.status).toBe(200);
    expect(withOld.status).toBe(401);
    expect(withNew.status).toBe(200);
  });

  it('applies the password policy to a new password', async () => {
    const user = await api.register();
    const response = await api.request<{ errors: { password: string[] } }>('PUT', '/api/user', {
      token: user.token,
      body: { user: { password: 'weakpassword' } },
    });

    expect(response.status).toBe(422);
    expect(response.body.errors.password).toEqual(['must contain an upper-case letter', 'must contain a digit']);
  });

  it('refuses an email or username that belongs to someone else', async () => {
    const user = await api.register();
    const other = await api.register();
    const response = await api.request('PUT', '/api/user', {
      token: user.token,
      body: { user: { email: other.email, username: other.username } },
    });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { email: ['has already been taken'], username: ['has already been taken'] } });
  });

  it('needs at least one field', async () => {
    const user = await api.register();
    const response = await api.request('PUT', '/api/user', { token: user.token, body: { user: {} } });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { user: ['must contain at least one field'] } });
  });

  it('rejects an image that is not an http(s) URL', async () => {
    const user = await api.register();
    const response = await api.request('PUT', '/api/user', { token: user.token, body: { user: { image: 'javascript:alert(1)' } } });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { image: ['is invalid'] } });
  });

  it('says which types a nullable field takes when given another', async () => {
    const user = await api.register();
    const response = await api.request('PUT', '/api/user', { token: user.token, body: { user: { bio: 42 } } });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { bio: ['must be a string or null'] } });
  });

  it('needs a token', async () => {
    const response = await api.request('PUT', '/api/user', { body: { user: { bio: 'x' } } });

    expect(response.status).toBe(401);
  });
});
