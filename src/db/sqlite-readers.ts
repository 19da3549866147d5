import { Worker } from 'node:worker_threads';
import { SQLITE_READER_WORKER } from '../paths.ts';
import type { ReaderSettings, ReadReply, ReadRequest } from './sqlite-reader-worker.ts';

interface Pending {
  resolve(rows: unknown[]): void;
  reject(error: Error): void;
}

/** A read failed in the worker: carries SQLite's error code, as better-sqlite3's own errors do. */
export class SqliteReadError extends Error {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'SqliteError';
    this.code = code;
  }
}

/**
 * Worker threads, each with a read-only connection to the same SQLite file (WAL lets them read
 * while the main connection writes). Started on first use; a worker that dies fails what it was
 * running and is replaced on the next read.
 */
export class SqliteReaders {
  readonly #settings: ReaderSettings;
  readonly #size: number;
  readonly #workers: (Worker | undefined)[];
  readonly #pending = new Map<number, Pending & { worker: Worker }>();
  #nextId = 0;
  #nextWorker = 0;

  constructor(settings: ReaderSettings, size: number) {
    this.#settings = settings;
    this.#size = size;
    this.#workers = Array.from({ length: size }, () => undefined);
  }

  /** Runs a SELECT on a worker; resolves to its rows. */
  all(sql: string, parameters: readonly unknown[]): Promise<unknown[]> {
    const index = this.#nextWorker;
    this.#nextWorker = (index + 1) % this.#size;
    const worker = this.#workers[index] ?? this.#start(index);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, worker });
      worker.postMessage({ id, sql, parameters } satisfies ReadRequest);
    });
  }

  async close(): Promise<void> {
    const workers = this.#workers.splice(0, this.#size, ...Array.from({ length: this.#size }, () => undefined));
    await Promise.all(workers.filter((worker) => worker !== undefined).map((worker) => worker.terminate()));
  }

  #start(index: number): Worker {
    const worker = new Worker(SQLITE_READER_WORKER, { workerData: this.#settings });
    // Idle readers must not keep the process alive at shutdown.
    worker.unref();
    worker.on('message', (reply: ReadReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if ('rows' in reply) pending.resolve(reply.rows);
      else pending.reject(new SqliteReadError(reply.error.message, reply.error.code));
    });
    const fail = (error: Error) => {
      if (this.#workers[index] === worker) this.#workers[index] = undefined;
      for (const [id, pending] of this.#pending) {
        if (pending.worker !== worker) continue;
        this.#pending.delete(id);
        pending.reject(error);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`SQLite reader thread exited with code ${code}`)));
    this.#workers[index] = worker;
    return worker;
  }
}
