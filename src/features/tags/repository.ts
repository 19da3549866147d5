import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.ts';
import { byCodePoint } from '../../lib/sort.ts';

export class TagsRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Tags on at least one article, alphabetically (tags left behind by deleted articles are not listed). */
  async inUse(): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('tags as t')
      .select('t.name')
      .where((eb) => eb.exists(eb.selectFrom('article_tags as at').select('at.article_id').whereRef('at.tag_id', '=', 't.id')))
      .execute();
    return rows.map((row) => row.name).sort(byCodePoint);
  }
}
