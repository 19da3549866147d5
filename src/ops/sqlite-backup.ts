import { closeSync, copyFileSync, createReadStream, createWriteStream, existsSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import SQLite from 'better-sqlite3';
import { SQLITE_FILE_NAME } from '../db/database.ts';
import { BackupError, type BackupHeader, checkSchemaKnown, encodeHeader, readHeader } from './backup-file.ts';

/**
 * SQLite backups: `VACUUM INTO` takes a consistent copy of the live database while the server
 * keeps writing (it reads one snapshot); restore writes a new file, checks it, then swaps it in.
 */
export async function backupSqlite(dataDir: string, out: string): Promise<BackupHeader> {
  const live = join(dataDir, SQLITE_FILE_NAME);
  if (!existsSync(live)) throw new BackupError(`no database at ${live}`);
  const snapshot = `${out}.snapshot-${process.pid}`;
  rmSync(snapshot, { force: true });
  const connection = new SQLite(live, { fileMustExist: true, timeout: 10_000 });
  try {
    connection.prepare('VACUUM INTO ?').run(snapshot);
  } finally {
    connection.close();
  }
  try {
    const header = describeSnapshot(snapshot);
    const descriptor = openSync(out, 'w');
    try {
      writeSync(descriptor, encodeHeader(header));
    } finally {
      closeSync(descriptor);
    }
    await pipeline(createReadStream(snapshot), createWriteStream(out, { flags: 'a' }));
    return header;
  } finally {
    rmSync(snapshot, { force: true });
  }
}

export interface RestoreOutcome {
  readonly header: BackupHeader;
  /** Where the database that was replaced now lies, if there was one. */
  readonly previous: string | undefined;
}

export async function restoreSqlite(dataDir: string, from: string, force: boolean): Promise<RestoreOutcome> {
  const { header, payloadOffset } = readHeader(from);
  if (header.dialect !== 'sqlite') throw new BackupError(`${from} is a ${header.dialect} backup; this server uses SQLite`);
  checkSchemaKnown(header.schema);
  const live = join(dataDir, SQLITE_FILE_NAME);
  if (existsSync(live)) refuseIfInUseOrKept(live, force);

  const incoming = `${live}.restoring-${Date.now()}`;
  await pipeline(createReadStream(from, { start: payloadOffset }), createWriteStream(incoming));
  try {
    verify(incoming, header);
  } catch (error) {
    rmSync(incoming, { force: true });
    throw error;
  }
  let previous: string | undefined;
  if (existsSync(live)) {
    previous = `${live}.before-restore-${Date.now()}`;
    copyFileSync(live, previous);
    for (const suffix of ['-wal', '-shm']) rmSync(`${live}${suffix}`, { force: true });
  }
  // A rename within one directory is atomic: readers see the old database or the new one.
  renameSync(incoming, live);
  return { header, previous };
}

function describeSnapshot(file: string): BackupHeader {
  const snapshot = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const schema = snapshot.prepare('select name from kysely_migration order by name desc limit 1').pluck().get() as string | undefined;
    if (schema === undefined) throw new BackupError('the database has no migrations applied: nothing worth backing up');
    return { dialect: 'sqlite', schema, createdAt: new Date().toISOString(), rows: countRows(snapshot) };
  } finally {
    snapshot.close();
  }
}

function countRows(connection: SQLite.Database): Record<string, number> {
  const tables = connection.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all() as string[];
  return Object.fromEntries(tables.map((table) => [table, Number(connection.prepare(`select count(*) from "${table}"`).pluck().get())]));
}

/** Refuses to replace a database another process has open, or one with data unless forced. */
function refuseIfInUseOrKept(live: string, force: boolean): void {
  const probe = new SQLite(live, { timeout: 0 });
  try {
    probe.pragma('locking_mode = EXCLUSIVE');
    probe.exec('BEGIN EXCLUSIVE');
    probe.exec('COMMIT');
  } catch (error) {
    throw new BackupError(`the database at ${live} is in use (${(error as { code?: string }).code ?? 'locked'}): stop the server first`);
  } finally {
    probe.close();
  }
  if (!force && statSync(live).size > 0) {
    throw new BackupError(`a database already exists at ${live}: pass --force to replace it (it is kept beside it as .before-restore-*)`);
  }
}

/** The restored file must be whole, consistent and hold what the header says, before it is used. */
function verify(file: string, header: BackupHeader): void {
  const restored = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const integrity = restored.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new BackupError(`the backup's database fails integrity_check: ${String(integrity)}`);
    const danglingKeys = restored.pragma('foreign_key_check') as unknown[];
    if (danglingKeys.length > 0) throw new BackupError(`the backup's database has ${danglingKeys.length} rows with dangling foreign keys`);
    const rows = countRows(restored);
    for (const [table, count] of Object.entries(header.rows)) {
      if (rows[table] !== count) throw new BackupError(`table ${table} holds ${rows[table]} rows, the backup recorded ${count}`);
    }
  } finally {
    restored.close();
  }
}
