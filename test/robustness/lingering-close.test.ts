import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINGER_MS } from '../../src/plugins/app/lingering-close.ts';
import { createTestStorage, TEST_JWT_SECRET, TEST_SESSION_SECRET, type TestStorage } from '../helpers/app.ts';
import { STRONG_PASSWORD, uniqueName } from '../helpers/conduit.ts';
import { startTestServer, type TestServer } from '../helpers/process.ts';

/**
 * Clients that send a whole oversized body without waiting for 100 Continue, against the real
 * server process (in one process with the client, the timing that breaks the pipe never occurs).
 */
let storage: TestStorage;
let server: TestServer;
let token: string;

beforeAll(async () => {
  storage = await createTestStorage();
  server = await startTestServer({
    DATA_DIR: storage.dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    SESSION_SECRET: TEST_SESSION_SECRET,
    ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl } : {}),
  });
  const username = uniqueName();
  const registered = await fetch(`${server.baseUrl}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { username, email: `${username}@example.com`, password: STRONG_PASSWORD } }),
  });
  token = ((await registered.json()) as { user: { token: string } }).user.token;
});
afterAll(async () => {
  await server.stop();
  await storage.remove();
});

const fiveMegabytes = () => Buffer.alloc(5 * 1024 * 1024, 'a');

describe('an oversized body sent in full', () => {
  it('gets the 413 with Node\'s fetch, not a broken pipe, every time', async () => {
    const outcomes: (number | string)[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const response = await fetch(`${server.baseUrl}/api/articles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Token ${token}` },
        body: fiveMegabytes(),
      }).catch((error: unknown) => String((error as { cause?: { code?: string } }).cause?.code ?? error));
      outcomes.push(typeof response === 'string' ? response : response.status);
      if (typeof response !== 'string') expect(await response.json()).toEqual({ errors: { body: ['is too large'] } });
    }

    expect(outcomes).toEqual([413, 413, 413, 413, 413]);
  });

  it('gets the 413 when sent chunked, without a length announced', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let chunk = 0; chunk < 80; chunk += 1) controller.enqueue(new Uint8Array(64 * 1024).fill(97));
        controller.close();
      },
    });
    const response = await fetch(`${server.baseUrl}/api/articles`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Token ${token}` },
      body,
      duplex: 'half',
    });

    expect(response.status).toBe(413);
  });

  it('gets the 401 when the token is missing, and the connection serves the next request', async () => {
    const response = await fetch(`${server.baseUrl}/api/articles`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fiveMegabytes() });
    const next = await fetch(`${server.baseUrl}/api/tags`);

    expect(response.status).toBe(401);
    expect(next.status).toBe(200);
  });

  it('stops reading a body that never ends: the socket closes within the lingering time', async () => {
    const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', () => undefined);
    socket.write(`POST /api/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Token ${token}\r\nContent-Length: 1000000000\r\n\r\n`);
    const trickle = setInterval(() => socket.write(Buffer.alloc(1024, 'a')), 50);
    const started = Date.now();

    const closedAt = await closed;
    clearInterval(trickle);

    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(closedAt - started).toBeLessThan(LINGER_MS + 2_000);
  });
});
