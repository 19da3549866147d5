import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import type { Param } from '../../db/prepared.ts';
import type { ArticlesTable, Database } from '../../db/schema.ts';
import type { ArticleFilter, ArticleSummary } from './model.ts';

/**
 * How the article lists are read: the query shapes (one index range per filter, the page's ids
 * first, then what those rows need) and the mapping of their rows. ArticlesRepository compiles
 * each shape once.
 */
export type ArticleScope = Database & { a: ArticlesTable };

export interface ListParams {
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
export type ScopeKind = 'tag' | 'author' | 'favorited';
export const SCOPE_KINDS = new Set<string>(['tag', 'author', 'favorited'] satisfies ScopeKind[]);

/** Which optional parts a list query has; each combination is compiled once. */
export interface ListShape {
  readonly filters: readonly (keyof ArticleFilter)[];
  readonly withViewer: boolean;
}

export function selectArticles(db: Kysely<Database>, viewerId: number | null) {
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
export function pageIds(db: Kysely<Database>, filters: ListShape['filters'], param: Param<ListParams>) {
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
export function countOf(db: Kysely<Database>, filters: ListShape['filters'], param: Param<ListParams>) {
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

export function matching(eb: ExpressionBuilder<ArticleScope, 'a'>, filters: ListShape['filters'], param: Param<ListParams>): Expression<SqlBool> {
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

export interface ArticleRow {
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

export function toSummary(row: ArticleRow): ArticleSummary {
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
