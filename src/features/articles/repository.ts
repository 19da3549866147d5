import { type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, sql } from 'kysely';
import { now, violatedUniqueConstraint } from '../../db/errors.ts';
import type { ReadOffMainThread } from '../../db/database.ts';
import { type Param, PreparedQuery, PreparedVariants } from '../../db/prepared.ts';
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

export interface AuthorStats {
  readonly articles: number;
  readonly favoritesReceived: number;
  readonly commentsReceived: number;
}

export interface DashboardArticle {
  readonly slug: string;
  readonly title: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly favoritesCount: number;
  readonly commentsCount: number;
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

interface ListParams {
  tag: string | undefined;
  author: string | undefined;
  favorited: string | undefined;
  followedBy: number | undefined;
  viewerId: number;
  limit: number;
  offset: number;
  /** limit + offset - 1: how far down each followed author's articles the feed's page can reach. */
  depth: number;
  /** The id of the one tag, author or favoriter filtered on, looked up first. */
  scopeId: number;
}

/** A list filtered on one named thing: which, and how many articles it has (kept by triggers). */
type ScopeKind = 'tag' | 'author' | 'favorited';
const SCOPE_KINDS = new Set<string>(['tag', 'author', 'favorited'] satisfies ScopeKind[]);

/** Which optional parts a list query has; each combination is compiled once. */
interface ListShape {
  readonly filters: readonly (keyof ArticleFilter)[];
  readonly withViewer: boolean;
}

const SLUG_ATTEMPTS = 5;
const NO_VIEWER = 0;

/**
 * Articles, their tags and favorites. Writes by a user are checked here, in the data layer:
 * an UPDATE or DELETE only ever matches rows whose author is the acting user.
 */
export class ArticlesRepository {
  readonly #db: Kysely<Database>;
  readonly #tagsChanged: () => void;
  readonly #readOffMainThread: ReadOffMainThread;
  readonly #listShapes = new Map<string, ListShape>();
  readonly #page: PreparedVariants<ListShape, ListParams, ArticleRow & { id: number }>;
  readonly #count: PreparedVariants<ListShape, ListParams, { count: number }>;
  readonly #scope: PreparedVariants<ScopeKind, { name: string }, { id: number; count: number }>;
  readonly #bySlug: PreparedVariants<boolean, { slug: string; viewerId: number }, ArticleRow & { id: number; body: string }>;
  readonly #idOf: PreparedQuery<{ slug: string }, { id: number }>;
  readonly #authorOf: PreparedQuery<{ slug: string }, { id: number; title: string; author_id: number }>;
  readonly #addFavorite: PreparedQuery<{ userId: number; articleId: number; at: string }, unknown>;
  readonly #removeFavorite: PreparedQuery<{ userId: number; articleId: number }, unknown>;
  readonly #insertArticle: PreparedQuery<NewArticleRow, { id: number }>;
  /** Keyed by the number of tags. */
  readonly #insertTags: PreparedVariants<number, Record<string, string>, unknown>;
  readonly #tagArticle: PreparedVariants<number, Record<string, string | number>, unknown>;

