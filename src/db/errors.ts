interface DriverError {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

/**
 * Names the unique constraint a failed write violated (PostgreSQL's constraint name, or
 * SQLite's "UNIQUE constraint failed: table.column" text), or undefined for any other error.
 * Callers look for the column they care about in it.
 */
export function violatedUniqueConstraint(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, constraint, message } = error as DriverError;
  if (code === '23505') return typeof constraint === 'string' ? constraint : 'unique';
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return typeof message === 'string' ? message : 'unique';
  }
  return undefined;
}

/** ISO 8601 with milliseconds and Z: how every timestamp is written and returned. */
export function now(): string {
  return new Date().toISOString();
}

export type UnavailableReason = 'storage full' | 'unreachable' | 'overloaded' | 'i/o error';

const POSTGRES_UNAVAILABLE: Record<string, UnavailableReason> = {
  '53100': 'storage full', // disk_full
  '53200': 'overloaded', // out_of_memory
  '53300': 'overloaded', // too_many_connections
  '57014': 'overloaded', // query_canceled: statement_timeout
  '57P01': 'unreachable', // admin_shutdown
  '57P02': 'unreachable', // crash_shutdown
  '57P03': 'unreachable', // cannot_connect_now
};

const SQLITE_UNAVAILABLE: Record<string, UnavailableReason> = {
  SQLITE_FULL: 'storage full',
  SQLITE_BUSY: 'overloaded',
  SQLITE_LOCKED: 'overloaded',
  SQLITE_NOMEM: 'overloaded',
  SQLITE_IOERR: 'i/o error',
  SQLITE_READONLY: 'i/o error',
  SQLITE_CANTOPEN: 'i/o error',
};

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

// node-postgres reports a lost or unobtainable connection with these messages and no code.
const LOST_CONNECTION = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/**
 * Why a database error means "the database cannot serve right now" (the request may succeed
 * later: 503) rather than a fault in the request or the code (500); undefined for other errors.
 */
export function databaseUnavailable(error: unknown): UnavailableReason | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as DriverError;
  if (typeof code === 'string') {
    const known = POSTGRES_UNAVAILABLE[code] ?? SQLITE_UNAVAILABLE[code] ?? SQLITE_UNAVAILABLE[code.split('_').slice(0, 2).join('_')];
    if (known !== undefined) return known;
    if (code.startsWith('08')) return 'unreachable'; // PostgreSQL's connection exceptions
    if (NETWORK_ERRORS.has(code)) return 'unreachable';
  }
  if (typeof message === 'string' && LOST_CONNECTION.test(message)) return 'unreachable';
  return undefined;
}
