import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkMigrations, compareVersions, migrationChanges, ruleViolations } from '../scripts/check-migrations.ts';
import { runNode } from './helpers/process.ts';

const RELEASE = '0.4.0';

/** A migration file's text with this up() body, a down() that undoes it, and an optional marker. */
function migration(upBody: string, marker = ''): string {
  return [
    "import { sql } from 'kysely';",
    "import type { MigrationDb } from './helpers.ts';",
    marker,
    `export async function up(db: MigrationDb): Promise<void> {\n${upBody}\n}`,
    "export async function down(db: MigrationDb): Promise<void> {\n  await db.schema.dropTable('scratch').execute();\n}",
  ].join('\n');
}

function violationsOf(upBody: string, marker = ''): string[] {
  return ruleViolations(migrationChanges('0009_step.ts', migration(upBody, marker)), RELEASE);
}

describe('the expand/contract rule (scripts/check-migrations.ts)', () => {
  it('holds for every migration in src/db/migrations, as the script reports', async () => {
    const { code, output } = await runNode('scripts/check-migrations.ts', [], {});

    expect(output).toMatch(/^check-migrations: \d+ migrations, 0 violations of the expand\/contract rule \(release \d+\.\d+\.\d+\)\n$/);
    expect(code).toBe(0);
  });

  it('accepts expand steps: new tables, new nullable columns, and drops in down() only', () => {
    expect(violationsOf("  await db.schema.createTable('scratch').addColumn('id', 'integer').execute();")).toEqual([]);
    expect(violationsOf("  await db.schema.alterTable('users').addColumn('nickname', 'text').execute();")).toEqual([]);
    expect(violationsOf("  await db.schema.createIndex('users_by_email').on('users').column('email').execute();")).toEqual([]);
  });

  it.each([
    ['dropColumn', "  await db.schema.alterTable('users').dropColumn('legacy').execute();", 'users.legacy'],
    ['renameColumn', "  await db.schema.alterTable('users').renameColumn('bio', 'about').execute();", 'users.bio'],
    ['dropTable', "  await db.schema.dropTable('follows').execute();", 'follows'],
    ['a renamed table', "  await db.schema.alterTable('tags').renameTo('labels').execute();", 'tags'],
    ['raw SQL drop column', '  await sql`alter table users drop column legacy`.execute(db);', 'raw SQL "alter table users drop column legacy"'],
    ['raw SQL rename', '  await sql`alter table ${sql.table(\'users\')} rename column bio to about`.execute(db);', 'raw SQL "alter table ? rename column bio to about"'],
  ])('refuses an unmarked %s in up()', (_what, upBody, named) => {
    expect(violationsOf(upBody)).toEqual([expect.stringContaining(`0009_step.ts: up() drops or renames ${named} without a contract marker`)]);
  });

  it('accepts a marked contract step that lists what it removes, unused since an older release', () => {
    const upBody = "  await db.schema.alterTable('users').dropColumn('legacy').execute();\n  await db.schema.dropTable('follows').execute();";

    expect(violationsOf(upBody, "export const contract = { removes: ['users.legacy', 'follows'], unusedSince: '0.3.2' };")).toEqual([]);
  });

  it('refuses a contract step in the same release that stops using what it removes', () => {
    const upBody = "  await db.schema.alterTable('users').dropColumn('legacy').execute();";

    expect(violationsOf(upBody, "export const contract = { removes: ['users.legacy'], unusedSince: '0.4.0' };")).toEqual([
      '0009_step.ts: contract.unusedSince 0.4.0 is not older than this release (0.4.0): the version being replaced may still use what it removes',
    ]);
    expect(violationsOf(upBody, "export const contract = { removes: ['users.legacy'], unusedSince: 'soon' };")).toHaveLength(1);
  });

  it('refuses a contract marker that does not list a removed column, or that removes nothing', () => {
    const upBody = "  await db.schema.alterTable('users').dropColumn('legacy').dropColumn('other').execute();";

    expect(violationsOf(upBody, "export const contract = { removes: ['users.legacy'], unusedSince: '0.1.0' };")).toEqual([
      '0009_step.ts: removes users.other without listing it in contract.removes',
    ]);
    expect(violationsOf("  await db.schema.createTable('scratch').execute();", "export const contract = { removes: [], unusedSince: '0.1.0' };")).toEqual([
      '0009_step.ts: marked as a contract step but its up() removes nothing',
    ]);
  });

  it('orders versions numerically', () => {
    expect(compareVersions('0.10.0', '0.9.9')).toBe(1);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
    expect(compareVersions('1.2.3', '2.0.0')).toBe(-1);
  });

  it('fails the script on a folder with an unmarked drop, naming the file', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'shipshape-migrations-'));
    try {
      writeFileSync(join(folder, '0001_expand.ts'), migration("  await db.schema.createTable('scratch').execute();"));
      writeFileSync(join(folder, '0002_contract.ts'), migration("  await db.schema.alterTable('scratch').dropColumn('old').execute();"));
      writeFileSync(join(folder, 'helpers.ts'), "export const notAMigration = 'drop table users';");

      expect(checkMigrations(folder, RELEASE)).toEqual({ checked: 2, violations: [expect.stringMatching(/^0002_contract\.ts: up\(\) drops or renames scratch\.old/)] });
      const { code, output } = await runNode('scripts/check-migrations.ts', [folder], {});
      expect(code).toBe(1);
      expect(output).toContain('0002_contract.ts: up() drops or renames scratch.old');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
