/**
 * A worker thread holding its own read-only connection to the SQLite file: runs the SELECTs the
 * main thread hands it, so a query that reads many rows stalls this thread, not every request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

export interface ReadRequest {
  readonly id: number;
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export type ReadReply =
  | { readonly id: number; readonly rows: unknown[] }
  | { readonly id: number; readonly error: { readonly message: string; readonly code: string | undefined } };

export interface ReaderSettings {
  readonly file: string;
  readonly cacheKib: number;
  readonly mmapBytes: number;
}

const settings = workerData as ReaderSettings;
const connection = new SQLite(settings.file, { readonly: true, fileMustExist: true });
connection.pragma('busy_timeout = 5000');
connection.pragma(`cache_size = -${settings.cacheKib}`);
connection.pragma(`mmap_size = ${settings.mmapBytes}`);
const statements = new Map<string, SQLite.Statement>();

parentPort!.on('message', (request: ReadRequest) => {
  try {
    let statement = statements.get(request.sql);
    if (statement === undefined) {
      statement = connection.prepare(request.sql);
      statements.set(request.sql, statement);
    }
    parentPort!.postMessage({ id: request.id, rows: statement.all(...request.parameters) } satisfies ReadReply);
  } catch (error) {
    const { message, code } = error as { message: string; code?: string };
    parentPort!.postMessage({ id: request.id, error: { message, code } } satisfies ReadReply);
  }
});
