import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_FILE_NAME } from '../../src/db/database.ts';
import { TEST_JWT_SECRET, TEST_SESSION_SECRET } from '../helpers/app.ts';
import { STRONG_PASSWORD } from '../helpers/conduit.ts';
import { logLinesOnce, startTestServer, type TestServer } from '../helpers/process.ts';

/**
 * The data directory's filesystem fills up under the real server process: a small tmpfs
 * (mounting needs root, as CI has). Writes must answer 503 with Retry-After and say why in the
 * log, the condition must show in /metrics and /readyz, and once space is freed writes must
 * work again without a restart, with an intact database.
 */
const mountPoint = mkdtempSync(join(tmpdir(), 'shipshape-full-'));
const filler = join(mountPoint, 'filler');
let server: TestServer;
let token: string;

beforeAll(async () => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountPoint]);
  server = await startTestServer({ DATA_DIR: mountPoint, JWT_SECRET: TEST_JWT_SECRET, SESSION_SECRET: TEST_SESSION_SECRET });
  const registered = await api('POST', '/api/users', { user: { username: 'filler', email: 'filler@example.com', password: STRONG_PASSWORD } });
  token = ((await registered.json()) as { user: { token: string } }).user.token;
});

afterAll(async () => {
  await server.stop();
  execFileSync('umount', [mountPoint]);
  rmdirSync(mountPoint);
});

function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.baseUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Token ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

let written = 0;
function publish(): Promise<Response> {
  written += 1;
  return api('POST', '/api/articles', { article: { title: `Ledger ${written}`, description: 'd', body: 'x'.repeat(20_000) } });
}

/** Fills the filesystem to the last byte. */
function fillDisk(): void {
  const fd = openSync(filler, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  try {
    for (;;) writeSync(fd, block, 0, 512);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

async function metric(name: string): Promise<string | undefined> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
}

describe('a full disk', () => {
  const acknowledged: string[] = [];

  it('answers writes with 503 and Retry-After, logs SQLITE_FULL, and says so in /metrics and /readyz', async () => {
    fillDisk();
    let refused: Response | undefined;
    for (let attempt = 0; attempt < 50 && refused === undefined; attempt += 1) {
      const response = await publish();
      if (response.status === 201) acknowledged.push(((await response.json()) as { article: { slug: string } }).article.slug);
      else refused = response;
    }

    expect(refused?.status).toBe(503);
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused?.json()).toEqual({ errors: { database: ['is unavailable (storage full); try again shortly'] } });
    const lines = await logLinesOnce(server.process, (line) => line.msg === 'database unavailable');
    const errors = lines.filter((line) => line.level === 'error');
    expect(errors).toContainEqual(expect.objectContaining({ msg: 'database unavailable', database: 'storage full', err: expect.objectContaining({ code: 'SQLITE_FULL' }) }));
    expect(JSON.stringify(errors)).not.toContain('cannot rollback');
    expect(await metric('shipshape_database_storage_full')).toBe('1');
    const ready = await fetch(`${server.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', degraded: ['database storage is full: writes answer 503'] });
    expect((await api('GET', '/api/articles?limit=1')).status).toBe(200);
  });

  it('recovers once space is freed, without a restart, and the database is intact', async () => {
    rmSync(filler);

    const response = await publish();
    acknowledged.push(((await response.json()) as { article: { slug: string } }).article.slug);

    expect(response.status).toBe(201);
    expect(await metric('shipshape_database_storage_full')).toBe('0');
    expect(await (await fetch(`${server.baseUrl}/readyz`)).json()).toEqual({ status: 'ready' });
    expect(await server.stop()).toBe(0);
    const db = new SQLite(join(mountPoint, SQLITE_FILE_NAME), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const slugs = (db.prepare('select slug from articles').all() as { slug: string }[]).map((row) => row.slug);
      expect(slugs.sort()).toEqual([...acknowledged].sort());
    } finally {
      db.close();
    }
  });
});
