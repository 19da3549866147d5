import type { Expression, ExpressionBuilder, Kysely, SqlBool, Transaction } from 'kysely';
import { now, violatedUniqueConstraint } from '../../db/errors.ts';
import type { ArticlesTable, Database } from '../../db/schema.ts';
import { forbidden, notFound } from '../../errors.ts';
import { byCodePoint } from '../../lib/sort.ts';
import type { ProfileView } from '../profiles/repository.ts';
import { slugCandidate } from './slug.ts';

export interface ArticleSummary {
  readonly slug: string;
  readonly title: string;
  readonly description: string;
  readonly tagList: string[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly favorited: boolean;
  readonly favoritesCount: number;
  readonly author: ProfileView;
}

export interface Article extends ArticleSummary {
  readonly body: string;
}

export interface ArticleFilter {
  readonly tag?: string | undefined;
  readonly author?: string | undefined;
  readonly favorited?: string | undefined;
  /** Only articles by authors this user follows (the feed). */
  readonly followedBy?: number | undefined;
}

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

export interface NewArticle {
  readonly title: string;
  readonly description: string;
  readonly body: string;
  readonly tagList?: readonly string[] | undefined;
}

export interface ArticleChanges {
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly body?: string | undefined;
  readonly tagList?: readonly string[] | undefined;
}

type ArticleScope = Database & { a: ArticlesTable };

const SLUG_ATTEMPTS = 5;

/**
 * Articles, their tags and favorites. Writes by a user are checked here, in the data layer:
 * an UPDATE or DELETE only ever matches rows whose author is the acting user.
 */
export class ArticlesRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Newest first, without bodies; `articlesCount` counts every match, not just this page. */
  async list(filter: ArticleFilter, page: Page, viewerId: number | null): Promise<{ articles: ArticleSummary[]; articlesCount: number }> {
    const [rows, count] = await Promise.all([
      this.#selectArticles(viewerId)
        .where((eb) => matching(eb, filter))
        .orderBy('a.id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
      this.#db
        .selectFrom('articles as a')
        .where((eb) => matching(eb, filter))
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirstOrThrow(),
    ]);
    const tags = await this.#tagsOf(rows.map((row) => row.id));
    return {
      articles: rows.map((row) => toSummary(row, tags.get(row.id) ?? [])),
      articlesCount: Number(count.count),
    };
  }

  async get(slug: string, viewerId: number | null): Promise<Article> {
    const row = await this.#selectArticles(viewerId).select('a.body').where('a.slug', '=', slug).executeTakeFirst();
    if (row === undefined) throw notFound('article');
    const tags = await this.#tagsOf([row.id]);
    return { ...toSummary(row, tags.get(row.id) ?? []), body: row.body };
  }

  async create(authorId: number, article: NewArticle): Promise<Article> {
    const tagNames = normalizeTags(article.tagList);
    const slug = await this.#withUniqueSlug(article.title, async (candidate) =>
      this.#db.transaction().execute(async (trx) => {
        const timestamp = now();
        const { id } = await trx
          .insertInto('articles')
          .values({
            slug: candidate,
            title: article.title,
            description: article.description,
            body: article.body,
            author_id: authorId,
            created_at: timestamp,
            updated_at: timestamp,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await attachTags(trx, id, tagNames);
        return candidate;
      }),
    );
    return this.get(slug, authorId);
  }

