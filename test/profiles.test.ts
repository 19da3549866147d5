import { describe, expect, it } from 'vitest';
import { Conduit } from './helpers/conduit.ts';
import { useTestApp } from './helpers/app.ts';

const testApp = useTestApp();
const api = new Conduit(() => testApp.app);

interface ProfileBody {
  profile: { username: string; bio: string | null; image: string | null; following: boolean };
}

describe('GET /api/profiles/:username', () => {
  it('shows a profile to anonymous visitors with following=false', async () => {
    const celeb = await api.register();
    await api.request('PUT', '/api/user', { token: celeb.token, body: { user: { bio: 'Famous', image: 'https://example.com/c.png' } } });

    const response = await api.request<ProfileBody>('GET', `/api/profiles/${celeb.username}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      profile: { username: celeb.username, bio: 'Famous', image: 'https://example.com/c.png', following: false },
    });
  });

  it('answers 404 for an unknown username', async () => {
    const response = await api.request('GET', '/api/profiles/nobody-at-all');

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ errors: { profile: ['not found'] } });
  });

  it('answers 401 for an invalid token even though a token is optional here', async () => {
    const celeb = await api.register();
    const response = await api.request('GET', `/api/profiles/${celeb.username}`, { token: 'not.a.jwt' });

    expect(response.status).toBe(401);
  });
});

describe('following', () => {
  it('follows and unfollows, and the profile says so to the follower only', async () => {
    const fan = await api.register();
    const celeb = await api.register();

    const follow = await api.request<ProfileBody>('POST', `/api/profiles/${celeb.username}/follow`, { token: fan.token });
    const seenByFan = await api.request<ProfileBody>('GET', `/api/profiles/${celeb.username}`, { token: fan.token });
    const seenByStranger = await api.request<ProfileBody>('GET', `/api/profiles/${celeb.username}`);
    const unfollow = await api.request<ProfileBody>('DELETE', `/api/profiles/${celeb.username}/follow`, {
      token: fan.token,
      headers: { 'content-type': 'application/json' },
    });

    expect(follow.status).toBe(200);
    expect(follow.body.profile.following).toBe(true);
    expect(seenByFan.body.profile.following).toBe(true);
    expect(seenByStranger.body.profile.following).toBe(false);
    expect(unfollow.status).toBe(200);
    expect(unfollow.body.profile.following).toBe(false);
  });

  it('is idempotent: following twice keeps one follow', async () => {
    const fan = await api.register();
    const celeb = await api.register();

    await api.request('POST', `/api/profiles/${celeb.username}/follow`, { token: fan.token });
    const again = await api.request<ProfileBody>('POST', `/api/profiles/${celeb.username}/follow`, { token: fan.token });

    expect(again.status).toBe(200);
    expect(again.body.profile.following).toBe(true);
    const follows = await testApp.app.db
      .selectFrom('follows')
      .innerJoin('users as follower', 'follower.id', 'follows.follower_id')
      .innerJoin('users as followed', 'followed.id', 'follows.followed_id')
      .select('follows.created_at')
      .where('follower.username', '=', fan.username)
      .where('followed.username', '=', celeb.username)
      .execute();
    expect(follows).toHaveLength(1);
  });

  it('ignores whatever body the follow request carries (the Postman suite sends one)', async () => {
    const fan = await api.register();
    const celeb = await api.register();

    const response = await api.request<ProfileBody>('POST', `/api/profiles/${celeb.username}/follow`, {
      token: fan.token,
      body: { user: { email: fan.email } },
    });

    expect(response.status).toBe(200);
    expect(response.body.profile.following).toBe(true);
  });

  it('refuses to follow yourself with 422', async () => {
    const user = await api.register();
    const response = await api.request('POST', `/api/profiles/${user.username}/follow`, { token: user.token });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({ errors: { profile: ['cannot be followed by itself'] } });
  });

  it('answers 404 when following or unfollowing an unknown user', async () => {
    const fan = await api.register();

    const follow = await api.request('POST', '/api/profiles/ghost/follow', { token: fan.token });
    const unfollow = await api.request('DELETE', '/api/profiles/ghost/follow', { token: fan.token });

    expect(follow.status).toBe(404);
    expect(unfollow.status).toBe(404);
  });

  it('needs a token to follow', async () => {
    const celeb = await api.register();
    const response = await api.request('POST', `/api/profiles/${celeb.username}/follow`);

    expect(response.status).toBe(401);
  });
});
