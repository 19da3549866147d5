import type { MigrationDb } from './helpers.ts';

/**
 * Counters for the request rate limits, one row per client (signed-in user or address) and
 * window. In the database rather than in memory so every replica counts against the same limit.
 * Expand-only: older code ignores the table.
 */
export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .createTable('request_counters')
    .addColumn('key', 'text', (column) => column.primaryKey())
    .addColumn('hits', 'integer', (column) => column.notNull())
    .addColumn('window_ends_at', 'bigint', (column) => column.notNull())
    .execute();
}

export async function down(db: MigrationDb): Promise<void> {
  await db.schema.dropTable('request_counters').execute();
}