  async update(slug: string, actorId: number, changes: ArticleChanges): Promise<Article> {
    const existing = await this.#authoredBy(slug, actorId);
    const write = (newSlug: string) =>
      this.#db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('articles')
          .set({
            slug: newSlug,
            ...(changes.title !== undefined && { title: changes.title }),
            ...(changes.description !== undefined && { description: changes.description }),
            ...(changes.body !== undefined && { body: changes.body }),
            updated_at: now(),
          })
          .where('id', '=', existing.id)
          .where('author_id', '=', actorId)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw notFound('article');
        if (changes.tagList !== undefined) {
          await trx.deleteFrom('article_tags').where('article_id', '=', existing.id).execute();
          await attachTags(trx, existing.id, normalizeTags(changes.tagList));
        }
        return newSlug;
      });
    const newTitle = changes.title !== undefined && changes.title !== existing.title ? changes.title : undefined;
    const finalSlug = newTitle === undefined ? await write(slug) : await this.#withUniqueSlug(newTitle, write);
    return this.get(finalSlug, actorId);
  }

  async delete(slug: string, actorId: number): Promise<void> {
    const existing = await this.#authoredBy(slug, actorId);
    await this.#db.deleteFrom('articles').where('id', '=', existing.id).where('author_id', '=', actorId).execute();
  }

  async favorite(slug: string, userId: number): Promise<Article> {
    const articleId = await this.#idOf(slug);
    await this.#db
      .insertInto('favorites')
      .values({ user_id: userId, article_id: articleId, created_at: now() })
      .onConflict((conflict) => conflict.columns(['user_id', 'article_id']).doNothing())
      .execute();
    return this.get(slug, userId);
  }

  async unfavorite(slug: string, userId: number): Promise<Article> {
    const articleId = await this.#idOf(slug);
    await this.#db.deleteFrom('favorites').where('user_id', '=', userId).where('article_id', '=', articleId).execute();
    return this.get(slug, userId);
  }

  async #idOf(slug: string): Promise<number> {
    const row = await this.#db.selectFrom('articles').select('id').where('slug', '=', slug).executeTakeFirst();
    if (row === undefined) throw notFound('article');
    return row.id;
  }

  async #authoredBy(slug: string, actorId: number): Promise<{ id: number; title: string }> {
    const row = await this.#db.selectFrom('articles').select(['id', 'title', 'author_id']).where('slug', '=', slug).executeTakeFirst();
    if (row === undefined) throw notFound('article');
    if (row.author_id !== actorId) throw forbidden('article', 'can only be changed by its author');
    return row;
  }

  /** Runs `write` with slug candidates for `title` until one is not taken. */
  async #withUniqueSlug(title: string, write: (slug: string) => Promise<string>): Promise<string> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await write(slugCandidate(title, attempt));
      } catch (error) {
        const slugTaken = violatedUniqueConstraint(error)?.includes('slug') === true;
        if (!slugTaken || attempt + 1 >= SLUG_ATTEMPTS) throw error;
      }
    }
  }

  #selectArticles(viewerId: number | null) {
    return this.#db
      .selectFrom('articles as a')
      .innerJoin('users as u', 'u.id', 'a.author_id')
      .select([
        'a.id',
        'a.slug',
        'a.title',
        'a.description',
        'a.created_at',
        'a.updated_at',
        'a.author_id',
        'u.username',
        'u.bio',
        'u.image',
      ])
      .select((eb) => [
        eb
          .selectFrom('favorites as f')
          .whereRef('f.article_id', '=', 'a.id')
          .select(eb.fn.countAll<number>().as('n'))
          .as('favorites_count'),
        viewerId === null
          ? eb.lit(false).as('favorited')
          : eb
              .exists(
                eb
                  .selectFrom('favorites as mine')
                  .select('mine.user_id')
                  .whereRef('mine.article_id', '=', 'a.id')
                  .where('mine.user_id', '=', viewerId),
              )
              .as('favorited'),
        viewerId === null
          ? eb.lit(false).as('following')
          : eb
              .exists(
                eb
                  .selectFrom('follows as fw')
                  .select('fw.follower_id')
                  .whereRef('fw.followed_id', '=', 'a.author_id')
                  .where('fw.follower_id', '=', viewerId),
              )
              .as('following'),
      ]);
  }

  async #tagsOf(articleIds: number[]): Promise<Map<number, string[]>> {
    const tags = new Map<number, string[]>();
    if (articleIds.length === 0) return tags;
    const rows = await this.#db
      .selectFrom('article_tags as at')
      .innerJoin('tags as t', 't.id', 'at.tag_id')
      .select(['at.article_id', 't.name'])
      .where('at.article_id', 'in', articleIds)
      .execute();
    for (const row of rows) {
      const list = tags.get(row.article_id);
      if (list === undefined) tags.set(row.article_id, [row.name]);
      else list.push(row.name);
    }
    for (const list of tags.values()) list.sort(byCodePoint);
    return tags;
  }
}

function matching(eb: ExpressionBuilder<ArticleScope, 'a'>, filter: ArticleFilter): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [];
  if (filter.tag !== undefined) {
    conditions.push(
      eb('a.id', 'in', eb.selectFrom('article_tags as at').innerJoin('tags as t', 't.id', 'at.tag_id').select('at.article_id').where('t.name', '=', filter.tag)),
    );
  }
  if (filter.author !== undefined) {
    conditions.push(eb('a.author_id', 'in', eb.selectFrom('users as au').select('au.id').where('au.username', '=', filter.author)));
  }
  if (filter.favorited !== undefined) {
    conditions.push(
      eb('a.id', 'in', eb.selectFrom('favorites as ff').innerJoin('users as fu', 'fu.id', 'ff.user_id').select('ff.article_id').where('fu.username', '=', filter.favorited)),
    );
  }
  if (filter.followedBy !== undefined) {
    conditions.push(eb('a.author_id', 'in', eb.selectFrom('follows as fo').select('fo.followed_id').where('fo.follower_id', '=', filter.followedBy)));
  }
  return eb.and(conditions);
}

async function attachTags(trx: Transaction<Database>, articleId: number, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await trx
    .insertInto('tags')
    .values(names.map((name) => ({ name })))
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
  const tags = await trx.selectFrom('tags').select('id').where('name', 'in', names).execute();
  await trx
    .insertInto('article_tags')
    .values(tags.map((tag) => ({ article_id: articleId, tag_id: tag.id })))
    .execute();
}

function normalizeTags(tagList: readonly string[] | undefined): string[] {
  return [...new Set((tagList ?? []).map((tag) => tag.trim()).filter((tag) => tag !== ''))];
}

interface ArticleRow {
  slug: string;
  title: string;
  description: string;
  created_at: string;
  updated_at: string;
  username: string;
  bio: string | null;
  image: string | null;
  favorites_count: number | null;
  favorited: unknown;
  following: unknown;
}

function toSummary(row: ArticleRow, tagList: string[]): ArticleSummary {
  return {
    slug: row.slug,
    title: row.title,
    description: row.description,
    tagList,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    favorited: Boolean(row.favorited),
    favoritesCount: Number(row.favorites_count ?? 0),
    author: { username: row.username, bio: row.bio, image: row.image, following: Boolean(row.following) },
  };
}