  /**
   * `tagsChanged` hears of every write that may change the set of tags in use;
   * `readOffMainThread` runs the list queries whose cost a page does not bound.
   */
  constructor(db: Kysely<Database>, tagsChanged: () => void = () => undefined, readOffMainThread?: ReadOffMainThread) {
    this.#db = db;
    this.#tagsChanged = tagsChanged;
    this.#readOffMainThread = readOffMainThread ?? (async (query) => (await db.executeQuery(query)).rows);
    // Pick the page's ids first, then compute counts, tags and flags for those rows only:
    // otherwise SQLite computes them for every match before sorting (measured 2x on the feed).
    this.#page = new PreparedVariants(db, (shape, param: Param<ListParams>) =>
      selectArticles(db, shape.withViewer ? param('viewerId') : null)
        .innerJoin('users as u', 'u.id', 'a.author_id')
        .select(['u.username', 'u.bio', 'u.image'])
        .where('a.id', 'in', pageIds(db, shape.filters, param))
        .orderBy('a.id', 'desc'),
    );
    this.#count = new PreparedVariants(db, (shape, param: Param<ListParams>) => countOf(db, shape.filters, param));
    this.#scope = new PreparedVariants(db, (kind, param: Param<{ name: string }>) =>
      kind === 'tag'
        ? db.selectFrom('tags').select(['id', 'articles_count as count']).where('name', '=', param('name'))
        : db.selectFrom('users').select(['id', kind === 'author' ? 'articles_count as count' : 'favorites_given_count as count']).where('username', '=', param('name')),
    );
    // Author fields by primary-key subqueries, not a join: for a single row SQLite spends more
    // setting up the join than running the whole query without it (measured ~60 µs vs ~10 µs).
    this.#bySlug = new PreparedVariants(db, (withViewer, param: Param<{ slug: string; viewerId: number }>) =>
      selectArticles(db, withViewer ? param('viewerId') : null)
        .select((eb) => [
          eb.selectFrom('users as au').select('au.username').whereRef('au.id', '=', 'a.author_id').as('username'),
          eb.selectFrom('users as au').select('au.bio').whereRef('au.id', '=', 'a.author_id').as('bio'),
          eb.selectFrom('users as au').select('au.image').whereRef('au.id', '=', 'a.author_id').as('image'),
          'a.body',
        ])
        // The foreign key guarantees an author, so the username subquery always finds one.
        .$narrowType<{ username: string }>()
        .where('a.slug', '=', param('slug')),
    );
    this.#idOf = new PreparedQuery(db, (param: Param<{ slug: string }>) =>
      db.selectFrom('articles').select('id').where('slug', '=', param('slug')),
    );
    this.#authorOf = new PreparedQuery(db, (param: Param<{ slug: string }>) =>
      db.selectFrom('articles').select(['id', 'title', 'author_id']).where('slug', '=', param('slug')),
    );
    this.#addFavorite = new PreparedQuery(db, (param: Param<{ userId: number; articleId: number; at: string }>) =>
      db
        .insertInto('favorites')
        .values({ user_id: param('userId'), article_id: param('articleId'), created_at: param('at') })
        .onConflict((conflict) => conflict.columns(['user_id', 'article_id']).doNothing()),
    );
    this.#removeFavorite = new PreparedQuery(db, (param: Param<{ userId: number; articleId: number }>) =>
      db.deleteFrom('favorites').where('user_id', '=', param('userId')).where('article_id', '=', param('articleId')),
    );
    this.#insertArticle = new PreparedQuery(db, (param: Param<NewArticleRow>) =>
      db
        .insertInto('articles')
        .values({
          slug: param('slug'),
          title: param('title'),
          description: param('description'),
          body: param('body'),
          author_id: param('author_id'),
          created_at: param('created_at'),
          updated_at: param('updated_at'),
          tag_list: param('tag_list'),
        })
        .returning('id'),
    );
    this.#insertTags = new PreparedVariants(db, (count, param: Param<Record<string, string>>) =>
      db
        .insertInto('tags')
        .values(Array.from({ length: count }, (_, index) => ({ name: param(`tag${index}`) })))
        .onConflict((conflict) => conflict.column('name').doNothing()),
    );
    this.#tagArticle = new PreparedVariants(db, (count, param: Param<Record<string, string | number>>) =>
      db
        .insertInto('article_tags')
        .columns(['article_id', 'tag_id'])
        .expression((eb) =>
          eb
            .selectFrom('tags')
            // PostgreSQL cannot infer a bare parameter's type in a select list: say it.
            .select([sql<number>`cast(${param('articleId')} as integer)`.as('article_id'), 'id as tag_id'])
            .where('name', 'in', Array.from({ length: count }, (_, index) => param(`tag${index}`) as string)),
        ),
    );
  }

  /** Newest first, without bodies; `articlesCount` counts every match, not just this page. */
  async list(filter: ArticleFilter, page: Page, viewerId: number | null): Promise<{ articles: ArticleSummary[]; articlesCount: number }> {
    const shape = this.#shapeOf(filter, viewerId !== null);
    const params: ListParams = {
      tag: filter.tag,
      author: filter.author,
      favorited: filter.favorited,
      followedBy: filter.followedBy,
      viewerId: viewerId ?? NO_VIEWER,
      limit: page.limit,
      offset: page.offset,
      depth: Math.max(0, page.limit + page.offset - 1),
      scopeId: 0,
    };
    const [only, ...others] = shape.filters;
    if (only !== undefined && others.length === 0 && SCOPE_KINDS.has(only)) {
      // The id first, so the page query carries a value the planner has statistics for: with
      // a subquery instead, PostgreSQL guesses an average tag and sorts a popular one whole.
      const scope = await this.#scope.for(only as ScopeKind).first({ name: filter[only as ScopeKind]! });
      const count = Number(scope?.count ?? 0);
      if (scope === undefined || page.offset >= count) return { articles: [], articlesCount: count };
      const rows = await this.#page.for(shape).all({ ...params, scopeId: scope.id });
      return { articles: rows.map(toSummary), articlesCount: count };
    }
    if (others.length > 0) {
      // Several filters at once read and count every match of the smaller set, not one page:
      // tens of milliseconds at 200,000 articles, so never on the event loop.
      const [rows, counted] = await Promise.all([
        this.#readOffMainThread(this.#page.for(shape).bound(params)),
        this.#readOffMainThread(this.#count.for(shape).bound(params)),
      ]);
      return { articles: rows.map(toSummary), articlesCount: Number(counted[0]?.count ?? 0) };
    }
    const [rows, count] = await Promise.all([this.#page.for(shape).all(params), this.#count.for(shape).first(params)]);
    return {
      articles: rows.map(toSummary),
      articlesCount: Number(count?.count ?? 0),
    };
  }

  async get(slug: string, viewerId: number | null): Promise<Article> {
    const row = await this.#bySlug.for(viewerId !== null).first({ slug, viewerId: viewerId ?? NO_VIEWER });
    if (row === undefined) throw notFound('article');
    return { ...toSummary(row), body: row.body };
  }

  async create(authorId: number, article: NewArticle): Promise<Article> {
    const tagNames = normalizeTags(article.tagList);
    const slug = await this.#withUniqueSlug(article.title, async (candidate) =>
      this.#db.transaction().execute(async (trx) => {
        const timestamp = now();
        const inserted = await this.#insertArticle.first(
          { ...article, slug: candidate, author_id: authorId, created_at: timestamp, updated_at: timestamp, tag_list: JSON.stringify(tagNames) },
          trx,
        );
        await this.#attachTags(trx, inserted!.id, tagNames);
        return candidate;
      }),
    );
    if (tagNames.length > 0) this.#tagsChanged();
    return this.get(slug, authorId);
  }

  async update(slug: string, actorId: number, changes: ArticleChanges): Promise<Article> {
    const existing = await this.#authoredBy(slug, actorId);
    const tagNames = changes.tagList === undefined ? undefined : normalizeTags(changes.tagList);
    const write = (newSlug: string) =>
      this.#db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('articles')
          .set({
            slug: newSlug,
            ...(changes.title !== undefined && { title: changes.title }),
            ...(changes.description !== undefined && { description: changes.description }),
            ...(changes.body !== undefined && { body: changes.body }),
            ...(tagNames !== undefined && { tag_list: JSON.stringify(tagNames) }),
            updated_at: now(),
          })
          .where('id', '=', existing.id)
          .where('author_id', '=', actorId)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw notFound('article');
        if (tagNames !== undefined) {
          await trx.deleteFrom('article_tags').where('article_id', '=', existing.id).execute();
          await this.#attachTags(trx, existing.id, tagNames);
        }
        return newSlug;
      });
    const newTitle = changes.title !== undefined && changes.title !== existing.title ? changes.title : undefined;
    const finalSlug = newTitle === undefined ? await write(slug) : await this.#withUniqueSlug(newTitle, write);
    if (tagNames !== undefined) this.#tagsChanged();
    return this.get(finalSlug, actorId);
  }

  /** The article as its author sees it, to edit: 403 for anyone else (the one authorship rule, #authoredBy). */
  async getToEdit(slug: string, actorId: number): Promise<Article> {
    await this.#authoredBy(slug, actorId);
    return this.get(slug, actorId);
  }

  async delete(slug: string, actorId: number): Promise<void> {
    const existing = await this.#authoredBy(slug, actorId);
    await this.#db.deleteFrom('articles').where('id', '=', existing.id).where('author_id', '=', actorId).execute();
    this.#tagsChanged();
  }

  /**
   * Deletes any article, whoever wrote it: for moderators. The caller checks the role and
   * records who did it; returns what was deleted.
   */
  async deleteAsModerator(slug: string): Promise<{ title: string; author: string }> {
    const article = await this.get(slug, null);
    await this.#db.deleteFrom('articles').where('slug', '=', slug).execute();
    this.#tagsChanged();
    return { title: article.title, author: article.author.username };
  }

  /** What a user's own dashboard counts: their articles and what those received. */
  async authorStats(authorId: number): Promise<AuthorStats> {
    const row = await this.#db
      .selectFrom('articles as a')
      .where('a.author_id', '=', authorId)
      .select((eb) => [
        eb.fn.countAll<number>().as('articles'),
        eb.fn.coalesce(eb.fn.sum<number>('a.favorites_count'), eb.lit(0)).as('favorites'),
        eb
          .selectFrom('comments as c')
          .innerJoin('articles as mine', 'mine.id', 'c.article_id')
          .where('mine.author_id', '=', authorId)
          .select((inner) => inner.fn.countAll<number>().as('n'))
          .as('comments'),
      ])
      .executeTakeFirstOrThrow();
    return { articles: Number(row.articles), favoritesReceived: Number(row.favorites), commentsReceived: Number(row.comments ?? 0) };
  }

  /** A page of the author's own articles with their favorite and comment counts, newest first. */
  async authorDashboard(authorId: number, page: Page): Promise<DashboardArticle[]> {
    const rows = await this.#db
      .selectFrom('articles as a')
      .where('a.author_id', '=', authorId)
      .select(['a.slug', 'a.title', 'a.created_at', 'a.updated_at', 'a.favorites_count'])
      .select((eb) => eb.selectFrom('comments as c').whereRef('c.article_id', '=', 'a.id').select((inner) => inner.fn.countAll<number>().as('n')).as('comments'))
      .orderBy('a.id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute();
    return rows.map((row) => ({
      slug: row.slug,
      title: row.title,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      favoritesCount: Number(row.favorites_count),
      commentsCount: Number(row.comments ?? 0),
    }));
  }

  async favorite(slug: string, userId: number): Promise<Article> {
    const articleId = await this.#articleIdOf(slug);
    await this.#addFavorite.run({ userId, articleId, at: now() });
    return this.get(slug, userId);
  }

  async unfavorite(slug: string, userId: number): Promise<Article> {
    const articleId = await this.#articleIdOf(slug);
    await this.#removeFavorite.run({ userId, articleId });
    return this.get(slug, userId);
  }

  /** Creates missing tags, then links them all to the article: two statements for any number. */
  async #attachTags(trx: Kysely<Database>, articleId: number, names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const tagParams = Object.fromEntries(names.map((name, index) => [`tag${index}`, name]));
    await this.#insertTags.for(names.length).run(tagParams, trx);
    await this.#tagArticle.for(names.length).run({ ...tagParams, articleId }, trx);
  }

  #shapeOf(filter: ArticleFilter, withViewer: boolean): ListShape {
    const filters = (['tag', 'author', 'favorited', 'followedBy'] as const).filter((name) => filter[name] !== undefined);
    const key = `${filters.join(',')}|${String(withViewer)}`;
    let shape = this.#listShapes.get(key);
    if (shape === undefined) {
      shape = { filters, withViewer };
      this.#listShapes.set(key, shape);
    }
    return shape;
  }

  async #articleIdOf(slug: string): Promise<number> {
    const row = await this.#idOf.first({ slug });
    if (row === undefined) throw notFound('article');
    return row.id;
  }

  async #authoredBy(slug: string, actorId: number): Promise<{ id: number; title: string }> {
    const row = await this.#authorOf.first({ slug });
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
}

