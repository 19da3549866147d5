import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, environmentWithDotEnv, loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migratesOnStart, migrateToLatest, migrationsNewerThanCode, pendingMigrations } from './db/migrate.ts';
import { ClientError } from './errors.ts';
import { COMMAND_LINE } from './features/admin/service.ts';
import { loggerOptions } from './logger.ts';
import { BackupError } from './ops/backup-file.ts';
import { backupPostgres, restorePostgres } from './ops/postgres-backup.ts';
import { runSmokeCommand } from './ops/smoke.ts';
import { backupSqlite, restoreSqlite } from './ops/sqlite-backup.ts';
import { createServices, serviceOptionsFrom } from './services.ts';

const USAGE = `usage: node dist/cli.js <command> [options]

commands:
  migrate            apply pending database migrations (safe to run twice or concurrently)
  migrate:status     list pending migrations; exit 2 when some are pending
  backup --out <file>
                     an online, consistent backup of the database (SQLite or PostgreSQL)
  restore --from <file> [--force]
                     restore a backup into a new database, check it, then swap it in; refuses a
                     database in use, an existing one without --force, and a newer schema
  admin:create --email <email> [--username <name>]
                     create an admin, or promote the account with that email; the password
                     comes from ADMIN_PASSWORD or the first line of standard input (no default)
  smoke <base-url> [--expect-sha <sha>] [--metrics] [--read-only]
                     smoke-test a running deployment over HTTP; --read-only writes nothing
`;

const log = pino(loggerOptions('info'));
const COMMANDS = new Set(['migrate', 'migrate:status', 'admin:create', 'backup', 'restore', 'smoke']);

/** Operational commands that run in the same image as the server (e.g. a migration Job). */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || !COMMANDS.has(command)) {
    process.stderr.write(USAGE);
    return 64;
  }
  // The smoke test talks to a deployment over HTTP: it needs no database configuration.
  if (command === 'smoke') return runSmokeCommand(rest);
  let config;
  try {
    config = loadConfig(environmentWithDotEnv(process.env), { requireSecrets: false });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.fatal({ variable: error.variable }, error.message);
    return 1;
  }
  if (command === 'backup' || command === 'restore') return runBackupCommand(command, rest, config);
  const database = openDatabase(config);
  const where = { dialect: database.dialect, location: database.location };
  try {
    if (command === 'migrate') {
      const newer = await migrationsNewerThanCode(database.db);
      const applied = await migrateToLatest(database.db);
      if (newer.length > 0) log.warn({ ...where, newer }, 'the database has migrations from a newer version (a rollback?): nothing to apply');
      else log.info({ ...where, applied }, applied.length > 0 ? 'migrations applied' : 'database already current');
      return 0;
    }
    if (command === 'migrate:status') {
      const pending = await pendingMigrations(database.db);
      log.info({ ...where, pending }, pending.length > 0 ? 'migrations pending' : 'database current');
      return pending.length > 0 ? 2 : 0;
    }
    return await createAdmin(rest, config, database);
  } catch (error) {
    if (error instanceof ClientError) log.error({ errors: error.errors }, `${command} refused: ${error.message}`);
    else log.error({ err: error }, `${command} failed`);
    return 1;
  } finally {
    await database.close();
  }
}

async function createAdmin(args: string[], config: ReturnType<typeof loadConfig>, database: ReturnType<typeof openDatabase>): Promise<number> {
  const { values } = parseArgs({ args, options: { email: { type: 'string' }, username: { type: 'string' } } });
  if (values.email === undefined) {
    process.stderr.write(USAGE);
    return 64;
  }
  const password = process.env.ADMIN_PASSWORD ?? (await firstLineOfStdin());
  if (!password) {
    log.error('no password: set ADMIN_PASSWORD or pipe it on standard input');
    return 1;
  }
  if (migratesOnStart(config)) await migrateToLatest(database.db);
  const pending = await pendingMigrations(database.db);
  if (pending.length > 0) {
    log.error({ pending }, 'database migrations are pending: run the migrate command first');
    return 1;
  }
  const services = createServices(database.db, serviceOptionsFrom(config));
  const { created, user } = await services.admin.createAdmin(COMMAND_LINE, { email: values.email, username: values.username, password });
  log.info({ username: user.username, email: user.email }, created ? 'admin created' : 'existing account promoted to admin');
  return 0;
}

async function runBackupCommand(command: 'backup' | 'restore', args: string[], config: ReturnType<typeof loadConfig>): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' }, from: { type: 'string' }, force: { type: 'boolean', default: false } } });
  const file = command === 'backup' ? values.out : values.from;
  if (file === undefined) {
    process.stderr.write(USAGE);
    return 64;
  }
  const started = Date.now();
  try {
    if (command === 'backup') {
      const header = config.databaseUrl === undefined ? await backupSqlite(config.dataDir, file) : await backupPostgres(config.databaseUrl, file);
      log.info({ file, dialect: header.dialect, schema: header.schema, rows: header.rows, bytes: statSync(file).size, durationMs: Date.now() - started }, 'backup written');
      return 0;
    }
    const { header, previous } =
      config.databaseUrl === undefined ? await restoreSqlite(config.dataDir, file, values.force) : await restorePostgres(config.databaseUrl, file, values.force);
    log.info({ file, ...(header ?? { format: 'pg_dump archive' }), previous, durationMs: Date.now() - started }, 'backup restored');
    return 0;
  } catch (error) {
    if (error instanceof BackupError) log.error(`${command} refused: ${error.message}`);
    else log.error({ err: error }, `${command} failed`);
    return 1;
  }
}

async function firstLineOfStdin(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  let input = '';
  for await (const chunk of process.stdin) input += String(chunk);
  return input.split(/\r?\n/)[0]?.trim() || undefined;
}

process.exitCode = await main(process.argv.slice(2));
