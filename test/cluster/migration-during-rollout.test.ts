import type { Migration } from 'kysely/migration';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { type MigrationSet, migrateToLatest } from '../../src/db/migrate.ts';
import type { MigrationDb } from '../../src/db/migrations/helpers.ts';
import { migrations } from '../../src/db/migrations/index.ts';
import { eventually } from '../helpers/wait.ts';
import { acknowledgedWritesMissing, query, versionsBehind } from './checks.ts';
import { Cluster, type Replacement } from './cluster.ts';
import { type LoadUser, signUpLoadUser, startLoad } from './load.ts';

const CURRENT = '1.0.0';
const NEXT = '1.1.0';
const WORKERS = 6;
const REQUESTS_BETWEEN_STEPS = 150;

/**
 * The next release's expand step, which the running version knows nothing about: a nullable
 * column on the busiest table and a new table. Named to sort after every real migration.
 */
const EXPAND_STEP = '9001_next_release_article_summary';
const expandStep: Migration = {
  async up(db: MigrationDb) {
    await db.schema.alterTable('articles').addColumn('summary', 'text').execute();
    await db.schema
      .createTable('article_reads')
      .addColumn('article_id', 'integer', (column) => column.notNull().references('articles.id').onDelete('cascade'))
      .addColumn('read_at', 'timestamptz', (column) => column.notNull())
      .execute();
  },
  async down(db: MigrationDb) {
    await db.schema.dropTable('article_reads').execute();
    await db.schema.alterTable('articles').dropColumn('summary').execute();
  },
};

let cluster: Cluster;
let users: LoadUser[];

beforeAll(async () => {
  cluster = await Cluster.start({ replicas: 3, version: CURRENT, env: { RATE_LIMIT_MAX: '1000000', SHUTDOWN_DELAY_SECONDS: '2' } });
  users = await Promise.all(Array.from({ length: WORKERS }, () => signUpLoadUser(cluster.balancer.url)));
});
afterAll(() => cluster?.stop());

/** Applies migrations as the release's migration Job does: its own connection, Kysely's lock. */
async function migrateWith(known: MigrationSet): Promise<string[]> {
  const database = openDatabase({ databaseUrl: cluster.databaseUrl, dataDir: cluster.storage.dataDir, databasePoolSize: 1 });
  try {
    return await migrateToLatest(database.db, known);
  } finally {
    await database.close();
  }
}

describe('a migration during a rollout', () => {
  it('applies an expand-only migration while the old version serves under load, then rolls to the next version: no failed request', async () => {
    const load = startLoad(cluster.balancer.url, users);
    const afterAnother = (count: number) =>
      eventually(() => load.requests(), (requests) => requests >= count + REQUESTS_BETWEEN_STEPS, { timeoutMs: 30_000, what: `${REQUESTS_BETWEEN_STEPS} more requests` });
    await afterAnother(0);

    const [migrationStartedAt, requestsBeforeMigration] = [Date.now(), load.requests()];
    const applied = await migrateWith({ ...migrations, [EXPAND_STEP]: expandStep });
    const [migrationMs, requestsAfterMigration] = [Date.now() - migrationStartedAt, load.requests()];
    // The old version keeps serving on the expanded schema before any replica is replaced.
    await afterAnother(requestsAfterMigration);
    const requestsBeforeRoll = load.requests();

    const rollStartedAt = Date.now();
    const replacements: Replacement[] = [];
    for (let index = 0; index < cluster.replicas.length; index += 1) replacements.push(await cluster.replace(index, NEXT));
    const rollEndedAt = Date.now();
    const requestsDuringRoll = load.requests() - requestsBeforeRoll;
    await afterAnother(load.requests());
    const report = await load.stop();

    console.log([
      `expand-only migration ${EXPAND_STEP} applied in ${migrationMs} ms while ${CURRENT} served ${WORKERS} workers, then a roll to ${NEXT}:`,
      `  requests: ${report.requests} in all; ${requestsAfterMigration - requestsBeforeMigration} while the migration ran, ${requestsBeforeRoll - requestsAfterMigration} by ${CURRENT} on the expanded schema, ${requestsDuringRoll} during the roll; failed: ${report.failures.length}`,
      `  latency: max ${report.maxLatencyMsBetween(migrationStartedAt, migrationStartedAt + migrationMs)} ms while migrating, ${report.maxLatencyMsBetween(rollStartedAt, rollEndedAt)} ms during the roll, ${report.maxLatencyMs} ms in all; p99 ${report.p99LatencyMs} ms`,
      ...replacements.map((step) => `  ${step.replica}: drained in ${step.drainMs} ms, next version in rotation after ${step.totalMs} ms`),
      `  acknowledged writes: ${report.acknowledgedArticles.length} articles, ${report.acknowledgedComments.length} comments`,
    ].join('\n'));

    expect(applied).toEqual([EXPAND_STEP]);
    expect(report.failures).toEqual([]);
    expect(await acknowledgedWritesMissing(cluster.databaseUrl, report)).toEqual({ articles: [], comments: [] });
    // Code that does not know the new column wrote rows without it: the column had to be nullable.
    const [counts] = await query<{ without: string }>(
      cluster.databaseUrl,
      'select count(*) filter (where summary is null) as without from articles where slug = any($1)',
      [report.acknowledgedArticles],
    );
    expect(Number(counts?.without)).toBe(report.acknowledgedArticles.length);
    expect(await versionsBehind(cluster.balancer.url, 12)).toEqual(new Set([NEXT]));
  });

  it('fails requests at once when a contract step renames a column the running version still uses (why contract waits a release)', async () => {
    const load = startLoad(cluster.balancer.url, users);
    await eventually(() => load.requests(), (requests) => requests >= REQUESTS_BETWEEN_STEPS, { timeoutMs: 30_000, what: 'load warming up' });

    await query(cluster.databaseUrl, 'alter table articles rename column description to abstract');
    await eventually(() => load.requests(), (requests) => requests >= REQUESTS_BETWEEN_STEPS * 2, { timeoutMs: 30_000, what: 'load on the renamed column' });
    const report = await load.stop();

    expect(report.failures.length).toBeGreaterThan(0);
    expect(report.failures).toContainEqual(expect.stringMatching(/^api: create article: 500 instead of 201/));
  });
});
