import { sql } from 'kysely';
import { isPostgres, type MigrationDb } from './helpers.ts';

/**
 * PostgreSQL: the list counters of migration 0005 are updated at commit instead of at each
 * insert. A counter row (counters 'articles', a popular tag, an author) is locked from its
 * update until the transaction ends, so every article written at the same time queued behind
 * the first for the rest of its transaction: its tags, its tag links, reading it back, each a
 * round trip, then the commit. Under 32 concurrent writers they spent most of their time
 * waiting on those locks (pg_stat_activity: Lock:transactionid), which capped article creation
 * near 250 per second. A constraint trigger deferred to commit takes the same locks at the
 * very end, for the commit alone; the counts stay exact and change in the same transaction.
 *
 * The functions are unchanged, so code of either version writes and reads the same counters:
 * safe under a rolling update. SQLite has one writer at a time and no deferred triggers: its
 * triggers stay as they are.
 */

interface CountedTable {
  readonly trigger: string;
  readonly events: string;
  readonly table: string;
}

const COUNTED: readonly CountedTable[] = [
  { trigger: 'articles_counted', events: 'insert or delete or update of author_id', table: 'articles' },
  { trigger: 'article_tags_counted', events: 'insert or delete', table: 'article_tags' },
  { trigger: 'favorites_given_counted', events: 'insert or delete', table: 'favorites' },
];

async function recreateTriggers(db: MigrationDb, timing: 'deferred' | 'immediate'): Promise<void> {
  for (const { trigger, events, table } of COUNTED) {
    await sql`drop trigger if exists ${sql.raw(trigger)} on ${sql.raw(table)}`.execute(db);
    const kind = timing === 'deferred' ? 'constraint trigger' : 'trigger';
    const deferral = timing === 'deferred' ? 'deferrable initially deferred' : '';
    await sql`create ${sql.raw(kind)} ${sql.raw(trigger)} after ${sql.raw(events)} on ${sql.raw(table)} ${sql.raw(deferral)}
      for each row execute function ${sql.raw(trigger)}()`.execute(db);
  }
}

export async function up(db: MigrationDb): Promise<void> {
  if (isPostgres(db)) await recreateTriggers(db, 'deferred');
}

export async function down(db: MigrationDb): Promise<void> {
  if (isPostgres(db)) await recreateTriggers(db, 'immediate');
}
