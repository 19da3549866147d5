import type { MigrationDb } from './helpers.ts';

/**
 * A counter on each account, raised whenever its password changes. API tokens and web
 * sessions carry the value they were issued under; one from before the change no longer works.
 * Expand-only: older code ignores the column.
 */
export async function up(db: MigrationDb): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('credentials_version', 'integer', (column) => column.notNull().defaultTo(0))
    .execute();
}

export async function down(db: MigrationDb): Promise<void> {
  await db.schema.alterTable('users').dropColumn('credentials_version').execute();
}
