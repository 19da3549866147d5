import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';

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

  it('makes every commit durable (synchronous=FULL)', async () => {
    expect(await pragma('synchronous')).toBe(2);
  });

  it('has no connection pool to report', () => {
    expect(testApp.app.database.poolStats()).toBeUndefined();
  });
});
