import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';

let testApp: TestApp;

beforeAll(async () => {
  testApp = await createTestApp();
});
afterAll(() => testApp.close());

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

  it('makes every commit durable (synchronous=FULL)', async () => {
    expect(await pragma('synchronous')).toBe(2);
  });

  it('has no connection pool to report', () => {
    expect(testApp.app.database.poolStats()).toBeUndefined();
  });
});
