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
