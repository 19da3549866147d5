import { hash } from '@node-rs/argon2';
import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureListQueries, countedDirectly, explain, listVariants, planProblems, type VariantTargets } from '../../bench/list-plans.ts';
import { generateScaleData, shapeFor } from '../../bench/scale-data.ts';
import { type DatabaseHandle, openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { ARGON2_OPTIONS } from '../../src/features/users/password-hashing.ts';
import { createTestStorage, dialectUnderTest, type TestStorage } from '../helpers/app.ts';

/** Large enough that a planner prefers an index over reading a table whole, small enough to generate in seconds. */
const SCALE_ARTICLES = 50_000;

let storage: TestStorage;
let database: DatabaseHandle;
let targets: VariantTargets;

beforeAll(async () => {
  storage = await createTestStorage();
  database = openDatabase({ databaseUrl: storage.databaseUrl, dataDir: storage.dataDir, databasePoolSize: 2 });
  await migrateToLatest(database.db);
  const generated = await generateScaleData(database.db, dialectUnderTest, shapeFor(SCALE_ARTICLES), await hash('Scale-Test-1', ARGON2_OPTIONS));
  const follower = await database.db.selectFrom('follows').select('follower_id').groupBy('follower_id').orderBy((eb) => eb.fn.countAll(), 'desc').limit(1).executeTakeFirstOrThrow();
  targets = { tag: generated.popularTag, author: generated.busiestAuthor, favoriter: generated.busiestFavoriter, follower: follower.follower_id };
});

afterAll(async () => {
  await database?.close();
  await storage?.remove();
});

describe(`article lists at ${SCALE_ARTICLES} articles (${dialectUnderTest})`, () => {
  it('read every list from an index: no full scan of a large table for a filter, no sort of a whole table', async () => {
    const captured = await captureListQueries(storage, listVariants(targets));
    const problems: string[] = [];
    for (const { variant, queries } of captured) {
      expect(queries.length, variant.name).toBeGreaterThan(0);
      for (const query of queries) {
        const plan = await explain(database.db, dialectUnderTest, query, 'check');
        for (const problem of planProblems(dialectUnderTest, plan, Object.keys(variant.filter).length === 0, query.sql)) {
          problems.push(`${variant.name}: ${problem}\n  ${query.sql}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('return exact counts, equal to counting the rows', async () => {
    const captured = await captureListQueries(storage, listVariants(targets));
    for (const { variant, articlesCount } of captured) {
      expect(articlesCount, variant.name).toBe(await countedDirectly(database.db, variant.filter));
    }
    expect(captured.find((list) => list.variant.name === 'global')!.articlesCount).toBe(SCALE_ARTICLES);
  });

  it('read articlesCount from kept counters: no list counts rows per request', async () => {
    const captured = await captureListQueries(storage, listVariants(targets));
    const counting = captured.flatMap(({ variant, queries }) => queries.filter((query) => /\bcount\(/i.test(query.sql)).map((query) => `${variant.name}: ${query.sql}`));
    expect(counting).toEqual([]);
  });

  it('catch a plan that reads a table whole or sorts it (the check can fail)', async () => {
    const placeholder = dialectUnderTest === 'sqlite' ? '?' : '$1';
    const unindexed = CompiledQuery.raw(`select id from articles where title = ${placeholder} order by created_at desc limit 20`, ['Scale article 7']);
    const plan = await explain(database.db, dialectUnderTest, unindexed, 'check');

    const problems = planProblems(dialectUnderTest, plan, false, unindexed.sql);
    expect(problems.some((problem) => problem.startsWith('full scan of a large table'))).toBe(true);
    expect(problems.some((problem) => problem.startsWith('sort of a whole table'))).toBe(true);
  });
});
