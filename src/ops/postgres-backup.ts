import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import pg from 'pg';
import { BackupError, type BackupHeader, checkSchemaKnown, encodeHeader, readBackup } from './backup-file.ts';

/**
 * PostgreSQL backups with Debian's client tools: pg_dump's custom format, taken from a snapshot
 * this process exports so the recorded row counts describe exactly what was dumped; restore
 * goes into a new database, is checked, then swapped in by renaming. Nothing is half-restored.
 */
export async function backupPostgres(databaseUrl: string, out: string): Promise<BackupHeader> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const { rows: snapshotRows } = await client.query<{ id: string }>('select pg_export_snapshot() as id');
    const schema = await lastMigration(client);
    const header: BackupHeader = { dialect: 'postgres', schema, createdAt: new Date().toISOString(), rows: await countRows(client) };
    const descriptor = openSync(out, 'w');
    try {
      writeSync(descriptor, encodeHeader(header));
      await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--snapshot=${snapshotRows[0]!.id}`], { stdout: descriptor, database: databaseUrl });
    } finally {
      closeSync(descriptor);
    }
    await client.query('commit');
    return header;
  } finally {
    await client.end();
  }
}

export async function restorePostgres(databaseUrl: string, from: string, force: boolean): Promise<{ header: BackupHeader | undefined; previous: string | undefined }> {
  const { header, dialect, payloadOffset } = readBackup(from);
  if (dialect !== 'postgres') throw new BackupError(`${from} is a ${dialect} backup; this server uses PostgreSQL`);
  if (header) checkSchemaKnown(header.schema);
  const target = new URL(databaseUrl);
  const targetName = decodeURIComponent(target.pathname.slice(1));
  const stamp = Date.now();
  const incomingName = `${targetName}_restoring_${stamp}`;
  const maintenance = new pg.Client({ connectionString: urlFor(target, 'postgres') });
  await maintenance.connect();
  try {
    const exists = await refuseIfInUseOrKept(maintenance, targetName, force);
    await maintenance.query(`create database ${quote(incomingName)}`);
    try {
      await run('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error'], { stdin: createReadStream(from, { start: payloadOffset }), database: urlFor(target, incomingName) });
      await verify(urlFor(target, incomingName), header);
    } catch (error) {
      await maintenance.query(`drop database if exists ${quote(incomingName)} with (force)`);
      throw error;
    }
    let previous: string | undefined;
    if (exists) {
      previous = `${targetName}_before_restore_${stamp}`;
      await maintenance.query(`alter database ${quote(targetName)} rename to ${quote(previous)}`);
    }
    await maintenance.query(`alter database ${quote(incomingName)} rename to ${quote(targetName)}`);
    return { header, previous };
  } finally {
    await maintenance.end();
  }
}

async function refuseIfInUseOrKept(maintenance: pg.Client, name: string, force: boolean): Promise<boolean> {
  const { rows } = await maintenance.query<{ exists: boolean; sessions: string }>(
    'select exists(select 1 from pg_database where datname = $1) as exists, (select count(*) from pg_stat_activity where datname = $1) as sessions',
    [name],
  );
  const { exists, sessions } = rows[0]!;
  if (Number(sessions) > 0) throw new BackupError(`the database ${name} is in use (${sessions} connections): stop the app and its jobs first`);
  if (exists && !force) throw new BackupError(`the database ${name} exists: pass --force to replace it (it is kept, renamed to ${name}_before_restore_*)`);
  return exists;
}

/** A bare pg_dump archive (no header) is checked for a known schema only; ours for its row counts too. */
async function verify(url: string, header: BackupHeader | undefined): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const schema = await lastMigration(client);
    if (header === undefined) {
      checkSchemaKnown(schema);
      return;
    }
    if (schema !== header.schema) throw new BackupError('the restored schema differs from the one the backup recorded');
    const rows = await countRows(client);
    for (const [table, count] of Object.entries(header.rows)) {
      if (rows[table] !== count) throw new BackupError(`table ${table} holds ${rows[table]} rows, the backup recorded ${count}`);
    }
  } finally {
    await client.end();
  }
}

async function lastMigration(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ name: string }>('select name from kysely_migration order by name desc limit 1').catch(() => ({ rows: [] }));
  if (rows[0] === undefined) throw new BackupError('the database has no migrations applied: nothing worth backing up');
  return rows[0].name;
}

async function countRows(client: pg.Client): Promise<Record<string, number>> {
  const { rows: tables } = await client.query<{ name: string }>("select tablename as name from pg_tables where schemaname = 'public' order by tablename");
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${quote(name)}`);
    counts[name] = Number(rows[0]!.n);
  }
  return counts;
}

function urlFor(base: URL, database: string): string {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * Runs a PostgreSQL client tool on `database`; rejects with its own error output when it fails.
 * The password goes in PGPASSWORD, not on the command line where `ps` would show it.
 */
function run(command: string, args: string[], io: { database: string; stdout?: number; stdin?: NodeJS.ReadableStream }): Promise<void> {
  const url = new URL(io.database);
  const password = decodeURIComponent(url.password);
  url.password = '';
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args, `--dbname=${url.toString()}`], {
      stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ?? 'ignore', 'pipe'],
      env: { ...process.env, ...(password === '' ? {} : { PGPASSWORD: password }) },
    });
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', (error) => reject(new BackupError(`${command} could not start (${error.message}): install the PostgreSQL client tools`)));
    if (io.stdin && child.stdin) io.stdin.pipe(child.stdin);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new BackupError(`${command} failed (exit ${code}): ${errors.trim().slice(0, 2000)}`))));
  });
}
