import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestApp, createTestStorage } from '../helpers/app.ts';
import { Conduit } from '../helpers/conduit.ts';
import { runNode } from '../helpers/process.ts';

/** Staging's backup CronJob writes bare pg_dump archives: restore takes those too. */
describe('restoring a bare pg_dump archive', () => {
  it('restores it, checking its schema once restored since the archive carries no header', async () => {
    const source = await createTestApp();
    const file = join(source.storage.dataDir, 'cronjob.dump');
    try {
      const api = new Conduit(source.app);
      const { token } = await api.register();
      for (let article = 0; article < 3; article += 1) await api.createArticle(token);
      execFileSync('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${file}`, `--dbname=${source.config.databaseUrl}`]);
    } finally {
      await source.app.close();
    }

    const fresh = await createTestStorage();
    try {
      const restore = await runNode('src/cli.ts', ['restore', '--from', file, '--force'], { DATA_DIR: fresh.dataDir, DATABASE_URL: fresh.databaseUrl! });
      expect(restore.code, restore.output).toBe(0);
      expect(restore.output).toContain('"format":"pg_dump archive"');

      const client = new pg.Client({ connectionString: fresh.databaseUrl });
      await client.connect();
      const { rows } = await client.query<{ n: string }>('select count(*) as n from articles');
      await client.end();
      expect(Number(rows[0]!.n)).toBe(3);
    } finally {
      await fresh.remove();
      await source.storage.remove();
    }
  }, 60_000);
});
