import type { Kysely } from 'kysely';
import { DEFAULT_MIGRATION_TABLE as MIGRATION_TABLE, type Migration, Migrator } from 'kysely/migration';
import { migrations } from './migrations/index.ts';

// Migrations run against whatever tables exist, typed or not.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDatabase = Kysely<any>;

/** A set of migrations by name: this code's, or (in the cluster test) this code's plus the next release's. */
export type MigrationRegistry = Readonly<Record<string, Migration>>;

function migratorFor(db: AnyDatabase, registry: MigrationRegistry): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...registry }) } });
}

/**
 * Whether a process migrates the database itself when it starts: the embedded SQLite file
 * always does (nobody else would); PostgreSQL only with MIGRATE_ON_START=true, since in
 * production a migration Job runs once before the new version rolls out.
 */
export function migratesOnStart(config: { readonly databaseUrl: string | undefined; readonly migrateOnStart: boolean }): boolean {
  return config.databaseUrl === undefined || config.migrateOnStart;
}

export class MigrationError extends Error {
  readonly migration: string | undefined;

  constructor(migration: string | undefined, cause: unknown) {
    super(`migration ${migration ?? '(unknown)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MigrationError';
    this.migration = migration;
  }
}

/**
 * Applies every pending migration, each in its own transaction. Safe to run twice (applied
 * ones are skipped) and from two processes at once: Kysely takes a lock first (an advisory
 * lock on PostgreSQL, the lock table row on SQLite). Returns the names applied.
 */
export async function migrateToLatest(db: AnyDatabase, registry: MigrationRegistry = migrations): Promise<string[]> {
  const newer = await migrationsNewerThanCode(db, registry);
  if (newer.length > 0) {
    // A rollback to an older image: its migrations are all applied (or the schema has moved on
    // without them, which no rollback can fix). Kysely would call the table corrupted.
    const pending = await pendingMigrations(db, registry);
    if (pending.length === 0) return [];
    throw new MigrationError(pending[0], new Error(`the database has migrations this version does not know (${newer.join(', ')}) and lacks ${pending.join(', ')}`));
  }
  const { error, results = [] } = await migratorFor(db, registry).migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error');
    throw new MigrationError(failed?.migrationName, error);
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}

/**
 * Migrations the database has applied that this code does not know: after a rollback to an
 * older image. Expected and harmless while releases keep the schema backward compatible.
 */
export async function migrationsNewerThanCode(db: AnyDatabase, registry: MigrationRegistry = migrations): Promise<string[]> {
  let applied: { name: string }[];
  try {
    applied = await db.selectFrom(MIGRATION_TABLE).select('name').execute();
  } catch {
    return []; // no migration table yet: a fresh database
  }
  return applied.map((row) => row.name).filter((name) => !(name in registry)).sort();
}

/** Names of the migrations this code knows that the database has not applied yet. Read-only. */
export async function pendingMigrations(db: AnyDatabase, registry: MigrationRegistry = migrations): Promise<string[]> {
  const known = await migratorFor(db, registry).getMigrations();
  return known.filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
}
