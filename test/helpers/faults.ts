import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { SQLITE_FILE_NAME } from '../../src/db/database.ts';
import type { TestStorage } from './app.ts';

export type WriteOperation = 'insert' | 'update' | 'delete';

/**
 * Makes every `operation` on `table` fail inside the database itself (a trigger that raises),
 * as a full disk or a broken constraint would: the app meets a real driver error, nothing in
 * it is mocked. Returns a function that removes the fault.
 */
export async function injectWriteFault(storage: TestStorage, table: string, operation: WriteOperation): Promise<() => Promise<void>> {
  const trigger = `injected_fault_${table}_${operation}`;
  if (storage.databaseUrl === undefined) {
    const db = new SQLite(join(storage.dataDir, SQLITE_FILE_NAME));
    db.exec(`create trigger ${trigger} before ${operation} on ${table} begin select raise(abort, 'injected fault'); end`);
    db.close();
    return () => {
      const again = new SQLite(join(storage.dataDir, SQLITE_FILE_NAME));
      again.exec(`drop trigger ${trigger}`);
      again.close();
      return Promise.resolve();
    };
  }
  await postgres(storage.databaseUrl, [
    `create or replace function ${trigger}() returns trigger language plpgsql as $$ begin raise exception 'injected fault'; end $$`,
    `create trigger ${trigger} before ${operation} on ${table} for each row execute function ${trigger}()`,
  ]);
  const url = storage.databaseUrl;
  return () => postgres(url, [`drop trigger ${trigger} on ${table}`, `drop function ${trigger}()`]);
}

async function postgres(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}
