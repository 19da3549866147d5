import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.ts';
import { WebClient, text } from './helpers/browser.ts';
import { Conduit, uniqueName } from './helpers/conduit.ts';

const LIMIT = 5;
// Behind a trusted proxy, so each test can speak from its own client address.
const env = { RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW: '1h', TRUST_PROXY: 'true', SIGNIN_MAX_FAILURES_PER_ADDRESS: '1000' };

let replicaA: TestApp;
let replicaB: TestApp;
let api: Conduit;

beforeAll(async () => {
  replicaA = await createTestApp({ env });
  // A second replica on the same database, as production runs them.
  replicaB = await createTestApp({ env, storage: replicaA.storage });
  api = new Conduit(replicaA.app);
});
afterAll(async () => {
  await replicaB.close();
  await replicaA.close();
});

let nextAddress = 1;
function freshAddress(): string {
  nextAddress += 1;
  return `10.1.${nextAddress}.1`;
}

/** Registers through its own address, so the registration itself does not use up a test's budget. */
async function registerUser() {
  return api.request<{ user: { token: string; username: string } }>('POST', '/api/users', {
    body: { user: { username: uniqueName('rl'), email: `${uniqueName('rl')}@example.com`, password: 'Correct-Horse-9' } },
    headers: { 'x-forwarded-for': freshAddress() },
  });
}

function writeArticle(client: Conduit, token: string, address = freshAddress()) {
  return client.request('POST', '/api/articles', {
    token,
    body: { article: { title: uniqueName('limited'), description: 'd', body: 'b', tagList: [] } },
    headers: { 'x-forwarded-for': address },
  });
}

describe('request rate limits (API)', () => {
  it('allows RATE_LIMIT_MAX writes per user, then answers 429 with Retry-After in the unified format', async () => {
    const { token } = (await registerUser()).body.user;
    for (let write = 0; write < LIMIT; write += 1) expect((await writeArticle(api, token)).status).toBe(201);

    const refused = await writeArticle(api, token);

    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(refused.body).toEqual({ errors: { requests: [expect.stringMatching(/^are limited to 5 changes per hour; try again in /)] } });
  });

  it('counts per token, whatever address it comes from, and leaves reads and other users alone', async () => {
    const limited = (await registerUser()).body.user;
    const other = (await registerUser()).body.user;
    for (let write = 0; write < LIMIT; write += 1) await writeArticle(api, limited.token);
    expect((await writeArticle(api, limited.token)).status).toBe(429);

    for (let read = 0; read < LIMIT * 3; read += 1) {
      expect((await api.request('GET', '/api/articles', { token: limited.token })).status).toBe(200);
    }
    expect((await api.request('GET', '/api/user', { token: limited.token })).status).toBe(200);
    expect((await writeArticle(api, other.token)).status).toBe(201);
  });

  it('counts anonymous writes per client address', async () => {
    const address = freshAddress();
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= LIMIT; attempt += 1) {
      const response = await api.request('POST', '/api/users/login', {
        body: { user: { email: `${uniqueName('nobody')}@example.com`, password: 'Wrong-Password-1' } },
        headers: { 'x-forwarded-for': address },
      });
      statuses.push(response.status);
    }

    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await registerUser()).status).toBe(201);
  });

  it('holds under concurrency: of 40 simultaneous writes, exactly RATE_LIMIT_MAX get through', async () => {
    const { token } = (await registerUser()).body.user;

    const responses = await Promise.all(Array.from({ length: 40 }, () => writeArticle(api, token)));

    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40 - LIMIT);
  });

  it('is shared by replicas on the same database: writes through A count on B', async () => {
    const { token } = (await registerUser()).body.user;
    const throughB = new Conduit(replicaB.app);
    for (let write = 0; write < LIMIT; write += 1) {
      expect((await writeArticle(write % 2 === 0 ? api : throughB, token)).status).toBe(201);
    }

    expect((await writeArticle(throughB, token)).status).toBe(429);
    expect((await writeArticle(api, token)).status).toBe(429);
  });
});

describe('request rate limits (web)', () => {
  it('limits form posts per signed-in user and explains on the error page', async () => {
    const web = new WebClient(replicaA.app);
    // Sign-up and sign-in are anonymous writes from this client's address; then each post counts against the user.
    await web.signUp();
    const statuses: number[] = [];
    for (let post = 0; post <= LIMIT; post += 1) {
      await web.get('/editor');
      const page = await web.post('/editor', { title: uniqueName('web limited'), description: 'd', body: 'b', tags: '' });
      statuses.push(page.status);
      if (page.status === 429) {
        expect(Number(page.headers['retry-after'])).toBeGreaterThan(0);
        expect(text(page.document.querySelector('main'))).toContain('are limited to 5 changes per hour');
      }
    }

    expect(statuses).toEqual([303, 303, 303, 303, 303, 429]);
  });
});

describe('request rate limit window', () => {
  let shortWindow: TestApp;
  beforeAll(async () => {
    shortWindow = await createTestApp({ env: { ...env, RATE_LIMIT_WINDOW: '1' } });
  });
  afterAll(() => shortWindow.close());

  it('lets writes through again once the window has passed', async () => {
    const client = new Conduit(shortWindow.app);
    const { token } = await client.register();
    const address = freshAddress();
    let status = 201;
    for (let write = 0; write < LIMIT * 4 && status !== 429; write += 1) status = (await writeArticle(client, token, address)).status;
    expect(status).toBe(429);

    const deadline = Date.now() + 5000;
    while (status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await writeArticle(client, token, address)).status;
    }

    expect(status).toBe(201);
  });
});
