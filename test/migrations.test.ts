import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { Migrator, NO_MIGRATIONS } from 'kysely/migration';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, migrationsNewerThanCode, pendingMigrations } from '../src/db/migrate.ts';
import { migrations } from '../src/db/migrations/index.ts';
import { now } from '../src/db/errors.ts';
import { createTestApp, dialectUnderTest, useTestApp } from './helpers/app.ts';

const testApp = useTestApp();

describe('migrations', () => {
  it('leave nothing pending after start-up, and a second run applies nothing', async () => {
    expect(await pendingMigrations(testApp.app.db)).toEqual([]);
    expect(await migrateToLatest(testApp.app.db)).toEqual([]);
  });

  it('let an older version (a rollback) migrate and run on a database a newer one moved on', async () => {
    const older = await createTestApp();
    try {
      const { db } = older.app;
      await sql`insert into kysely_migration (name, timestamp) values (${'9999_from_the_future'}, ${new Date().toISOString()})`.execute(db);

      expect(await migrationsNewerThanCode(db)).toEqual(['9999_from_the_future']);
      expect(await migrateToLatest(db)).toEqual([]);
      expect(await pendingMigrations(db)).toEqual([]);
      expect((await older.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await older.close();
    }
  });

  it('refuse a database that is ahead yet lacks one of this version\'s migrations', async () => {
    const diverged = await createTestApp();
    try {
      const { db } = diverged.app;
      const last = Object.keys(migrations).at(-1) ?? '';
      await sql`update kysely_migration set name = ${'9999_from_another_branch'} where name = ${last}`.execute(db);

      await expect(migrateToLatest(db)).rejects.toThrow(`the database has migrations this version does not know (9999_from_another_branch) and lacks ${last}`);
    } finally {
      await diverged.close();
    }
  });

  it('find nothing newer on a database without a migration table', async () => {
    const fresh = await createTestApp();
    try {
      await sql`drop table kysely_migration`.execute(fresh.app.db);

      expect(await migrationsNewerThanCode(fresh.app.db)).toEqual([]);
    } finally {
      await fresh.close();
    }
  });

  it('register every migration file on disk, and only those', () => {
    const onDisk = readdirSync(fileURLToPath(new URL('../src/db/migrations/', import.meta.url)))
      .filter((file) => /^\d{4}_.+\.ts$/.test(file) && !file.endsWith('.test.ts'))
      .map((file) => file.replace(/\.ts$/, ''))
      .sort();

    expect(onDisk.length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(migrations)).toEqual(onDisk);
  });

  it('go down all the way and up again: every down() undoes its up()', async () => {
    const scratch = await createTestApp();
    try {
      const { db } = scratch.app;
      const tablesNow = () => appTables(db);
      const tablesUp = await tablesNow();
      const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...migrations }) } });

      const down = await migrator.migrateTo(NO_MIGRATIONS);
      expect(down.error).toBeUndefined();
      expect(down.results?.map((result) => result.migrationName)).toEqual(Object.keys(migrations).reverse());
      expect(await tablesNow()).toEqual([]);

      expect(await migrateToLatest(db)).toEqual(Object.keys(migrations));
      expect(await tablesNow()).toEqual(tablesUp);
      expect(tablesUp).toEqual(expect.arrayContaining(['articles', 'users', 'sessions', 'request_counters']));
    } finally {
      await scratch.close();
    }
  });

  it('are listed in order with sortable names', () => {
    const names = Object.keys(migrations);

    expect(names).toEqual([...names].sort());
    for (const name of names) expect(name).toMatch(/^\d{4}_[a-z0-9_]+$/);
  });
});