function selectArticles(db: Kysely<Database>, viewerId: number | null) {
  return db
    .selectFrom('articles as a')
    .select(['a.id', 'a.slug', 'a.title', 'a.description', 'a.created_at', 'a.updated_at', 'a.tag_list', 'a.favorites_count'])
    .select((eb) => [
      viewerId === null
        ? eb.lit(false).as('favorited')
        : eb
            .exists(eb.selectFrom('favorites as mine').select('mine.user_id').whereRef('mine.article_id', '=', 'a.id').where('mine.user_id', '=', viewerId))
            .as('favorited'),
      viewerId === null
        ? eb.lit(false).as('following')
        : eb
            .exists(eb.selectFrom('follows as fw').select('fw.follower_id').whereRef('fw.followed_id', '=', 'a.author_id').where('fw.follower_id', '=', viewerId))
            .as('following'),
    ]);
}

/**
 * The ids of one page, newest first, each single filter read from the one index that holds its
 * matches in id order, so a page costs the same at 500 and 500,000 articles and a deep offset
 * skips index entries only: the primary key (all), article_tags (tag_id, article_id), articles
 * (author_id, id), favorites (user_id, article_id). The feed merges the newest `depth` + 1
 * articles of each followed author: followed authors times the page depth, whatever they wrote.
 */
