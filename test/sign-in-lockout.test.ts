import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conduit, uniqueName } from './helpers/conduit.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';

let testApp: TestApp;
let api: Conduit;

beforeAll(async () => {
  // Behind a trusted proxy, so each test can speak from its own client address.
  testApp = await createTestApp({ env: { SIGNIN_MAX_FAILURES: '3', SIGNIN_MAX_FAILURES_PER_ADDRESS: '8', SIGNIN_LOCKOUT: '2', TRUST_PROXY: 'true' } });
  api = new Conduit(testApp.app);
});
afterAll(() => testApp.close());

let nextAddress = 1;
function freshAddress(): string {
  nextAddress += 1;
  return `10.0.${nextAddress}.1`;
}

/** Calls `attempt` until `done` holds for its result, then returns its status; fails after `timeoutMs`. */
async function pollUntil<T extends { status: number }>(attempt: () => Promise<T>, done: (result: T) => boolean, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await attempt();
    if (done(result)) return result.status;
    if (Date.now() > deadline) throw new Error(`still ${result.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function login(email: string, password: string, address: string) {
  return api.request<{ errors: Record<string, string[]> }>('POST', '/api/users/login', {
    body: { user: { email, password } },
    headers: { 'x-forwarded-for': address },
  });
}

describe('sign-in lockout (API)', () => {
  it('locks an account after repeated failures with 429 and Retry-After, even for the right password', async () => {
    const user = await api.register();
    const address = freshAddress();
    for (let attempt = 0; attempt < 3; attempt += 1) expect((await login(user.email, 'Wrong-Password-1', address)).status).toBe(401);

    const locked = await login(user.email, user.password, freshAddress());

    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(locked.body.errors['sign-in']?.[0]).toMatch(/^is locked after too many failed attempts; try again in \d+ seconds$/);
  });

  it('lets the account in again once the lockout window has passed', async () => {
    const user = await api.register();
    const address = freshAddress();
    for (let attempt = 0; attempt < 3; attempt += 1) await login(user.email, 'Wrong-Password-1', address);
    const startedAt = Date.now();
    expect((await login(user.email, user.password, address)).status).toBe(429);

    const statuses = await pollUntil(() => login(user.email, user.password, address), (response) => response.status !== 429, 10_000);

    expect(statuses).toBe(200);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1000);
  });

  it('forgets earlier failures after a successful sign-in', async () => {
    const user = await api.register();
    const address = freshAddress();
    await login(user.email, 'Wrong-Password-1', address);
    await login(user.email, 'Wrong-Password-1', address);
    expect((await login(user.email, user.password, address)).status).toBe(200);

    await login(user.email, 'Wrong-Password-1', address);
    await login(user.email, 'Wrong-Password-1', address);

    expect((await login(user.email, user.password, address)).status).toBe(200);
  });

  it('holds under concurrency: of 100 wrong passwords sent at once, at most the limit are checked (401), the rest get 429', async () => {
    // A window long enough that it cannot close while 100 hashes queue up on a busy machine.
    const longWindow = await createTestApp({ env: { SIGNIN_MAX_FAILURES: '3', SIGNIN_LOCKOUT: '15m', TRUST_PROXY: 'true' } });
    try {
      const client = new Conduit(longWindow.app);
      const user = await client.register();
      const address = freshAddress();
      const attempt = () =>
        client.request('POST', '/api/users/login', { body: { user: { email: user.email, password: 'Wrong-Password-1' } }, headers: { 'x-forwarded-for': address } });

      const responses = await Promise.all(Array.from({ length: 100 }, attempt));

      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(3);
      expect(statuses.filter((status) => status === 429)).toHaveLength(97);
    } finally {
      await longWindow.close();
    }
  });

  it('gives a successful sign-in its attempt back, so signing in often from one address never locks it', async () => {
    const user = await api.register();
    const address = freshAddress();

    for (let attempt = 0; attempt < 10; attempt += 1) expect((await login(user.email, user.password, address)).status).toBe(200);
  });

  it('locks a client address that fails across many accounts, but not other addresses', async () => {
    const victim = await api.register();
    for (let attempt = 0; attempt < 8; attempt += 1) await login(`${uniqueName()}@example.com`, 'Wrong-Password-1', '10.9.9.9');

    const fromAttacker = await login(victim.email, victim.password, '10.9.9.9');
    const fromElsewhere = await login(victim.email, victim.password, '10.1.1.1');

    expect(fromAttacker.status).toBe(429);
    expect(fromElsewhere.status).toBe(200);
  });
});
