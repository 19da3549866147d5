import { sql } from 'kysely';
import { dialectColumns, type MigrationDb } from './helpers.ts';

/**
 * What the web application adds: roles and disabling on users, database-backed sessions (so
 * replicas share them), uploaded images, the admin audit log and the sign-in failure counters.
 */
export async function up(db: MigrationDb): Promise<void> {
  const { timestamp, binary, identity } = dialectColumns(db);

  await db.schema
    .alterTable('users')
    .addColumn('role', 'text', (column) => column.notNull().defaultTo('user').check(sql`role in ('user', 'admin')`))
    .execute();
  await db.schema.alterTable('users').addColumn('disabled_at', timestamp).execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('user_id', 'integer', (column) => column.references('users.id').onDelete('cascade'))
    .addColumn('data', 'text', (column) => column.notNull())
    // Epoch milliseconds: idle expiry (moves with each request) and absolute expiry (fixed).
    .addColumn('expires_at', 'bigint', (column) => column.notNull())
    .addColumn('absolute_expires_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('sessions_user_id_idx').on('sessions').column('user_id').execute();
  await db.schema.createIndex('sessions_expires_at_idx').on('sessions').column('expires_at').execute();

  await db.schema
    .createTable('images')
    .addColumn('hash', 'text', (column) => column.primaryKey())
    .addColumn('content_type', 'text', (column) => column.notNull())
    .addColumn('size', 'integer', (column) => column.notNull())
    .addColumn('uploaded_by', 'integer', (column) => column.references('users.id').onDelete('set null'))
    .addColumn('created_at', timestamp, (column) => column.notNull())
    .addColumn('data', binary, (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'integer', identity)
    .addColumn('actor_id', 'integer', (column) => column.references('users.id').onDelete('set null'))
    // Kept as text too, so the record survives the actor's account.
    .addColumn('actor_username', 'text', (column) => column.notNull())
    .addColumn('action', 'text', (column) => column.notNull())
    .addColumn('target', 'text', (column) => column.notNull())
    .addColumn('detail', 'text')
    .addColumn('created_at', timestamp, (column) => column.notNull())
    .execute();

  await db.schema
    .createTable('sign_in_failures')
    .addColumn('key', 'text', (column) => column.primaryKey())
    .addColumn('failures', 'integer', (column) => column.notNull())
    .addColumn('window_ends_at', 'bigint', (column) => column.notNull())
    .execute();
}

export async function down(db: MigrationDb): Promise<void> {
  for (const table of ['sign_in_failures', 'audit_log', 'images', 'sessions']) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.alterTable('users').dropColumn('disabled_at').execute();
  await db.schema.alterTable('users').dropColumn('role').execute();
}
