import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import type { Page } from './model.ts';

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

/** The statistics of an author's own dashboard: counted per request, for one author only. */
export class DashboardRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
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
}
