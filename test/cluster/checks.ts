import pg from 'pg';
import type { LoadReport } from './load.ts';

/** Runs one query on the cluster's database, with a connection of its own. */
export async function query<Row extends pg.QueryResultRow>(databaseUrl: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** The acknowledged writes of a load that the database does not hold: both lists empty when none was lost. */
export async function acknowledgedWritesMissing(databaseUrl: string, report: LoadReport): Promise<{ articles: string[]; comments: number[] }> {
  const articles = await query<{ slug: string }>(databaseUrl, 'select slug from articles where slug = any($1)', [report.acknowledgedArticles]);
  const comments = await query<{ id: number }>(databaseUrl, 'select id from comments where id = any($1)', [report.acknowledgedComments]);
  const storedSlugs = new Set(articles.map((row) => row.slug));
  const storedComments = new Set(comments.map((row) => Number(row.id)));
  return {
    articles: report.acknowledgedArticles.filter((slug) => !storedSlugs.has(slug)),
    comments: report.acknowledgedComments.filter((id) => !storedComments.has(id)),
  };
}

/** The versions `/version` reports over `requests` requests through the balancer (round robin: every replica answers). */
export async function versionsBehind(url: string, requests: number): Promise<Set<string>> {
  const versions = new Set<string>();
  for (let request = 0; request < requests; request += 1) {
    const response = await fetch(new URL('/version', url));
    versions.add(((await response.json()) as { version: string }).version);
  }
  return versions;
}
