import { setTimeout as delay } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import { DEFAULT_MIGRATION_TABLE as MIGRATION_TABLE, Migrator } from 'kysely/migration';
import { type AppMigration, isPostgres } from './migrations/helpers.ts';
import { migrations } from './migrations/index.ts';

/** A set of migrations by name: this code's (the default), or a test's. */
export type MigrationSet = Readonly<Record<string, AppMigration>>;

// Migrations run against whatever tables exist, typed or not.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDatabase = Kysely<any>;

function migratorFor(db: AnyDatabase, known: MigrationSet): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...known }) } });
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

/** Ours, not Kysely's own advisory lock key: see `underMigrationLock`. */
const MIGRATION_LOCK_KEY = 7_152_026_017;
const MIGRATION_LOCK_POLL_MS = 100;

/**
 * Applies every pending migration. Safe to run twice (applied ones are skipped) and from two
 * processes at once: on PostgreSQL one process holds an advisory lock for the whole run; on
 * SQLite Kysely's lock table row does the same. On PostgreSQL consecutive migrations share one
 * transaction, except one that declares `outsideTransaction` (CREATE INDEX CONCURRENTLY cannot
 * run in one), which runs alone, statement by statement. Returns the names applied.
 */
export async function migrateToLatest(db: AnyDatabase, known: MigrationSet = migrations): Promise<string[]> {
  return underMigrationLock(db, (connection) => applyPending(connection, known));
}

/**
 * A second migrator waits by polling a lock, never blocked inside a statement: a statement
 * waiting on a lock holds a snapshot, and CREATE INDEX CONCURRENTLY waits for every older
 * snapshot to end, so the two would wait for each other. Everything runs on the one connection
 * that holds the lock (Kysely's own lock, taken on the same connection, is then never contended).
 */
async function underMigrationLock<T>(db: AnyDatabase, work: (db: AnyDatabase) => Promise<T>): Promise<T> {
  if (!isPostgres(db)) return work(db);
  return db.connection().execute(async (connection) => {
    for (;;) {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)}) as locked`.execute(connection);
      if (rows[0]!.locked) break;
      await delay(MIGRATION_LOCK_POLL_MS);
    }
    try {
      return await work(connection);
    } finally {
      await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(connection);
    }
  });
}

async function applyPending(db: AnyDatabase, known: MigrationSet): Promise<string[]> {
  const newer = await migrationsNewerThanCode(db, known);
  if (newer.length > 0) {
    // A rollback to an older image: its migrations are all applied (or the schema has moved on
    // without them, which no rollback can fix). Kysely would call the table corrupted.
    const pending = await pendingMigrations(db, known);
    if (pending.length === 0) return [];
    throw new MigrationError(pending[0], new Error(`the database has migrations this version does not know (${newer.join(', ')}) and lacks ${pending.join(', ')}`));
  }
  const migrator = migratorFor(db, known);
  const applied: string[] = [];
  for (const step of steps(await pendingMigrations(db, known), known)) {
    const { error, results = [] } = await migrator.migrateTo(step.upTo, { disableTransactions: step.outsideTransaction });
    if (error !== undefined) {
      const failed = results.find((result) => result.status === 'Error');
      throw new MigrationError(failed?.migrationName, error);
    }
    applied.push(...results.filter((result) => result.status === 'Success').map((result) => result.migrationName));
  }
  return applied;
}

/** Pending migrations cut where one must run outside a transaction: each step ends at `upTo`. */
function steps(pending: readonly string[], known: MigrationSet): { upTo: string; outsideTransaction: boolean }[] {
  const result: { upTo: string; outsideTransaction: boolean }[] = [];
  for (const name of pending) {
    const outsideTransaction = known[name]?.outsideTransaction === true;
    const last = result.at(-1);
    if (last !== undefined && !outsideTransaction && !last.outsideTransaction) last.upTo = name;
    else result.push({ upTo: name, outsideTransaction });
  }
  return result;
}

/**
 * Migrations the database has applied that this code does not know: after a rollback to an
 * older image. Expected and harmless while releases keep the schema backward compatible.
 */
export async function migrationsNewerThanCode(db: AnyDatabase, known: MigrationSet = migrations): Promise<string[]> {
  let applied: { name: string }[];
  try {
    applied = await db.selectFrom(MIGRATION_TABLE).select('name').execute();
  } catch {
    return []; // no migration table yet: a fresh database
  }
  return applied.map((row) => row.name).filter((name) => !(name in known)).sort();
}

/** Names of the migrations this code knows that the database has not applied yet. Read-only. */
export async function pendingMigrations(db: AnyDatabase, known: MigrationSet = migrations): Promise<string[]> {
  const all = await migratorFor(db, known).getMigrations();
  return all.filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
}
