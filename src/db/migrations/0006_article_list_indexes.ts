import { sql } from 'kysely';
import { isPostgres, type MigrationDb } from './helpers.ts';

/**
 * Indexes for the article lists at scale, built without blocking writes on PostgreSQL:
 * CREATE INDEX CONCURRENTLY cannot run in a transaction, so this migration runs outside one
 * (see migrate.ts). A concurrent build that fails leaves an invalid index behind, so each one
 * is dropped first: running the migration again after a failure finishes the job.
 */
export const outsideTransaction = true;

interface ListIndex {
  readonly name: string;
  readonly table: string;
  readonly columns: string;
  readonly dialects: readonly ('sqlite' | 'postgres')[];
  readonly why: string;
}

const INDEXES: readonly ListIndex[] = [
  {
    name: 'articles_id_idx',
    table: 'articles',
    columns: 'id',
    // PostgreSQL reads its primary key index alone (an index-only scan) for the same purpose.
    dialects: ['sqlite'],
    why: 'The global list\'s deep pages skip 10,000 entries of this narrow index instead of 10,000 table rows with their bodies (the primary key of a SQLite table is the table itself).',
  },
];

export async function up(db: MigrationDb): Promise<void> {
  const dialect = isPostgres(db) ? 'postgres' : 'sqlite';
  for (const index of INDEXES.filter((candidate) => candidate.dialects.includes(dialect))) {
    if (dialect === 'postgres') {
      await sql`drop index concurrently if exists ${sql.id(index.name)}`.execute(db);
      await sql`create index concurrently ${sql.id(index.name)} on ${sql.table(index.table)} (${sql.raw(index.columns)})`.execute(db);
    } else {
      await sql`create index if not exists ${sql.id(index.name)} on ${sql.table(index.table)} (${sql.raw(index.columns)})`.execute(db);
    }
  }
}

export async function down(db: MigrationDb): Promise<void> {
  for (const index of INDEXES) await sql`drop index if exists ${sql.id(index.name)}`.execute(db);
}
