import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';
import { Conduit, type RegisteredUser, uniqueName } from '../helpers/conduit.ts';

/**
 * Article writers must not queue behind each other on the list counters (migration 0005's
 * counters row, the author's and the tag's counts): each writer takes those row locks only at
 * its commit (migration 0007), so one writer's open transaction never holds up another's
 * article. Before that, the second writer waited for the whole of the first's transaction,
 * which capped article creation near 250 per second under load. The counts stay exact.
 */
const testApp = useTestApp();
const conduit = new Conduit(() => testApp.app);
const SHARED_TAG = 'shared-by-writers';
/** Far longer than an uncontended insert takes, far shorter than the statement timeout. */
const UNBLOCKED_WITHIN_MS = 5000;
let otherWriter: pg.Client;
let author: RegisteredUser;
let authorId: number;

beforeAll(async () => {
  otherWriter = new pg.Client({ connectionString: testApp.storage.databaseUrl });
  await otherWriter.connect();
  author = await conduit.register();
  // The tag exists before the race, as popular tags do.
  await conduit.createArticle(author.token, { tagList: [SHARED_TAG] });
  const { rows } = await otherWriter.query<{ id: number }>('select id from users where username = $1', [author.username]);
  authorId = rows[0]!.id;
});
afterAll(() => otherWriter.end());

/** In the other writer's open transaction: an article by the same author with the same tag. */
async function insertArticleUncommitted(): Promise<void> {
  await otherWriter.query('begin');
  const slug = uniqueName('elsewhere-');
  const { rows } = await otherWriter.query<{ id: number }>(
    `insert into articles (slug, title, description, author_id, created_at, updated_at, body, tag_list)
     values ($1, $1, 'written elsewhere', $2, now(), now(), 'body', $3) returning id`,
    [slug, authorId, JSON.stringify([SHARED_TAG])],
  );
  await otherWriter.query('insert into article_tags (article_id, tag_id) select $1, id from tags where name = $2', [rows[0]!.id, SHARED_TAG]);
}

function withinTime<T>(work: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${what} still waiting after ${UNBLOCKED_WITHIN_MS} ms`)), UNBLOCKED_WITHIN_MS)),
  ]);
}

interface Counts {
  readonly listed: number;
  readonly counted: number;
  readonly byAuthor: number;
  readonly authorCount: number;
  readonly withTag: number;
  readonly tagCount: number;
}

/** Each kept count beside the rows it counts. */
async function counts(): Promise<Counts> {
  const { rows } = await otherWriter.query<Counts>(
    `select (select count(*)::int from articles) as listed,
            (select value from counters where name = 'articles') as counted,
            (select count(*)::int from articles where author_id = $1) as "byAuthor",
            (select articles_count from users where id = $1) as "authorCount",
            (select count(*)::int from article_tags at join tags t on t.id = at.tag_id where t.name = $2) as "withTag",
            (select articles_count from tags where name = $2) as "tagCount"`,
    [authorId, SHARED_TAG],
  );
  return rows[0]!;
}

describe('article writers on PostgreSQL', () => {
  it('creates an article while another writer\'s article by the same author with the same tag is still uncommitted, and both are counted', async () => {
    const before = await counts();
    await insertArticleUncommitted();
    try {
      const created = await withinTime(conduit.createArticle(author.token, { tagList: [SHARED_TAG] }), 'the API\'s article');
      expect(created.tagList).toEqual([SHARED_TAG]);
    } finally {
      await otherWriter.query('commit');
    }

    const after = await counts();
    expect(after).toEqual({ listed: before.listed + 2, counted: before.listed + 2, byAuthor: before.byAuthor + 2, authorCount: before.byAuthor + 2, withTag: before.withTag + 2, tagCount: before.withTag + 2 });
    const list = await conduit.request<{ articlesCount: number }>('GET', `/api/articles?tag=${SHARED_TAG}`);
    expect(list.body.articlesCount).toBe(after.withTag);
  });

  it('counts nothing for a writer that rolls back, and the API\'s article in the meantime once', async () => {
    const before = await counts();
    await insertArticleUncommitted();
    try {
      await withinTime(conduit.createArticle(author.token, { tagList: [SHARED_TAG] }), 'the API\'s article');
    } finally {
      await otherWriter.query('rollback');
    }

    expect(await counts()).toEqual({ listed: before.listed + 1, counted: before.listed + 1, byAuthor: before.byAuthor + 1, authorCount: before.byAuthor + 1, withTag: before.withTag + 1, tagCount: before.withTag + 1 });
  });
});