function pageIds(db: Kysely<Database>, filters: ListShape['filters'], param: Param<ListParams>) {
  const [only, ...others] = filters;
  const page = <Q extends { limit(limit: number): Q; offset(offset: number): Q }>(query: Q) => query.limit(param('limit')).offset(param('offset'));
  if (others.length > 0) {
    // Several filters at once: rare, and bounded by the smallest of the sets they index.
    return page(db.selectFrom('articles as a').select('a.id').where((eb) => matching(eb, filters, param)).orderBy('a.id', 'desc'));
  }
  switch (only) {
    case 'tag':
      return page(db.selectFrom('article_tags as at').select('at.article_id as id').where('at.tag_id', '=', param('scopeId')).orderBy('at.article_id', 'desc'));
    case 'author':
      return page(db.selectFrom('articles as a').select('a.id').where('a.author_id', '=', param('scopeId')).orderBy('a.id', 'desc'));
    case 'favorited':
      return page(db.selectFrom('favorites as ff').select('ff.article_id as id').where('ff.user_id', '=', param('scopeId')).orderBy('ff.article_id', 'desc'));
    case 'followedBy':
      return page(db.selectFrom('follows as fo')
        .innerJoin('articles as a', 'a.author_id', 'fo.followed_id')
        .select('a.id')
        .where('fo.follower_id', '=', param('followedBy')!)
        .where('a.id', '>=', (eb) => eb.fn.coalesce(
          eb.selectFrom('articles as oldest').select('oldest.id').whereRef('oldest.author_id', '=', 'fo.followed_id').orderBy('oldest.id', 'desc').limit(1).offset(param('depth')),
          eb.lit(0),
        ))
        .orderBy('a.id', 'desc'));
    case undefined: // no filter: the primary key, backwards
    default:
      return page(db.selectFrom('articles as a').select('a.id').orderBy('a.id', 'desc'));
  }
}

