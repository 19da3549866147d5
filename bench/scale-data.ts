/**
 * Generates a large data set straight into the database (bulk INSERTs, not the API), next to
 * whatever is there already: the shape the list queries have to survive after a successful year.
 * Deterministic (seeded PRNG). Popularity is Zipf-like: the first tags, the first users as
 * authors, as people to follow and as favoriters, take a large share, as they do in real data.
 */
import { type Kysely, sql } from 'kysely';
import { recountArticleListCounters } from '../src/db/migrations/0005_article_list_counters.ts';
import { randomGenerator } from './seed.ts';

// The generator writes any table, typed or not.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDatabase = Kysely<any>;

export interface ScaleShape {
  /** Articles in the database once generated (existing ones count). */
  readonly articles: number;
  readonly users: number;
  readonly tags: number;
  readonly follows: number;
  readonly favorites: number;
}

/** The proportions: 200,000 articles, 10,000 users, 50 tags, 100,000 follows, 500,000 favorites. */
export function shapeFor(articles: number): ScaleShape {
  return {
    articles,
    users: Math.max(50, Math.round(articles / 20)),
    tags: 50,
    follows: Math.round(articles / 2),
    favorites: Math.round(articles * 2.5),
  };
}

/** What the list scenarios ask for: the heaviest tag, author, favoriter and a follower. */
export interface GeneratedData {
  readonly popularTag: string;
  readonly rareTag: string;
  readonly busiestAuthor: string;
  readonly busiestFavoriter: string;
  readonly counts: Record<string, number>;
}

/** Tag names shared with the API seed (tag00..tag19), so the same URLs work at both sizes. */
export function tagName(rank: number): string {
  return `tag${String(rank).padStart(2, '0')}`;
}

