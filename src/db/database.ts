import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { type CompiledQuery, Kysely, type LogEvent, PostgresDialect, SqliteDialect, type SqliteDatabase, type SqliteStatement, sql } from 'kysely';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { sharedPerTurn } from '../lib/shared-per-turn.ts';
import { databaseUnavailable } from './errors.ts';
import { SqliteReaders } from './sqlite-readers.ts';
import type { Database } from './schema.ts';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseSettings {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly databasePoolSize: number;
  /** SQLite's memory: page cache, memory map and reader threads; the defaults below unless given. */
  readonly sqliteCacheKib?: number;
  readonly sqliteMmapBytes?: number;
  readonly sqliteReaderThreads?: number;
}

export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

/** An open database: the Kysely handle plus what operations need to know about it. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** Where the data lives, for logs: the SQLite file, or the PostgreSQL host and database. */
  readonly location: string;
  /** Connection pool occupancy (PostgreSQL), or undefined for the embedded database. */
  poolStats(): PoolStats | undefined;
  /** The last write failed for lack of space, and none has succeeded since. */
  storageFull(): boolean;
  /**
   * Runs a SELECT that may read many rows where it cannot stall the event loop: on SQLite in a
   * reader thread, on PostgreSQL as any query (the server does the work).
   */
  readonly readOffMainThread: ReadOffMainThread;
  /**
   * A token that changes whenever a write is committed to the database, by this process or any
   * other (another replica, the command line). Equal tokens mean the data has not changed in
   * between, so anything computed from the data after reading a token can be reused for as long
   * as the token stays the same (see VersionedCache). It may change without a visible change
   * (a rolled-back write, a write to a table nobody cached): that costs a recomputation only.
   * Callers of one event-loop turn share one read, made after all of them asked (sharedPerTurn).
   */
  dataVersion(): Promise<string>;
  close(): Promise<void>;
}

export type QueryListener = (event: LogEvent) => void;

export type ReadOffMainThread = <Row>(query: CompiledQuery<Row>) => Promise<Row[]>;

export const SQLITE_FILE_NAME = 'shipshape.sqlite';
/**
 * The defaults of SQLITE_READER_THREADS, SQLITE_CACHE_SIZE and SQLITE_MMAP_SIZE (config.ts):
 * two reader threads, one per core of the reference machine, started by the first read that
 * needs one; a page cache of up to 64 MiB per connection, filled only as pages are read; and up
 * to 256 MiB of the file read through a memory map (those pages are the kernel's page cache:
 * they count in the resident size once touched, but are shared and dropped first under pressure).
 */
export const SQLITE_DEFAULTS = { readerThreads: 2, cacheKib: 64 * 1024, mmapBytes: 256 * 1024 * 1024 } as const;

/** SQLite unless a PostgreSQL URL is configured. */
export function dialectOf(settings: Pick<DatabaseSettings, 'databaseUrl'>): DialectName {
  return settings.databaseUrl === undefined ? 'sqlite' : 'postgres';
}

export function openDatabase(settings: DatabaseSettings, onQuery?: QueryListener): DatabaseHandle {
  const storage = new StorageCondition();
  const listener: QueryListener = (event) => {
    storage.observe(event);
    onQuery?.(event);
  };
  const handle = settings.databaseUrl === undefined
    ? openSqlite(settings, listener)
    : openPostgres(settings.databaseUrl, settings.databasePoolSize, listener);
  return { ...handle, storageFull: () => storage.full };
}

const WRITE_KINDS = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode']);

/**
 * Out of disk space is a condition of the whole database, not of one request: it is set by
 * any statement failing for lack of space and cleared by the next write that succeeds.
 */
class StorageCondition {
  full = false;

  observe(event: LogEvent): void {
    if (event.level === 'error') {
      if (databaseUnavailable(event.error) === 'storage full') this.full = true;
    } else if (WRITE_KINDS.has(event.query.query.kind)) {
      this.full = false;
    }
  }
}

type OpenedDatabase = Omit<DatabaseHandle, 'storageFull'>;

function openSqlite(settings: DatabaseSettings, onQuery: QueryListener): OpenedDatabase {
  const cacheKib = settings.sqliteCacheKib ?? SQLITE_DEFAULTS.cacheKib;
  const mmapBytes = settings.sqliteMmapBytes ?? SQLITE_DEFAULTS.mmapBytes;
  mkdirSync(settings.dataDir, { recursive: true });
  const file = join(settings.dataDir, SQLITE_FILE_NAME);
  const connection = new SQLite(file);
  // WAL lets readers proceed during a write; FULL makes every acknowledged commit survive
  // a power cut; the busy timeout covers a second process (the migrate CLI) holding the lock.
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = FULL');
  connection.pragma('foreign_keys = ON');
  connection.pragma('busy_timeout = 5000');
  // The default page cache is 2 MiB: at 200,000 articles a page of the list re-reads its rows
  // from the OS on every request. Keep the hot pages (newest articles, users, index tops) in
  // memory, and read the rest through a memory map rather than a system call per page.
  connection.pragma(`cache_size = -${cacheKib}`);
  connection.pragma(`mmap_size = ${mmapBytes}`);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(connection) }),
    log: onQuery,
  });
  const readers = new SqliteReaders({ file, cacheKib, mmapBytes }, settings.sqliteReaderThreads ?? SQLITE_DEFAULTS.readerThreads);
  return {
    db,
    dialect: 'sqlite',
    location: file,
    // One embedded connection, no pool to report on.
    poolStats: () => undefined,
    readOffMainThread: reportedTo(onQuery, async <Row>(query: CompiledQuery<Row>) => (await readers.all(query.sql, query.parameters)) as Row[]),
    dataVersion: sharedPerTurn(sqliteDataVersion(connection, db)),
    close: async () => {
      await readers.close();
      await db.destroy();
    },
  };
}

