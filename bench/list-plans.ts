/**
 * The list queries as the articles repository sends them, their plans, and what makes a plan
 * unacceptable at scale: a full scan of a large table where an index range should serve the
 * filter, or a sort of a whole table. Used by the scale test (test/scale/) and by
 * `npm run bench:plans`, which writes the plans for the notes.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { type DialectName, openDatabase } from '../src/db/database.ts';
import type { Database } from '../src/db/schema.ts';
import { type ArticleFilter, ArticlesRepository, type Page } from '../src/features/articles/repository.ts';

export interface ListVariant {
  readonly name: string;
  readonly filter: ArticleFilter;
  readonly page: Page;
  readonly viewerId: number | null;
}

export interface VariantTargets {
  readonly tag: string;
  readonly author: string;
  readonly favoriter: string;
  /** A user id whose feed to read. */
  readonly follower: number;
}

/** Every list the API and the web pages run: the filters one at a time, first and deep pages. */
export function listVariants(targets: VariantTargets): ListVariant[] {
  const first = { limit: 20, offset: 0 };
  const deep = { limit: 20, offset: 10_000 };
  return [
    { name: 'global', filter: {}, page: first, viewerId: null },
    { name: 'global, signed in', filter: {}, page: first, viewerId: targets.follower },
    { name: 'global, offset 10000', filter: {}, page: deep, viewerId: null },
    { name: 'tag', filter: { tag: targets.tag }, page: first, viewerId: null },
    { name: 'tag, offset 10000', filter: { tag: targets.tag }, page: deep, viewerId: null },
    { name: 'author', filter: { author: targets.author }, page: first, viewerId: null },
    { name: 'favorited', filter: { favorited: targets.favoriter }, page: first, viewerId: null },
    { name: 'feed', filter: { followedBy: targets.follower }, page: first, viewerId: targets.follower },
    { name: 'feed, offset 100', filter: { followedBy: targets.follower }, page: { limit: 20, offset: 100 }, viewerId: targets.follower },
  ];
}

/**
 * Two filters at once (the API allows it; no page of the web UI does): counted and paged with
 * IN subqueries, bounded by the smaller set but not by the page. Shown by bench:plans, not gated.
 */
export function combinedVariants(targets: VariantTargets): ListVariant[] {
  return [{ name: 'tag and author (not gated)', filter: { tag: targets.tag, author: targets.author }, page: { limit: 20, offset: 0 }, viewerId: null }];
}

export interface CapturedList {
  readonly variant: ListVariant;
  readonly articlesCount: number;
  readonly queries: CompiledQuery[];
}

/** Runs each variant through the real repository on its own connection, recording the SQL it sends. */
export async function captureListQueries(settings: { databaseUrl: string | undefined; dataDir: string }, variants: readonly ListVariant[]): Promise<CapturedList[]> {
  let recording: CompiledQuery[] = [];
  const handle = openDatabase({ ...settings, databasePoolSize: 2 }, (event) => recording.push(event.query));
  try {
    const repository = new ArticlesRepository(handle.db);
    const captured: CapturedList[] = [];
    for (const variant of variants) {
      recording = [];
      const { articlesCount } = await repository.list(variant.filter, variant.page, variant.viewerId);
      captured.push({ variant, articlesCount, queries: recording });
    }
    return captured;
  } finally {
    await handle.close();
  }
}

export type PlanFormat = 'check' | 'analyze';

/**
 * The plan of one captured query: EXPLAIN QUERY PLAN rows on SQLite; on PostgreSQL the JSON
 * plan (`check`) or the text of EXPLAIN (ANALYZE, BUFFERS) (`analyze`, for people).
 */
export async function explain(db: Kysely<Database>, dialect: DialectName, query: CompiledQuery, format: PlanFormat): Promise<unknown[]> {
  const prefix = dialect === 'sqlite' ? 'explain query plan ' : format === 'check' ? 'explain (format json) ' : 'explain (analyze, buffers) ';
  const { rows } = await db.executeQuery(CompiledQuery.raw(prefix + query.sql, [...query.parameters]));
  return rows;
}

/** Tables that grow with use: reading one of them whole is the cost this check exists to catch. */
const LARGE_TABLES = new Set(['articles', 'article_tags', 'favorites', 'follows', 'users', 'comments']);

/**
 * What is wrong with a plan, empty when nothing: on both databases a large table read whole
 * (allowed only for the unfiltered list, which reads the primary key in order and stops at the
 * page) or sorted whole.
 */
export function planProblems(dialect: DialectName, plan: unknown[], unfiltered: boolean, sql: string): string[] {
  return dialect === 'sqlite'
    ? sqlitePlanProblems(plan as { detail: string }[], unfiltered, aliasesIn(sql))
    : postgresPlanProblems((plan[0] as { 'QUERY PLAN': [{ Plan: PostgresNode }] })['QUERY PLAN'][0].Plan, unfiltered);
}

/** Table behind each alias in `from x as y` / `join x as y`, so SQLite's plan lines can be read. */
function aliasesIn(sql: string): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const match of sql.matchAll(/(?:from|join)\s+"?(\w+)"?(?:\s+as\s+"?(\w+)"?)?/gi)) {
    aliases.set(match[2] ?? match[1]!, match[1]!);
  }
  return aliases;
}

