/**
 * The expand/contract rule over src/db/migrations: a migration's up() may drop or rename a table
 * or column only as a marked contract step, shipped a release after the code stopped using it.
 * Usage: node scripts/check-migrations.ts [migrations folder]   (exits 1 on a violation)
 *
 * A contract step exports what it removes and the release whose code no longer uses it:
 *   export const contract = { removes: ['articles.description'], unusedSince: '0.3.0' };
 * `unusedSince` must be older than the version in package.json (the release shipping the step),
 * so the version still running during the rollout never needs what the step removes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** Migration files: a four-digit sequence number, an underscore, a name. */
const MIGRATION_FILE = /^\d{4}_[a-z0-9_]+\.ts$/;
/** Raw SQL that removes or renames a table or column. */
const DESTRUCTIVE_SQL = /\bdrop\s+(table|column)\b|\brename\s+(to|column)\b|\brename\s+\w+\s+to\b/i;

export interface ContractMarker {
  readonly removes: readonly string[];
  readonly unusedSince: string;
}

/** What one migration's up() removes or renames ("table" or "table.column"), and how it is marked. */
export interface MigrationChanges {
  readonly file: string;
  readonly removes: readonly string[];
  /** Raw SQL statements that drop or rename something, which the check cannot name. */
  readonly rawSql: readonly string[];
  readonly contract: ContractMarker | undefined;
}

export function migrationChanges(file: string, source: string): MigrationChanges {
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const removes: string[] = [];
  const rawSql: string[] = [];
  let contract: ContractMarker | undefined;
  for (const statement of tree.statements) {
    if (isExportedFunction(statement, 'up')) visitUp(statement, removes, rawSql);
    const marker = contractMarker(statement);
    if (marker !== undefined) contract = marker;
  }
  return { file, removes, rawSql, contract };
}

/** Violations of the rule for one migration, as sentences; empty when it keeps the rule. */
export function ruleViolations(changes: MigrationChanges, releaseVersion: string): string[] {
  const { file, removes, rawSql, contract } = changes;
  const destructive = removes.length > 0 || rawSql.length > 0;
  if (!destructive) return contract === undefined ? [] : [`${file}: marked as a contract step but its up() removes nothing`];
  if (contract === undefined) {
    const what = [...removes, ...rawSql.map((text) => `raw SQL "${text}"`)].join(', ');
    return [`${file}: up() drops or renames ${what} without a contract marker (export const contract = { removes: [...], unusedSince: '<older release>' })`];
  }
  const violations: string[] = [];
  const unlisted = removes.filter((name) => !contract.removes.includes(name));
  if (unlisted.length > 0) violations.push(`${file}: removes ${unlisted.join(', ')} without listing it in contract.removes`);
  if (compareVersions(contract.unusedSince, releaseVersion) >= 0) {
    violations.push(`${file}: contract.unusedSince ${contract.unusedSince} is not older than this release (${releaseVersion}): the version being replaced may still use what it removes`);
  }
  return violations;
}

/** Every violation in a migrations folder. */
export function checkMigrations(folder: string, releaseVersion: string): { checked: number; violations: string[] } {
  const files = readdirSync(folder).filter((name) => MIGRATION_FILE.test(name)).sort();
  const violations = files.flatMap((name) => ruleViolations(migrationChanges(name, readFileSync(join(folder, name), 'utf8')), releaseVersion));
  return { checked: files.length, violations };
}

function isExportedFunction(node: ts.Node, name: string): node is ts.FunctionDeclaration {
  return ts.isFunctionDeclaration(node) && node.name?.text === name && (ts.getModifiers(node) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
}

function visitUp(node: ts.Node, removes: string[], rawSql: string[]): void {
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
    const removed = removedBy(node.expression.name.text, node);
    if (removed !== undefined) removes.push(removed);
  }
  const text = literalText(node);
  if (text !== undefined && DESTRUCTIVE_SQL.test(text)) rawSql.push(text.trim());
  ts.forEachChild(node, (child) => visitUp(child, removes, rawSql));
}

/** The text of a string or template literal (substitutions as "?"), e.g. a sql`...` statement. */
function literalText(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((span) => `?${span.literal.text}`).join('');
  return undefined;
}

/** The table or column a schema-builder call removes: dropTable, dropColumn, renameColumn, alterTable().renameTo. */
function removedBy(method: string, call: ts.CallExpression): string | undefined {
  const first = literalArgument(call, 0);
  if (method === 'dropTable') return first ?? '(a table)';
  const table = alteredTable(call) ?? '(a table)';
  if (method === 'dropColumn' || method === 'renameColumn') return `${table}.${first ?? '(a column)'}`;
  if (method === 'renameTo') return table;
  return undefined;
}

/** The table named by the alterTable('...') call this chained call hangs off. */
function alteredTable(call: ts.CallExpression): string | undefined {
  let node: ts.Expression = call.expression;
  while (ts.isPropertyAccessExpression(node) || ts.isCallExpression(node)) {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'alterTable') return literalArgument(node, 0);
    node = node.expression;
  }
  return undefined;
}

function literalArgument(call: ts.CallExpression, index: number): string | undefined {
  const argument = call.arguments[index];
  return argument !== undefined && (ts.isStringLiteral(argument) || ts.isNoSubstitutionTemplateLiteral(argument)) ? argument.text : undefined;
}

/** `export const contract = { removes: [...], unusedSince: '...' }`, read without running the file. */
function contractMarker(statement: ts.Statement): ContractMarker | undefined {
  if (!ts.isVariableStatement(statement) || !(ts.getModifiers(statement) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) return undefined;
  const declaration = statement.declarationList.declarations.find((candidate) => ts.isIdentifier(candidate.name) && candidate.name.text === 'contract');
  let value = declaration?.initializer;
  while (value !== undefined && (ts.isAsExpression(value) || ts.isSatisfiesExpression(value))) value = value.expression;
  if (value === undefined || !ts.isObjectLiteralExpression(value)) return undefined;
  const property = (name: string) =>
    value.properties.find((candidate): candidate is ts.PropertyAssignment => ts.isPropertyAssignment(candidate) && ts.isIdentifier(candidate.name) && candidate.name.text === name)?.initializer;
  const removes = property('removes');
  const unusedSince = property('unusedSince');
  return {
    removes: removes !== undefined && ts.isArrayLiteralExpression(removes) ? removes.elements.filter(ts.isStringLiteral).map((element) => element.text) : [],
    unusedSince: unusedSince !== undefined && ts.isStringLiteral(unusedSince) ? unusedSince.text : '',
  };
}

/** Semantic-version order of "major.minor.patch"; anything unparsable sorts last (never "older"). */
export function compareVersions(a: string, b: string): number {
  const parse = (version: string) => (/^\d+\.\d+\.\d+$/.test(version) ? version.split('.').map(Number) : [Infinity, Infinity, Infinity]);
  const [left, right] = [parse(a), parse(b)];
  for (let part = 0; part < 3; part += 1) {
    if (left[part]! !== right[part]!) return left[part]! < right[part]! ? -1 : 1;
  }
  return 0;
}

function main(): void {
  const root = new URL('..', import.meta.url).pathname;
  const folder = process.argv[2] ?? join(root, 'src/db/migrations');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const { checked, violations } = checkMigrations(folder, version);
  for (const violation of violations) console.error(violation);
  console.log(`check-migrations: ${checked} migrations, ${violations.length} violations of the expand/contract rule (release ${version})`);
  if (violations.length > 0) process.exitCode = 1;
}

if (import.meta.main) main();
