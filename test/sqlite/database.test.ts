import SQLite from 'better-sqlite3';
import { CompiledQuery, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createTestApp, useTestApp } from '../helpers/app.ts';

const testApp = useTestApp();

async function pragma(name: string): Promise<unknown> {
  const { rows } = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(testApp.app.db);
  return Object.values(rows[0]!)[0];
}

describe('the embedded SQLite database', () => {
  it('lives in DATA_DIR and is set up for safe concurrent use', async () => {
    expect(testApp.app.database.location).toBe(`${testApp.config.dataDir}/shipshape.sqlite`);
    expect(await pragma('journal_mode')).toBe('wal');
    expect(await pragma('foreign_keys')).toBe(1);
    expect(await pragma('busy_timeout')).toBe(5000);
  });

  it('keeps 64 MiB of pages in memory and reads the file through a 256 MiB memory map', async () => {
    expect(await pragma('cache_size')).toBe(-65536);
    expect(await pragma('mmap_size')).toBe(268435456);
  });

  it('sizes the page cache and memory map of every connection, reader threads included, from SQLITE_CACHE_SIZE and SQLITE_MMAP_SIZE', async () => {
    const small = await createTestApp({ env: { SQLITE_CACHE_SIZE: '2mb', SQLITE_MMAP_SIZE: '0', SQLITE_READER_THREADS: '1' } });
    try {
      const mainCache = await sql<{ cache_size: number }>`pragma cache_size`.execute(small.app.db);
      const mainMmap = await sql<{ mmap_size: number }>`pragma mmap_size`.execute(small.app.db);
      // mmap_size has no table-valued form to read it with a SELECT: the reader shows its cache.
      const readerCache = await small.app.database.readOffMainThread(CompiledQuery.raw('select cache_size from pragma_cache_size'));

      expect(mainCache.rows).toEqual([{ cache_size: -2048 }]);
      expect(mainMmap.rows).toEqual([{ mmap_size: 0 }]);
      expect(readerCache).toEqual([{ cache_size: -2048 }]);
    } finally {
      await small.close();
    }
  });

  it('makes every commit durable (synchronous=FULL)', async () => {
    expect(await pragma('synchronous')).toBe(2);
  });

  it('has no connection pool to report', () => {
    expect(testApp.app.database.poolStats()).toBeUndefined();
  });

  it('runs a read handed off the main thread in a reader thread: the event loop keeps turning while it runs', async () => {
    const slow = CompiledQuery.raw('with recursive n(i) as (select 1 union all select i + 1 from n where i < ?) select count(*) as count from n', [3_000_000]);
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    const started = performance.now();
    try {
      const rows = await testApp.app.database.readOffMainThread(slow);

      expect(rows).toEqual([{ count: 3_000_000 }]);
    } finally {
      clearInterval(ticker);
    }
    expect(performance.now() - started).toBeGreaterThan(50); // slow enough to have stalled the loop
    expect(ticks).toBeGreaterThanOrEqual(3); // a query on the main thread lets no timer run
  });

  it('reports a failed read with SQLite\'s error, and refuses writes in a reader thread', async () => {
    await expect(testApp.app.database.readOffMainThread(CompiledQuery.raw('select * from nowhere'))).rejects.toThrow('no such table: nowhere');
    await expect(testApp.app.database.readOffMainThread(CompiledQuery.raw('delete from tags returning id'))).rejects.toMatchObject({ code: 'SQLITE_READONLY' });
  });

  it('changes its data version with every commit, by this connection or another process, and only then', async () => {
    const { database } = testApp.app;
    const start = await database.dataVersion();
    expect(await database.dataVersion()).toBe(start);

    await testApp.app.db.insertInto('tags').values({ name: 'version-here' }).execute();
    const afterOwnWrite = await database.dataVersion();
    expect(afterOwnWrite).not.toBe(start);

    const otherProcess = new SQLite(database.location);
    try {
      otherProcess.prepare('insert into tags (name) values (?)').run('version-elsewhere');
    } finally {
      otherProcess.close();
    }
    expect(await database.dataVersion()).not.toBe(afterOwnWrite);
  });

  it('reads the data version after a transaction in progress ends, not in the middle of it', async () => {
    const { database } = testApp.app;
    let readDuringTransaction: Promise<string> | undefined;
    await testApp.app.db.transaction().execute(async (trx) => {
      await trx.insertInto('tags').values({ name: 'version-in-transaction' }).execute();
      readDuringTransaction = database.dataVersion();
      await trx.insertInto('tags').values({ name: 'version-in-transaction-2' }).execute();
    });

    // Read mid-transaction, it would count the first insert only; it waited, so it counts both.
    expect(await readDuringTransaction).toBe(await database.dataVersion());
  });
});
