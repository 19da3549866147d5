import { type ColumnDefinitionBuilder, type Kysely, PostgresAdapter } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The few places where one migration set has to speak two dialects: identity columns and
 * timestamps. Everything else is portable SQL through Kysely's schema builder.
 */
export interface DialectColumns {
  /** Type name for a timestamp column (ISO 8601 text on SQLite). */
  readonly timestamp: 'timestamptz' | 'text';
  /** Type name for raw bytes. */
  readonly binary: 'bytea' | 'blob';
  /** Builds an auto-incrementing integer primary key. */
  readonly identity: (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
}

// Migrations are schema-agnostic by nature, so they take the untyped Kysely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MigrationDb = Kysely<any>;

export function isPostgres(db: MigrationDb): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export function dialectColumns(db: MigrationDb): DialectColumns {
  return isPostgres(db)
    ? { timestamp: 'timestamptz', binary: 'bytea', identity: (column) => column.primaryKey().generatedByDefaultAsIdentity() }
    : { timestamp: 'text', binary: 'blob', identity: (column) => column.primaryKey().autoIncrement() };
}

/**
 * A migration; one that sets `outsideTransaction` runs on PostgreSQL without a transaction
 * around it (CREATE INDEX CONCURRENTLY refuses one), so it must be safe to run again after
 * failing halfway. SQLite migrations never run in a transaction (Kysely's SQLite adapter).
 */
export interface AppMigration extends Migration {
  readonly outsideTransaction?: boolean;
}
