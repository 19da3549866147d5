import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleServer } from '../scripts/build/bundle-server.ts';
import { createTestStorage, type TestStorage } from './helpers/app.ts';
import { STRONG_PASSWORD, uniqueName } from './helpers/conduit.ts';
import { freePort, productionEnv, ROOT, type RunningProcess, startProcess, waitFor } from './helpers/process.ts';

/**
 * The bundled server (npm run build writes it to dist/server.js) run as the image runs it, laid
 * out as dist/ is: the first request of every feature whose code loads on first use (argon2,
 * slugify, Markdown, the SQLite reader thread, Swagger UI's and the pages' files) must work.
 */
describe('the bundled server', () => {
  let root: string;
  let storage: TestStorage;
  let server: RunningProcess;
  let base: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'shipshape-bundle-'));
    await bundleServer(join(root, 'dist'));
    cpSync(join(ROOT, 'src/views'), join(root, 'dist/views'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    storage = await createTestStorage();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = startProcess(process.execPath, [join(root, 'dist/server.js')], {
      ...productionEnv(),
      COOKIE_SECURE: 'false',
      DATA_DIR: storage.dataDir,
      ...(storage.databaseUrl === undefined ? {} : { DATABASE_URL: storage.databaseUrl, MIGRATE_ON_START: 'true' }),
      PORT: String(port),
      SHUTDOWN_DELAY_SECONDS: '0',
    });
    await waitFor(`${base}/readyz`, 200, 20_000, server);
  });

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await storage?.remove();
    rmSync(root, { recursive: true, force: true });
  });

  async function api<T>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: T }> {
    const response = await fetch(`${base}/api${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Token ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as T };
  }

  it('signs up and in (argon2), writes an article (slugify) and renders its Markdown page on the first requests', async () => {
    const username = uniqueName('bundled');
    const email = `${username}@example.com`;
    const registered = await api('POST', '/users', { user: { username, email, password: STRONG_PASSWORD } });
    expect(registered.status).toBe(201);
    const signedIn = await api<{ user: { token: string } }>('POST', '/users/login', { user: { email, password: STRONG_PASSWORD } });
    expect(signedIn.status).toBe(200);
    const token = signedIn.json.user.token;

    const created = await api<{ article: { slug: string } }>('POST', '/articles', { article: { title: 'Déjà Vu Again', description: 'd', body: '# Heading\n\n[a link](https://example.com)', tagList: ['bundled'] } }, token);
    expect(created.status).toBe(201);
    expect(created.json.article.slug).toBe('deja-vu-again');

    const page = await fetch(`${base}/article/deja-vu-again`);
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('<h2>Heading</h2>');
    expect(html).toContain('<a href="https://example.com" rel="nofollow noopener noreferrer">a link</a>');

    // Two filters at once run in the SQLite reader thread, a file of its own in the bundle.
    const filtered = await api<{ articlesCount: number }>('GET', `/articles?tag=bundled&author=${username}`);
    expect(filtered.status).toBe(200);
    expect(filtered.json.articlesCount).toBe(1);
  });

  it('serves Swagger UI and the pages\' static files, which stay beside their packages', async () => {
    const docs = await fetch(`${base}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui');
    const stylesheet = await fetch(`${base}/assets/app.css`);
    expect(stylesheet.status).toBe(200);
  });
});
