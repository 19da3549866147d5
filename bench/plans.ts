/**
 * Prints, as Markdown, the plan of every list query on a generated data set: EXPLAIN QUERY PLAN
 * on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL (under scripts/with-postgres.sh).
 *
 *   npm run bench:plans -- --scale 200000
 */
import { parseArgs } from 'node:util';
import { hash } from '@node-rs/argon2';
import { openDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { ARGON2_OPTIONS } from '../src/features/users/password-hashing.ts';
import { createTestStorage, dialectUnderTest } from '../test/helpers/app.ts';
import { captureListQueries, combinedVariants, explain, listVariants, planProblems } from './list-plans.ts';
import { generateScaleData, shapeFor } from './scale-data.ts';
import { BENCH_PASSWORD } from './seed.ts';

const { values: options } = parseArgs({ options: { scale: { type: 'string', default: '200000' } } });

const storage = await createTestStorage();
try {
  const handle = openDatabase({ databaseUrl: storage.databaseUrl, dataDir: storage.dataDir, databasePoolSize: 2 });
  await migrateToLatest(handle.db);
  const started = Date.now();
  const generated = await generateScaleData(handle.db, dialectUnderTest, shapeFor(Number(options.scale)), await hash(BENCH_PASSWORD, ARGON2_OPTIONS));
  console.log(`## ${dialectUnderTest}: ${JSON.stringify(generated.counts)} (generated in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  const follower = await handle.db.selectFrom('follows').select('follower_id').groupBy('follower_id').orderBy((eb) => eb.fn.countAll(), 'desc').limit(1).executeTakeFirstOrThrow();
  const targets = { tag: generated.popularTag, author: generated.busiestAuthor, favoriter: generated.busiestFavoriter, follower: follower.follower_id };
  const variants = [...listVariants(targets), ...combinedVariants(targets)];
  const captured = await captureListQueries({ databaseUrl: storage.databaseUrl, dataDir: storage.dataDir }, variants);
  for (const { variant, articlesCount, queries } of captured) {
    console.log(`### ${variant.name} (${JSON.stringify(variant.filter)}, offset ${variant.page.offset}): articlesCount ${articlesCount}\n`);
    for (const query of queries) {
      const checked = await explain(handle.db, dialectUnderTest, query, 'check');
      const problems = planProblems(dialectUnderTest, checked, Object.keys(variant.filter).length === 0, query.sql);
      const shown = dialectUnderTest === 'sqlite' ? checked : await explain(handle.db, dialectUnderTest, query, 'analyze');
      const lines = shown.map((row) => (dialectUnderTest === 'sqlite' ? (row as { detail: string }).detail : (row as { 'QUERY PLAN': string })['QUERY PLAN']));
      const started = performance.now();
      await handle.db.executeQuery(query);
      const elapsed = performance.now() - started;
      console.log(`\`\`\`sql\n${query.sql}\n-- parameters: ${JSON.stringify(query.parameters)}\n\`\`\``);
      console.log(`\`\`\`\n${lines.join('\n')}\n\`\`\``);
      console.log(`${problems.length === 0 ? 'plan check: ok' : `plan check: ${problems.join('; ')}`}; one run ${elapsed.toFixed(1)} ms\n`);
    }
  }
  await handle.close();
} finally {
  await storage.remove();
}