/**
 * data_version changes when another connection (another process) commits; total_changes()
 * counts every row this connection ever changed, triggers included, and never goes down.
 */
const SQLITE_DATA_VERSION = sql<{ version: string }>`select (select data_version from pragma_data_version) || ':' || total_changes() as version`;

/**
 * SQLite's version of the data, read straight from the connection (a few microseconds) unless
 * a transaction is open on it: total_changes() would then count rows that may still roll back,
 * or that readers elsewhere cannot see yet, so that read waits its turn behind the transaction.
 */
function sqliteDataVersion(connection: SQLite.Database, db: Kysely<Database>): () => Promise<string> {
  const compiled = SQLITE_DATA_VERSION.compile(db);
  const statement = connection.prepare(compiled.sql).pluck();
  return async () => {
    if (!connection.inTransaction) return statement.get() as string;
    const { rows } = await db.executeQuery(compiled);
    return rows[0]!.version;
  };
}

/**
 * Reads in the reader threads bypass Kysely, so its log never sees them: report them to the
 * same listener (metrics, traces) with the event Kysely would have sent.
 */
function reportedTo(onQuery: QueryListener, read: ReadOffMainThread): ReadOffMainThread {
  return async <Row>(query: CompiledQuery<Row>) => {
    const started = performance.now();
    try {
      const rows = await read(query);
      onQuery({ level: 'query', query, queryDurationMillis: performance.now() - started });
      return rows;
    } catch (error) {
      onQuery({ level: 'error', error, query, queryDurationMillis: performance.now() - started });
      throw error;
    }
  };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * SQLite rolls a transaction back by itself when a statement fails with SQLITE_FULL, an I/O
 * error or out of memory. Kysely's ROLLBACK that follows would then fail with "cannot rollback
 * - no transaction is active", and that error would replace the real cause in the logs.
 */
const NOTHING_TO_ROLL_BACK: SqliteStatement = {
  reader: false,
  all: () => [],
  run: () => ({ changes: 0, lastInsertRowid: 0 }),
  iterate: () => [][Symbol.iterator](),
};

/**
 * Kysely prepares every query it runs; preparing costs more than running most of ours (tens of
 * microseconds, measured in bench/), so keep prepared statements by SQL text and reuse them.
 * SQLite re-prepares a cached statement itself if a migration changes the schema under it.
 */
function withStatementCache(connection: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => connection.close(),
    prepare(sqlText) {
      if (sqlText === 'rollback' && !connection.inTransaction) return NOTHING_TO_ROLL_BACK;
      let statement = statements.get(sqlText);
      if (statement === undefined) {
        statement = connection.prepare(sqlText);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
        statements.set(sqlText, statement);
      }
      return statement;
    },
  };
}

/**
 * The PostgreSQL driver, loaded when a PostgreSQL database is opened: a process on SQLite never
 * needs it, and loading it costs memory (it also probes for Cloudflare Workers with a fetch
 * Response, which loads Node's HTTP client). Synchronous, as openDatabase is.
 */
function postgresDriver(): typeof pg {
  return createRequire(import.meta.url)('pg') as typeof pg;
}

function openPostgres(databaseUrl: string, poolSize: number, onQuery: QueryListener): OpenedDatabase {
  const driver = postgresDriver();
  const pool = new driver.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 15_000,
    idle_in_transaction_session_timeout: 30_000,
    application_name: 'shipshape',
    types: { getTypeParser: postgresTypeParser(driver.types) },
  });
  // A connection lost (server restart, pg_terminate_backend, network) must never end the process.
  // The pool listens on idle clients only; a checked-out client between two queries, such as in
  // a transaction, emits 'error' with no listener, which Node treats as an uncaught exception.
  // With this one, the request's next query fails (503) and the pool drops the dead client.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: onQuery,
  });
  const url = new URL(databaseUrl);
  return {
    db,
    dialect: 'postgres',
    location: `${url.hostname}:${url.port || '5432'}${url.pathname}`,
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    readOffMainThread: async <Row>(query: CompiledQuery<Row>) => (await db.executeQuery(query)).rows,
    dataVersion: sharedPerTurn(postgresDataVersion(db)),
    close: () => db.destroy(),
  };
}

/**
 * The cluster's current snapshot: the oldest transaction still running, the next transaction id
 * to complete, and those in progress in between. Any transaction that wrote something changes
 * it when it commits or rolls back, and it only moves forward, on every connection and replica.
 */
function postgresDataVersion(db: Kysely<Database>): () => Promise<string> {
  const compiled = sql<{ version: string }>`select pg_current_snapshot()::text as version`.compile(db);
  return async () => {
    const { rows } = await db.executeQuery(compiled);
    return rows[0]!.version;
  };
}

const TIMESTAMPTZ_OID = 1184;
const INT8_OID = 20;

// Counts come back as int8 and timestamps as timestamptz; read them as the same JS values
// SQLite yields (numbers and ISO strings) so repositories stay dialect-free.
function postgresTypeParser(types: typeof pg.types) {
  const parseTimestamptz = types.getTypeParser(TIMESTAMPTZ_OID) as (value: string) => Date;
  return (oid: number, format?: 'text' | 'binary'): ((value: string) => unknown) => {
    if (oid === TIMESTAMPTZ_OID) return (value) => parseTimestamptz(value).toISOString();
    if (oid === INT8_OID) return Number;
    return types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  };
}

export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
