import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_MAGIC, BackupError, type BackupHeader, readBackup } from '../src/ops/backup-file.ts';
import { backupPostgres, restorePostgres } from '../src/ops/postgres-backup.ts';
import { backupSqlite, restoreSqlite } from '../src/ops/sqlite-backup.ts';
import { createTestApp, createTestStorage, dialectUnderTest, type TestApp, type TestStorage } from './helpers/app.ts';
import { Conduit } from './helpers/conduit.ts';
import { eventually } from './helpers/wait.ts';

/**
 * Backup and restore as functions, on the database under test (the CLI and the drill under
 * load are in backup.test.ts): what a backup records, and every refusal before anything changes.
 */
const backup = (storage: TestStorage, out: string): Promise<BackupHeader> =>
  storage.databaseUrl === undefined ? backupSqlite(storage.dataDir, out) : backupPostgres(storage.databaseUrl, out);
const restore = async (storage: TestStorage, from: string, force: boolean): Promise<{ previous: string | undefined }> =>
  storage.databaseUrl === undefined ? restoreSqlite(storage.dataDir, from, force) : restorePostgres(storage.databaseUrl, from, force);

let source: TestApp;
let file: string;

beforeAll(async () => {
  source = await createTestApp();
  const api = new Conduit(source.app);
  const { token } = await api.register();
  for (let article = 0; article < 4; article += 1) await api.createArticle(token, { tagList: ['kept'] });
  file = join(source.storage.dataDir, 'functions.backup');
});
afterAll(() => source.close());

describe(`backup and restore functions (${dialectUnderTest})`, () => {
  it('records the dialect, the schema version and the rows per table', async () => {
    const header = await backup(source.storage, file);

    expect(header.dialect).toBe(dialectUnderTest);
    expect(header.schema).toMatch(/^\d{4}_/);
    expect(header.rows.articles).toBe(4);
    expect(header.rows.users).toBe(1);
    expect(readBackup(file).header).toEqual(header);
  });

  it('restores into a fresh database, and keeps the one it replaced', async () => {
    const target = await createTestStorage();
    try {
      const { previous } = await restore(target, file, true);
      const restored = await createTestApp({ storage: target, migrate: false });
      try {
        const articles = await restored.app.db.selectFrom('articles').select('slug').execute();
        expect(articles).toHaveLength(4);
      } finally {
        await restored.app.close();
      }
      expect(previous === undefined || previous.includes('before')).toBe(true);
    } finally {
      await target.remove();
    }
  });

  it('refuses a database in use, an existing one without --force, the other dialect, a newer schema and a non-backup', async () => {
    await expect(restore(source.storage, file, true)).rejects.toThrow(/is in use/);

    const target = await createTestStorage();
    const occupant = await createTestApp({ storage: target });
    await occupant.app.close();
    try {
      // PostgreSQL ends a closed pool's backends a moment after the client has gone.
      const refusal = await eventually(() => restore(target, file, false).then(() => 'restored', (error: Error) => error.message), (message) => !message.includes('in use'));
      expect(refusal).toMatch(/pass --force to replace it/);

      const other = join(target.dataDir, 'other-dialect.backup');
      const original = readFileSync(file);
      const headerEnd = original.indexOf('\n', original.indexOf('\n') + 1);
      const header = JSON.parse(original.subarray(original.indexOf('\n') + 1, headerEnd).toString()) as Record<string, unknown>;
      const rewrite = (changes: Record<string, unknown>, to: string) => writeFileSync(to, Buffer.concat([Buffer.from(`${BACKUP_MAGIC}\n${JSON.stringify({ ...header, ...changes })}`), original.subarray(headerEnd)]));
      rewrite({ dialect: dialectUnderTest === 'sqlite' ? 'postgres' : 'sqlite' }, other);
      await expect(restore(target, other, true)).rejects.toThrow(/backup; this server uses/);

      const newer = join(target.dataDir, 'newer.backup');
      rewrite({ schema: '9999_from_the_future' }, newer);
      await expect(restore(target, newer, true)).rejects.toThrow(/is newer than this version knows/);

      const garbage = join(target.dataDir, 'garbage.backup');
      writeFileSync(garbage, `${BACKUP_MAGIC}\n{not json\n`);
      await expect(restore(target, garbage, true)).rejects.toThrow(/damaged header/);
      writeFileSync(garbage, 'hello');
      await expect(restore(target, garbage, true)).rejects.toThrow(BackupError);
      await expect(restore(target, join(target.dataDir, 'missing.backup'), true)).rejects.toThrow(/no such file/);
    } finally {
      await target.remove();
    }
  });

  it('refuses a backup whose contents do not match its recorded row counts, leaving the target untouched', async () => {
    const original = readFileSync(file);
    const headerEnd = original.indexOf('\n', original.indexOf('\n') + 1);
    const header = JSON.parse(original.subarray(original.indexOf('\n') + 1, headerEnd).toString()) as BackupHeader;
    const tampered = join(source.storage.dataDir, 'tampered.backup');
    writeFileSync(tampered, Buffer.concat([Buffer.from(`${BACKUP_MAGIC}\n${JSON.stringify({ ...header, rows: { ...header.rows, articles: 5 } })}`), original.subarray(headerEnd)]));
    const target = await createTestStorage();
    try {
      await expect(restore(target, tampered, true)).rejects.toThrow('table articles holds 4 rows, the backup recorded 5');
    } finally {
      await target.remove();
    }
  });
});
