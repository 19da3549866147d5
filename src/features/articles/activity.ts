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
    const [favorites, comments] = await Promise.all([this.#times('favorites', authorId, since), this.#times('comments', authorId, since)]);
    return { favorites, comments };
  }

  /** When rows of `table` about the author's articles were written, since `since`. */
  async #times(table: 'favorites' | 'comments', authorId: number, since: Date): Promise<Date[]> {
    // Both tables have the two columns read here; Kysely's types cannot follow a union of tables.
    const rows = await this.#db
      .selectFrom(`${table as 'favorites'} as r`)
      .innerJoin('articles as a', 'a.id', 'r.article_id')
      .select('r.created_at')
      .where('a.author_id', '=', authorId)
      .where('r.created_at', '>=', since.toISOString())
      .execute();
    return rows.map((row) => new Date(row.created_at));
  }
}