function sqlitePlanProblems(rows: { detail: string }[], unfiltered: boolean, aliases: Map<string, string>): string[] {
  const problems: string[] = [];
  const fullScans = rows
    .map((row) => /^SCAN (\w+)/.exec(row.detail))
    .filter((match): match is RegExpExecArray => match !== null && LARGE_TABLES.has(aliases.get(match[1]!) ?? match[1]!))
    .map((match) => match.input);
  if (fullScans.length > 0 && !unfiltered) problems.push(`full scan of a large table: ${fullScans.join('; ')}`);
  const sorts = rows.filter((row) => row.detail.startsWith('USE TEMP B-TREE FOR ORDER BY'));
  if (sorts.length > 0 && fullScans.length > 0) problems.push(`sort of a whole table: ${[...fullScans, ...sorts.map((row) => row.detail)].join('; ')}`);
  // A sort is fine over slices an index range bounds (the feed: each followed author's newest
  // articles, "id>?"); over everything an equality matches (a whole tag), it is the whole set.
  const bounded = rows.some((row) => /^SEARCH \w+ .*\((?:.*[<>]\?)\)/.exec(row.detail) !== null);
  if (sorts.length > 0 && fullScans.length === 0 && !bounded) problems.push(`sort of every match: ${rows.map((row) => row.detail).join('; ')}`);
  return problems;
}

interface PostgresNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  'Sort Key'?: string[];
  'Plan Rows'?: number;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PostgresNode[];
}

const INDEX_SCANS = new Set(['Index Scan', 'Index Only Scan']);

/** A scan that reads a large table (or one of its indexes) whole. */
function wholeTableScans(node: PostgresNode): string[] {
  const here: string[] = [];
  const relation = node['Relation Name'];
  if (relation !== undefined && LARGE_TABLES.has(relation)) {
    if (node['Node Type'] === 'Seq Scan') here.push(`Seq Scan on ${relation}`);
    if (INDEX_SCANS.has(node['Node Type']) && node['Index Cond'] === undefined) here.push(`${node['Node Type']} on ${relation} using ${node['Index Name']} without a condition`);
  }
  return [...here, ...(node.Plans ?? []).flatMap(wholeTableScans)];
}

/** Scans feeding this node, up to a Limit: rows under a Limit are a page, not a table. */
function unboundedScans(node: PostgresNode): string[] {
  if (node['Node Type'] === 'Limit') return [];
  return [...wholeTableScans({ ...node, Plans: [] }), ...(node.Plans ?? []).flatMap(unboundedScans)];
}

/** More rows than any one user's follows: a bitmap scan this large under a sort reads a whole set. */
const MANY_ROWS = 1_000;

/**
 * Bitmap scans, up to a Limit, of a large table that feed a sort with every match of a filter,
 * unordered: of the relation the sort orders, or expected to return many rows.
 */
function unorderedMatches(node: PostgresNode, sortedAliases: Set<string>): string[] {
  if (node['Node Type'] === 'Limit') return [];
  const wholeSet = sortedAliases.has(node.Alias ?? '') || (node['Plan Rows'] ?? 0) > MANY_ROWS;
  const here = node['Node Type'] === 'Bitmap Heap Scan' && LARGE_TABLES.has(node['Relation Name'] ?? '') && wholeSet
    ? [`Bitmap Heap Scan on ${node['Relation Name']} ${node.Alias} (${node['Plan Rows']} rows expected)`]
    : [];
  return [...here, ...(node.Plans ?? []).flatMap((child) => unorderedMatches(child, sortedAliases))];
}

function sortsOfWholeTables(node: PostgresNode): string[] {
  if (node['Node Type'] === 'Sort' || node['Node Type'] === 'Incremental Sort') {
    const underneath = (node.Plans ?? []).flatMap(unboundedScans);
    if (underneath.length > 0) return [`Sort over ${underneath.join('; ')}`];
    const sortedAliases = new Set((node['Sort Key'] ?? []).map((key) => key.split('.')[0]!));
    const matches = (node.Plans ?? []).flatMap((child) => unorderedMatches(child, sortedAliases));
    if (matches.length > 0) return [`Sort of every match: ${matches.join('; ')}`];
  }
  return (node.Plans ?? []).flatMap(sortsOfWholeTables);
}

function postgresPlanProblems(root: PostgresNode, unfiltered: boolean): string[] {
  const problems: string[] = [];
  const scans = wholeTableScans(root);
  const seqScans = scans.filter((scan) => scan.startsWith('Seq Scan'));
  if (seqScans.length > 0) problems.push(`full scan of a large table: ${seqScans.join('; ')}`);
  else if (scans.length > 0 && !unfiltered) problems.push(`full scan of a large table: ${scans.join('; ')}`);
  const sorts = sortsOfWholeTables(root);
  if (sorts.length > 0) problems.push(`sort of a whole table: ${sorts.join('; ')}`);
  return problems;
}

/** The count each filter should have, by counting the rows themselves: what the counters must equal. */
export async function countedDirectly(db: Kysely<Database>, filter: ArticleFilter): Promise<number> {
  let query = db.selectFrom('articles as a').select((eb) => eb.fn.countAll<number>().as('n'));
  if (filter.tag !== undefined) query = query.where('a.id', 'in', db.selectFrom('article_tags as at').innerJoin('tags as t', 't.id', 'at.tag_id').select('at.article_id').where('t.name', '=', filter.tag));
  if (filter.author !== undefined) query = query.where('a.author_id', 'in', db.selectFrom('users as u').select('u.id').where('u.username', '=', filter.author));
  if (filter.favorited !== undefined) query = query.where('a.id', 'in', db.selectFrom('favorites as f').innerJoin('users as u', 'u.id', 'f.user_id').select('f.article_id').where('u.username', '=', filter.favorited));
  if (filter.followedBy !== undefined) query = query.where('a.author_id', 'in', db.selectFrom('follows as fo').select('fo.followed_id').where('fo.follower_id', '=', filter.followedBy));
  return Number((await query.executeTakeFirstOrThrow()).n);
}
