import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.ts';
import type { Database } from '../src/db/schema.ts';
import { BACKUP_MAGIC } from '../src/ops/backup-file.ts';
import { createTestStorage, dialectUnderTest, TEST_JWT_SECRET, TEST_SESSION_SECRET, type TestStorage } from './helpers/app.ts';
import { jsonLines, runNode, startTestServer, type TestServer } from './helpers/process.ts';

/**
 * The disaster-recovery drill, on the database under test: write under load, back up in the
 * middle of it with the server running, write more, restore into a fresh database, and find
 * exactly what the backup point had acknowledged, whole and consistent.
 */
let storage: TestStorage;
let server: TestServer;
let token: string;

function envFor(target: TestStorage): Record<string, string> {
  return { DATA_DIR: target.dataDir, ...(target.databaseUrl ? { DATABASE_URL: target.databaseUrl } : {}), LOG_LEVEL: 'info' };
}

beforeAll(async () => {
  storage = await createTestStorage();
  server = await startTestServer({ ...envFor(storage), JWT_SECRET: TEST_JWT_SECRET, SESSION_SECRET: TEST_SESSION_SECRET, RATE_LIMIT_MAX: '1000000', LOG_LEVEL: 'warn' });
  const response = await fetch(`${server.baseUrl}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: { username: 'drill', email: 'drill@example.com', password: 'Correct-Horse-9' } }),
  });
  token = ((await response.json()) as { user: { token: string } }).user.token;
}, 60_000);

afterAll(async () => {
  await server.stop();
  await storage.remove();
});

interface Write {
  readonly slug: string;
  readonly startedAt: number;
  readonly acknowledgedAt: number;
}

function writeLoad() {
  const writes: Write[] = [];
  let running = true;
  let counter = 0;
  const loops = Array.from({ length: 3 }, async () => {
    while (running) {
      const startedAt = Date.now();
      const response = await fetch(`${server.baseUrl}/api/articles`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Token ${token}` },
        body: JSON.stringify({ article: { title: `Drill ${counter++}`, description: 'd', body: 'b', tagList: ['drill', `batch${counter % 5}`] } }),
      });
      const body = (await response.json()) as { article?: { slug: string } };
      if (response.status === 201 && body.article) writes.push({ slug: body.article.slug, startedAt, acknowledgedAt: Date.now() });
    }
  });
  return {
    writes,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

function openRestored(target: TestStorage): Kysely<Database> {
  return openDatabase({ dataDir: target.dataDir, databaseUrl: target.databaseUrl, databasePoolSize: 2 }).db;
}

describe(`backup and restore (${dialectUnderTest})`, () => {
  it('restores exactly what the backup point acknowledged, taken mid-load with the server running', async () => {
    const load = writeLoad();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const file = join(storage.dataDir, 'drill.backup');
    const backupStarted = Date.now();
    const backup = await runNode('src/cli.ts', ['backup', '--out', file], envFor(storage));
    const backupEnded = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await load.stop();
    expect(backup.code, backup.output).toBe(0);

    const fresh = await createTestStorage();
    try {
      const restoreStarted = Date.now();
      const restore = await runNode('src/cli.ts', ['restore', '--from', file, '--force'], envFor(fresh));
      const restoreMs = Date.now() - restoreStarted;
      expect(restore.code, restore.output).toBe(0);

      const db = openRestored(fresh);
      try {
        const present = new Set((await db.selectFrom('articles').select('slug').execute()).map((row) => row.slug));
        const before = load.writes.filter((write) => write.acknowledgedAt < backupStarted);
        const after = load.writes.filter((write) => write.startedAt > backupEnded);
        const inWindow = load.writes.length - before.length - after.length;
        const [logLine] = jsonLines(backup.output).filter((line) => line.msg === 'backup written');
        console.log(
          `backup drill (${dialectUnderTest}): ${load.writes.length} writes acknowledged; ${before.length} before the backup (all restored: ${before.every((write) => present.has(write.slug))}), ` +
            `${inWindow} during it, ${after.length} after (restored: ${after.filter((write) => present.has(write.slug)).length}); backup ${backupEnded - backupStarted} ms, ` +
            `${String(logLine?.bytes)} bytes; restore ${restoreMs} ms`,
        );

        expect(before.length).toBeGreaterThan(10);
        expect(after.length).toBeGreaterThan(5);
        for (const write of before) expect(present.has(write.slug), write.slug).toBe(true);
        for (const write of after) expect(present.has(write.slug), write.slug).toBe(false);
        // Whole rows only: every restored article has its author and both of its tags.
        const partial = await db
          .selectFrom('articles as a')
          .leftJoin('article_tags as t', 't.article_id', 'a.id')
          .select(['a.slug', (eb) => eb.fn.count<number>('t.tag_id').as('tags')])
          .groupBy('a.slug')
          .having((eb) => eb.fn.count('t.tag_id'), '<>', 2)
          .execute();
        expect(partial).toEqual([]);
        const orphans = await sql<{ n: number }>`select count(*) as n from articles a where not exists (select 1 from users u where u.id = a.author_id)`.execute(db);
        expect(Number(orphans.rows[0]!.n)).toBe(0);
      } finally {
        await db.destroy();
      }
    } finally {
      await fresh.remove();
    }
  }, 90_000);

  it('refuses to restore over the database a running server uses, and leaves it untouched', async () => {
    const file = join(storage.dataDir, 'refuse.backup');
    expect((await runNode('src/cli.ts', ['backup', '--out', file], envFor(storage))).code).toBe(0);

    const refused = await runNode('src/cli.ts', ['restore', '--from', file, '--force'], envFor(storage));

    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/restore refused: the database .* is in use/);
    expect((await fetch(`${server.baseUrl}/api/articles?limit=1`)).status).toBe(200);
  });

  it('refuses a backup from a newer schema, and a file that is not a backup, before touching anything', async () => {
    const file = join(storage.dataDir, 'future.backup');
    expect((await runNode('src/cli.ts', ['backup', '--out', file], envFor(storage))).code).toBe(0);
    const original = readFileSync(file);
    const headerEnd = original.indexOf('\n', original.indexOf('\n') + 1);
    const header = JSON.parse(original.subarray(original.indexOf('\n') + 1, headerEnd).toString()) as Record<string, unknown>;
    writeFileSync(file, Buffer.concat([Buffer.from(`${BACKUP_MAGIC}\n${JSON.stringify({ ...header, schema: '9999_from_the_future' })}`), original.subarray(headerEnd)]));
    const garbage = join(storage.dataDir, 'garbage.backup');
    writeFileSync(garbage, 'not a backup at all');

    const fresh = await createTestStorage();
    try {
      const newer = await runNode('src/cli.ts', ['restore', '--from', file, '--force'], envFor(fresh));
      const notBackup = await runNode('src/cli.ts', ['restore', '--from', garbage, '--force'], envFor(fresh));

      expect(newer.code).toBe(1);
      expect(newer.output).toContain("restore refused: the backup's schema (9999_from_the_future) is newer than this version knows");
      expect(notBackup.code).toBe(1);
      expect(notBackup.output).toContain('is not a Shipshape backup');
    } finally {
      await fresh.remove();
    }
  });
});