/**
 * `articlesCount` for the lists that are not scoped to one tag, author or favoriter (those read
 * theirs with the scope's id): from the counters the triggers keep (migration 0005).
 */
function countOf(db: Kysely<Database>, filters: ListShape['filters'], param: Param<ListParams>) {
  if (filters.length === 0) return db.selectFrom('counters').select('value as count').where('name', '=', 'articles');
  if (filters.length === 1 && filters[0] === 'followedBy') {
    // One primary-key lookup per followed author (a join may read users whole instead).
    return db.selectFrom('follows as fo')
      .where('fo.follower_id', '=', param('followedBy')!)
      .select((eb) => eb.fn.coalesce(
        eb.fn.sum<number>(eb.selectFrom('users as followed').select('followed.articles_count').whereRef('followed.id', '=', 'fo.followed_id')),
        eb.lit(0),
      ).as('count'));
  }
  // Several filters at once: counted, bounded by the smallest of the sets they index.
  return db.selectFrom('articles as a').where((eb) => matching(eb, filters, param)).select((eb) => eb.fn.countAll<number>().as('count'));
}

function matching(eb: ExpressionBuilder<ArticleScope, 'a'>, filters: ListShape['filters'], param: Param<ListParams>): Expression<SqlBool> {
  const conditions = filters.map((filter): Expression<SqlBool> => {
    switch (filter) {
      case 'tag':
        return eb('a.id', 'in', eb.selectFrom('article_tags as at').innerJoin('tags as t', 't.id', 'at.tag_id').select('at.article_id').where('t.name', '=', param('tag')!));
      case 'author':
        return eb('a.author_id', 'in', eb.selectFrom('users as au').select('au.id').where('au.username', '=', param('author')!));
      case 'favorited':
        return eb('a.id', 'in', eb.selectFrom('favorites as ff').innerJoin('users as fu', 'fu.id', 'ff.user_id').select('ff.article_id').where('fu.username', '=', param('favorited')!));
      case 'followedBy':
        return eb('a.author_id', 'in', eb.selectFrom('follows as fo').select('fo.followed_id').where('fo.follower_id', '=', param('followedBy')!));
    }
  });
  return eb.and(conditions);
}

/** Trimmed, without duplicates, sorted by code point: the order every response shows. */
function normalizeTags(tagList: readonly string[] | undefined): string[] {
  return [...new Set((tagList ?? []).map((tag) => tag.trim()).filter((tag) => tag !== ''))].sort(byCodePoint);
}

/** An articles row as inserted: every column but the generated ones, with its tag list. */
type NewArticleRow = Omit<Selectable<ArticlesTable>, 'id' | 'favorites_count'>;

interface ArticleRow {
  slug: string;
  title: string;
  description: string;
  created_at: string;
  updated_at: string;
  username: string;
  bio: string | null;
  image: string | null;
  favorites_count: number;
  /** Sorted tag names as JSON text. */
  tag_list: string;
  favorited: unknown;
  following: unknown;
}

function toSummary(row: ArticleRow): ArticleSummary {
  return {
    slug: row.slug,
    title: row.title,
    description: row.description,
    tagList: JSON.parse(row.tag_list) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    favorited: Boolean(row.favorited),
    favoritesCount: Number(row.favorites_count),
    author: { username: row.username, bio: row.bio, image: row.image, following: Boolean(row.following) },
  };
}

