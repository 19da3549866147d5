import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';

/** When an author's articles were favorited and commented on (for the dashboard's charts). */
export interface ReceivedActivity {
  readonly favorites: readonly Date[];
  readonly comments: readonly Date[];
}

/**
 * The dashboard's activity reads, apart from ArticlesRepository: they only read, and only the
 * timestamps since a date, which the charts bucket into weeks.
 */
export class AuthorActivityRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Favorites of and comments on the author's articles since `since` (others' and their own). */
  async receivedSince(authorId: number, since: Date): Promise<ReceivedActivity> {
    const from = since.toISOString();
    const [favorites, comments] = await Promise.all([
      this.#db
        .selectFrom('favorites as f')
        .innerJoin('articles as a', 'a.id', 'f.article_id')
        .select('f.created_at')
        .where('a.author_id', '=', authorId)
        .where('f.created_at', '>=', from)
        .execute(),
      this.#db
        .selectFrom('comments as c')
        .innerJoin('articles as a', 'a.id', 'c.article_id')
        .select('c.created_at')
        .where('a.author_id', '=', authorId)
        .where('c.created_at', '>=', from)
        .execute(),
    ]);
    return {
      favorites: favorites.map((row) => new Date(row.created_at)),
      comments: comments.map((row) => new Date(row.created_at)),
    };
  }
}
