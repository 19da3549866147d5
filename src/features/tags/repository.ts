import type { Kysely } from 'kysely';
import { PreparedQuery } from '../../db/prepared.ts';
import type { Database } from '../../db/schema.ts';
import { byCodePoint } from '../../lib/sort.ts';

/** How long another replica's tag changes may take to show here; this replica's show at once. */
export const TAGS_FRESH_MS = 1000;

/**
 * The tag list is the same for every visitor and changes only when articles do, so it is kept
 * for a second: GET /api/tags is the busiest read and this takes it off the database. Writes
 * through this process call forget(), so they show immediately.
 */
export class TagsRepository {
  readonly #db: Kysely<Database>;
  readonly #inUse: PreparedQuery<Record<string, never>, { name: string }>;
  #cached: { tags: readonly string[]; freshUntil: number } | undefined;
  #cachedPopular: { limit: number; tags: readonly string[]; freshUntil: number } | undefined;
  #generation = 0;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.#inUse = new PreparedQuery(db, () =>
      db
        .selectFrom('tags as t')
        .select('t.name')
        // Kept by triggers (migration 0005): fifty rows to read, not every tagged article.
        .where('t.articles_count', '>', 0),
    );
  }

  /** Tags on at least one article, alphabetically (tags left behind by deleted articles are not listed). */
  async inUse(): Promise<readonly string[]> {
    const cached = this.#cached;
    if (cached !== undefined && Date.now() < cached.freshUntil) return cached.tags;
    const generation = this.#generation;
    const rows = await this.#inUse.all({});
    const tags = Object.freeze(rows.map((row) => row.name).sort(byCodePoint));
    // A write that raced with this read may have changed the answer: then do not keep it.
    if (generation === this.#generation) this.#cached = { tags, freshUntil: Date.now() + TAGS_FRESH_MS };
    return tags;
  }

  /**
   * The `limit` tags on the most articles, most used first (ties alphabetically): the home page's
   * "Popular tags". Kept for a second like inUse(), for the same reason.
   */
  async popular(limit: number): Promise<readonly string[]> {
    const cached = this.#cachedPopular;
    if (cached !== undefined && cached.limit === limit && Date.now() < cached.freshUntil) return cached.tags;
    const generation = this.#generation;
    const rows = await this.#db
      .selectFrom('article_tags as at')
      .innerJoin('tags as t', 't.id', 'at.tag_id')
      .select((eb) => ['t.name', eb.fn.countAll().as('uses')])
      .groupBy('t.name')
      .orderBy((eb) => eb.fn.countAll(), 'desc')
      .orderBy('t.name')
      .limit(limit)
      .execute();
    // Sorted again in code: the databases' collations may order equally used names differently.
    const tags = Object.freeze(
      rows
        .map((row) => ({ name: row.name, uses: Number(row.uses) }))
        .sort((a, b) => b.uses - a.uses || byCodePoint(a.name, b.name))
        .map((row) => row.name),
    );
    if (generation === this.#generation) this.#cachedPopular = { limit, tags, freshUntil: Date.now() + TAGS_FRESH_MS };
    return tags;
  }

  /** Articles' tags changed: the next read goes to the database. */
  forget(): void {
    this.#generation += 1;
    this.#cached = undefined;
    this.#cachedPopular = undefined;
  }
}