describe('constraints live in the database', () => {
  const db = () => testApp.app.db;

  async function insertUser(username: string, email = `${username}@example.com`) {
    return db()
      .insertInto('users')
      .values({ email, username, password_hash: 'x', bio: null, image: null, created_at: now(), updated_at: now() })
      .returning('id')
      .executeTakeFirstOrThrow();
  }

  it('refuses duplicate emails and case-variant usernames', async () => {
    await insertUser('Constraint1', 'constraint1@example.com');

    await expect(insertUser('other1', 'constraint1@example.com')).rejects.toThrow();
    await expect(insertUser('constraint1', 'different@example.com')).rejects.toThrow();
  });

  it('refuses duplicate slugs', async () => {
    const { id } = await insertUser('sluggard');
    const article = { title: 't', description: 'd', body: 'b', author_id: id, created_at: now(), updated_at: now() };
    await db().insertInto('articles').values({ ...article, slug: 'taken' }).execute();

    await expect(db().insertInto('articles').values({ ...article, slug: 'taken' }).execute()).rejects.toThrow();
  });

  it('refuses a user following themself', async () => {
    const { id } = await insertUser('narcissus');

    await expect(db().insertInto('follows').values({ follower_id: id, followed_id: id, created_at: now() }).execute()).rejects.toThrow();
  });

  it('refuses rows that point at nothing', async () => {
    await expect(
      db().insertInto('favorites').values({ user_id: 999_999, article_id: 999_999, created_at: now() }).execute(),
    ).rejects.toThrow();
  });

  it('cascades a user\'s removal to their articles, comments, favorites and follows', async () => {
    const { id: authorId } = await insertUser('leaving');
    const { id: fanId } = await insertUser('staying');
    const { id: articleId } = await db()
      .insertInto('articles')
      .values({ slug: 'cascade-me', title: 't', description: 'd', body: 'b', author_id: authorId, created_at: now(), updated_at: now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db().insertInto('favorites').values({ user_id: fanId, article_id: articleId, created_at: now() }).execute();
    await db().insertInto('comments').values({ article_id: articleId, author_id: fanId, body: 'x', created_at: now(), updated_at: now() }).execute();
    await db().insertInto('follows').values({ follower_id: fanId, followed_id: authorId, created_at: now() }).execute();

    await db().deleteFrom('users').where('id', '=', authorId).execute();

    const count = async (table: 'articles' | 'favorites' | 'comments' | 'follows', column: string, value: number) =>
      Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where ${sql.ref(column)} = ${value}`.execute(db())).rows[0]!.n);
    expect(await count('articles', 'id', articleId)).toBe(0);
    expect(await count('favorites', 'article_id', articleId)).toBe(0);
    expect(await count('comments', 'article_id', articleId)).toBe(0);
    expect(await count('follows', 'followed_id', authorId)).toBe(0);
  });

  it('keeps articles.favorites_count exact through inserts, deletes and cascades', async () => {
    const { id: authorId } = await insertUser('counted');
    const fans = await Promise.all(['fan_a', 'fan_b', 'fan_c'].map((name) => insertUser(name)));
    const { id: articleId } = await db()
      .insertInto('articles')
      .values({ slug: 'count-me', title: 't', description: 'd', body: 'b', author_id: authorId, created_at: now(), updated_at: now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const favoritesCount = async () =>
      (await db().selectFrom('articles').select('favorites_count').where('id', '=', articleId).executeTakeFirstOrThrow()).favorites_count;

    for (const fan of fans) await db().insertInto('favorites').values({ user_id: fan.id, article_id: articleId, created_at: now() }).execute();
    expect(await favoritesCount()).toBe(3);
    await db().deleteFrom('favorites').where('user_id', '=', fans[0]!.id).execute();
    expect(await favoritesCount()).toBe(2);
    await db().deleteFrom('users').where('id', '=', fans[1]!.id).execute();
    expect(await favoritesCount()).toBe(1);
  });

  it('keeps the list counters exact through inserts, deletes, author changes and cascades', async () => {
    const writer = await insertUser('counter_writer');
    const other = await insertUser('counter_other');
    const reader = await insertUser('counter_reader');
    const { id: tagId } = await db().insertInto('tags').values({ name: 'counted-tag' }).returning('id').executeTakeFirstOrThrow();
    const totalBefore = (await db().selectFrom('counters').select('value').where('name', '=', 'articles').executeTakeFirstOrThrow()).value;
    const insertArticle = async (slug: string, authorId: number) =>
      db().insertInto('articles').values({ slug, title: 't', description: 'd', body: 'b', author_id: authorId, created_at: now(), updated_at: now() }).returning('id').executeTakeFirstOrThrow();
    const counters = async (present = ['writer', 'other', 'reader']) => ({
      total: (await db().selectFrom('counters').select('value').where('name', '=', 'articles').executeTakeFirstOrThrow()).value - totalBefore,
      writer: (await db().selectFrom('users').select(['articles_count', 'favorites_given_count']).where('id', '=', writer.id).executeTakeFirstOrThrow()),
      other: present.includes('other') ? (await db().selectFrom('users').select('articles_count').where('id', '=', other.id).executeTakeFirstOrThrow()).articles_count : undefined,
      reader: (await db().selectFrom('users').select('favorites_given_count').where('id', '=', reader.id).executeTakeFirstOrThrow()).favorites_given_count,
      tag: (await db().selectFrom('tags').select('articles_count').where('id', '=', tagId).executeTakeFirstOrThrow()).articles_count,
    });

    const first = await insertArticle('counted-1', writer.id);
    const second = await insertArticle('counted-2', writer.id);
    await db().insertInto('article_tags').values([{ article_id: first.id, tag_id: tagId }, { article_id: second.id, tag_id: tagId }]).execute();
    await db().insertInto('favorites').values([{ user_id: reader.id, article_id: first.id, created_at: now() }, { user_id: reader.id, article_id: second.id, created_at: now() }]).execute();
    expect(await counters()).toEqual({ total: 2, writer: { articles_count: 2, favorites_given_count: 0 }, other: 0, reader: 2, tag: 2 });

    await db().updateTable('articles').set({ author_id: other.id }).where('id', '=', second.id).execute();
    await db().deleteFrom('article_tags').where('article_id', '=', first.id).execute();
    expect(await counters()).toEqual({ total: 2, writer: { articles_count: 1, favorites_given_count: 0 }, other: 1, reader: 2, tag: 1 });

    await db().deleteFrom('users').where('id', '=', other.id).execute(); // cascades to the second article, its tag and favorite
    const { other: _gone, ...remaining } = await counters(['writer', 'reader']);
    expect(remaining).toEqual({ total: 1, writer: { articles_count: 1, favorites_given_count: 0 }, reader: 1, tag: 0 });
  });
});

/** The app's tables (the migration bookkeeping aside), sorted. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function appTables(db: Kysely<any>): Promise<string[]> {
  const rows =
    dialectUnderTest === 'postgres'
      ? await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = 'public'`.execute(db)
      : await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db);
  return rows.rows.map((row) => row.name).filter((name) => !name.startsWith('kysely_migration')).sort();
}
