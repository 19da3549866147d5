import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { migrations } from '../db/migrations/index.ts';

/**
 * A Shipshape backup: one line naming the format, one line of JSON saying what the backup
 * holds (dialect, the schema's last migration, rows per table), then the database itself: the
 * SQLite file, or a pg_dump custom-format archive. The header lets restore refuse a file from
 * a newer schema, or from the other database, before it touches anything.
 */
export const BACKUP_MAGIC = 'SHIPSHAPE-BACKUP/1';

export interface BackupHeader {
  readonly dialect: 'sqlite' | 'postgres';
  /** The last migration the backed-up schema had applied. */
  readonly schema: string;
  readonly createdAt: string;
  readonly rows: Readonly<Record<string, number>>;
}

export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

export function encodeHeader(header: BackupHeader): Buffer {
  return Buffer.from(`${BACKUP_MAGIC}\n${JSON.stringify(header)}\n`);
}

/** pg_dump's own custom-format archives (staging's backup CronJob writes those) start with this. */
const PG_DUMP_MAGIC = 'PGDMP';

/**
 * What restore reads: a Shipshape backup (its header, and where the database starts), or a
 * bare pg_dump custom-format archive, whose schema restore can only check once it is restored.
 */
export function readBackup(path: string): { header: BackupHeader | undefined; dialect: 'sqlite' | 'postgres'; payloadOffset: number } {
  const start = Buffer.alloc(PG_DUMP_MAGIC.length);
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch {
    throw new BackupError(`cannot read ${path}: no such file`);
  }
  try {
    readSync(descriptor, start, 0, start.length, 0);
  } finally {
    closeSync(descriptor);
  }
  if (start.toString() === PG_DUMP_MAGIC) return { header: undefined, dialect: 'postgres', payloadOffset: 0 };
  const { header, payloadOffset } = readHeader(path);
  return { header, dialect: header.dialect, payloadOffset };
}

/** The header of a backup file and the byte offset where the database inside it starts. */
export function readHeader(path: string): { header: BackupHeader; payloadOffset: number; bytes: number } {
  let bytes: number;
  try {
    bytes = statSync(path).size;
  } catch {
    throw new BackupError(`cannot read ${path}: no such file`);
  }
  const head = Buffer.alloc(Math.min(bytes, 64 * 1024));
  const descriptor = openSync(path, 'r');
  try {
    readSync(descriptor, head, 0, head.length, 0);
  } finally {
    closeSync(descriptor);
  }
  const firstBreak = head.indexOf('\n');
  const secondBreak = head.indexOf('\n', firstBreak + 1);
  if (firstBreak < 0 || secondBreak < 0 || head.subarray(0, firstBreak).toString() !== BACKUP_MAGIC) {
    throw new BackupError(`${path} is not a Shipshape backup (it does not start with ${BACKUP_MAGIC})`);
  }
  let header: BackupHeader;
  try {
    header = JSON.parse(head.subarray(firstBreak + 1, secondBreak).toString()) as BackupHeader;
  } catch {
    throw new BackupError(`${path} has a damaged header`);
  }
  return { header, payloadOffset: secondBreak + 1, bytes };
}

/** A backup taken by a newer version than this one cannot be restored by this one. */
export function checkSchemaKnown(schema: string): void {
  if (!Object.hasOwn(migrations, schema)) {
    throw new BackupError(
      `the backup's schema (${schema}) is newer than this version knows (latest ${Object.keys(migrations).at(-1)}): restore it with the version that took it`,
    );
  }
}
