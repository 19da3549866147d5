import { DummyDriver, Kysely, sql, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import { summariseQuery } from '../src/db/query-summary.ts';
import type { Database } from '../src/db/schema.ts';

// Compiles queries without a database: summaries depend on the query tree alone.
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new SqliteIntrospector(kysely),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

describe('summariseQuery names a query by operation and table, never by its values', () => {
  it.each([
    ['a select', db.selectFrom('articles').select('slug').where('slug', '=', 'secret-slug'), 'SELECT articles'],
    ['an aliased select', db.selectFrom('articles as a').select('a.slug'), 'SELECT articles'],
    ['an insert', db.insertInto('tags').values({ name: 'secret-tag' }), 'INSERT tags'],
    ['an update', db.updateTable('users').set({ bio: 'secret bio' }).where('id', '=', 1), 'UPDATE users'],
    ['a delete', db.deleteFrom('comments').where('id', '=', 1), 'DELETE comments'],
    ['a select from a subquery', db.selectFrom(db.selectFrom('tags').select('name').as('t')).select('t.name'), 'SELECT'],
    ['raw SQL, by its first keyword', sql`with x as (select ${'secret'} as v) select v from x`, 'WITH'],
    ['raw SQL without a keyword', sql`(select 1)`, 'SQL'],
  ])('%s', (_what, query, expected) => {
    const summary = summariseQuery(query.compile(db));

    expect(summary.text).toBe(expected);
    expect(JSON.stringify(summary)).not.toContain('secret');
  });
});