/** Draws ranks 0..n-1 with probability proportional to 1/(rank+1)^exponent. */
function zipf(n: number, exponent: number, random: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 0; rank < n; rank += 1) {
    total += 1 / (rank + 1) ** exponent;
    cumulative[rank] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

const WORDS = 'ledger balance audit quarter forecast invoice payment settlement reconcile treasury compliance report journal account margin revenue'.split(' ');

function text(random: () => number, bytes: number): string {
  const words: string[] = [];
  let length = 0;
  while (length < bytes) {
    const word = WORDS[Math.floor(random() * WORDS.length)]!;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}

/** Rows per INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
function batchSize(columns: number): number {
  return Math.floor(30_000 / columns);
}

async function insertAll(db: AnyDatabase, table: string, rows: Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const size = batchSize(Object.keys(rows[0]!).length);
  for (let start = 0; start < rows.length; start += size) {
    await db.insertInto(table).values(rows.slice(start, start + size)).execute();
  }
}

async function maxId(db: AnyDatabase, table: string): Promise<number> {
  const row = await db.selectFrom(table).select((eb) => eb.fn.max('id').as('max')).executeTakeFirst();
  return Number(row?.max ?? 0);
}

/**
 * Adds users, tags, articles, follows and favorites until the shape is reached. `passwordHash`
 * is stored for every new user, so they can sign in with the bench password.
 */
export async function generateScaleData(db: AnyDatabase, dialect: 'sqlite' | 'postgres', shape: ScaleShape, passwordHash: string): Promise<GeneratedData> {
  const random = randomGenerator(2026);
  const now = Date.now();
  const at = (offset: number) => new Date(now - 86_400_000 + offset).toISOString();

  const write = async (trx: AnyDatabase) => {
    const firstUser = (await maxId(trx, 'users')) + 1;
    const existingUsers = firstUser - 1;
    const newUsers = Array.from({ length: Math.max(0, shape.users - existingUsers) }, (_, index) => {
      const id = firstUser + index;
      return { id, username: `scale_user_${id}`, email: `scale_user_${id}@example.com`, password_hash: passwordHash, bio: null, image: null, created_at: at(0), updated_at: at(0) };
    });
    await insertAll(trx, 'users', newUsers);
    const users = await trx.selectFrom('users').select(['id', 'username']).orderBy('id').execute() as { id: number; username: string }[];

    const tagNames = Array.from({ length: shape.tags }, (_, rank) => tagName(rank));
    await trx.insertInto('tags').values(tagNames.map((name) => ({ name }))).onConflict((conflict) => conflict.column('name').doNothing()).execute();
    const tagIds = new Map((await trx.selectFrom('tags').select(['id', 'name']).execute() as { id: number; name: string }[]).map((tag) => [tag.name, tag.id]));

    const popularUser = zipf(users.length, 1, random);
    const tagRank = zipf(shape.tags, 1, random);
    const bodies = Array.from({ length: 64 }, () => text(random, 1100));
    const firstArticle = (await maxId(trx, 'articles')) + 1;
    const articleCount = Math.max(0, shape.articles - (firstArticle - 1));
    const articles: Record<string, unknown>[] = [];
    const articleTags: Record<string, unknown>[] = [];
    for (let index = 0; index < articleCount; index += 1) {
      const id = firstArticle + index;
      const tags = new Set<string>();
      const wanted = 1 + Math.floor(random() * 3);
      while (tags.size < wanted) tags.add(tagNames[tagRank()]!);
      const sorted = [...tags].sort();
      for (const name of sorted) articleTags.push({ article_id: id, tag_id: tagIds.get(name)! });
      articles.push({
        id,
        slug: `scale-article-${id}`,
        title: `Scale article ${id}`,
        description: text(random, 80),
        body: bodies[index % bodies.length]!,
        author_id: users[popularUser()]!.id,
        created_at: at(index),
        updated_at: at(index),
        tag_list: JSON.stringify(sorted),
      });
    }
    await insertAll(trx, 'articles', articles);
    await insertAll(trx, 'article_tags', articleTags);
    const lastArticle = firstArticle + articleCount - 1;

    const existingFollows = new Set((await trx.selectFrom('follows').select(['follower_id', 'followed_id']).execute() as { follower_id: number; followed_id: number }[])
      .map((row) => row.follower_id * 1e7 + row.followed_id));
    const followKeys = new Set<number>();
    const wantedFollows = Math.max(0, shape.follows - existingFollows.size);
    while (followKeys.size < wantedFollows) {
      const follower = users[Math.floor(random() * users.length)]!.id;
      const followed = users[popularUser()]!.id;
      const key = follower * 1e7 + followed;
      if (follower !== followed && !existingFollows.has(key)) followKeys.add(key);
    }
    await insertAll(trx, 'follows', [...followKeys].map((key) => ({ follower_id: Math.floor(key / 1e7), followed_id: key % 1e7, created_at: at(0) })));

    const existingFavorites = new Set((await trx.selectFrom('favorites').select(['user_id', 'article_id']).execute() as { user_id: number; article_id: number }[])
      .map((row) => row.user_id * 1e7 + row.article_id));
    const favoriteKeys = new Set<number>();
    const wantedFavorites = Math.max(0, shape.favorites - existingFavorites.size);
    while (favoriteKeys.size < wantedFavorites && lastArticle >= 1) {
      const user = users[popularUser()]!.id;
      const article = 1 + Math.floor(random() * lastArticle);
      const key = user * 1e7 + article;
      if (!existingFavorites.has(key)) favoriteKeys.add(key);
    }
    await insertAll(trx, 'favorites', [...favoriteKeys].map((key) => ({ user_id: Math.floor(key / 1e7), article_id: key % 1e7, created_at: at(0) })));
    return users;
  };

  let users: { id: number; username: string }[];
  if (dialect === 'postgres') {
    users = await db.connection().execute(async (connection) => {
      // Bulk load without per-row triggers and foreign-key checks (the rows are consistent by
      // construction), then recompute what the triggers would have kept, in one pass each.
      await sql`set session_replication_role = replica`.execute(connection);
      try {
        return await connection.transaction().execute(async (trx) => {
          const loaded = await write(trx);
          await recountDenormalized(trx);
          for (const table of ['users', 'articles', 'tags']) {
            await sql`select setval(pg_get_serial_sequence(${table}, 'id'), (select max(id) from ${sql.table(table)}))`.execute(trx);
          }
          return loaded;
        });
      } finally {
        await sql`set session_replication_role = origin`.execute(connection);
      }
    });
    await sql`vacuum analyze`.execute(db);
  } else {
    // Triggers run as rows arrive: cheap in-process, and SQLite cannot switch them off.
    users = await db.transaction().execute(write);
    await sql`analyze`.execute(db);
  }

  const counts: Record<string, number> = {};
  for (const table of ['users', 'articles', 'tags', 'article_tags', 'follows', 'favorites']) {
    const row = await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return {
    popularTag: tagName(0),
    rareTag: tagName(shape.tags - 1),
    busiestAuthor: users[0]!.username,
    busiestFavoriter: users[0]!.username,
    counts,
  };
}

/** What the triggers keep (favorites per article, the list counters), recomputed for every row at once. */
async function recountDenormalized(db: AnyDatabase): Promise<void> {
  await sql`update articles set favorites_count = coalesce((select count(*) from favorites f where f.article_id = articles.id), 0)`.execute(db);
  await recountArticleListCounters(db);
}
