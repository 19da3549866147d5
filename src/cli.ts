import pino from 'pino';
import { ConfigError, environmentWithDotEnv, loadConfig } from './config.ts';
import { openDatabase } from './db/database.ts';
import { migrateToLatest, pendingMigrations } from './db/migrate.ts';
import { loggerOptions } from './logger.ts';

const USAGE = `usage: node dist/cli.js <command>

commands:
  migrate            apply pending database migrations (safe to run twice or concurrently)
  migrate:status     list pending migrations; exit 2 when some are pending
`;

/** Operational commands that run in the same image as the server (e.g. a migration Job). */
async function main(argv: string[]): Promise<number> {
  const log = pino(loggerOptions('info'));
  const [command] = argv;
  if (command !== 'migrate' && command !== 'migrate:status') {
    process.stderr.write(USAGE);
    return 64;
  }
  let config;
  try {
    config = loadConfig(environmentWithDotEnv(process.env));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.fatal({ variable: error.variable }, error.message);
    return 1;
  }
  const database = openDatabase(config);
  try {
    if (command === 'migrate') {
      const applied = await migrateToLatest(database.db);
      log.info({ dialect: database.dialect, location: database.location, applied }, applied.length > 0 ? 'migrations applied' : 'database already current');
      return 0;
    }
    const pending = await pendingMigrations(database.db);
    log.info({ dialect: database.dialect, location: database.location, pending }, pending.length > 0 ? 'migrations pending' : 'database current');
    return pending.length > 0 ? 2 : 0;
  } catch (error) {
    log.error({ err: error }, `${command} failed`);
    return 1;
  } finally {
    await database.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
