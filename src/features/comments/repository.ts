import type { Kysely } from 'kysely';
import { now } from '../../db/errors.ts';
import type { Database } from '../../db/schema.ts';
import { forbidden, notFound } from '../../errors.ts';
import type { ProfileView } from '../profiles/repository.ts';

export interface CommentView {
  readonly id: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly body: string;
  readonly author: ProfileView;
}

/** Comments on articles. Deleting checks, in the DELETE itself, that the actor wrote the comment. */
export class CommentsRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Oldest first, as a conversation reads. */
  async list(slug: string, viewerId: number | null): Promise<CommentView[]> {
    const articleId = await this.#articleIdOf(slug);
    return this.#select(viewerId).where('c.article_id', '=', articleId).orderBy('c.id', 'asc').execute().then((rows) => rows.map(toView));
  }

  async add(slug: string, authorId: number, body: string): Promise<CommentView> {
    const articleId = await this.#articleIdOf(slug);
    const timestamp = now();
    const { id } = await this.#db
      .insertInto('comments')
      .values({ article_id: articleId, author_id: authorId, body, created_at: timestamp, updated_at: timestamp })
      .returning('id')
      .executeTakeFirstOrThrow();
    return toView(await this.#select(authorId).where('c.id', '=', id).executeTakeFirstOrThrow());
  }

  async delete(slug: string, commentId: number, actorId: number): Promise<void> {
    const articleId = await this.#articleIdOf(slug);
    const comment = await this.#db
      .selectFrom('comments')
      .select('author_id')
      .where('id', '=', commentId)
      .where('article_id', '=', articleId)
      .executeTakeFirst();
    if (comment === undefined) throw notFound('comment');
    if (comment.author_id !== actorId) throw forbidden('comment', 'can only be deleted by its author');
    await this.#db
      .deleteFrom('comments')
      .where('id', '=', commentId)
      .where('article_id', '=', articleId)
      .where('author_id', '=', actorId)
      .execute();
  }

  async #articleIdOf(slug: string): Promise<number> {
    const row = await this.#db.selectFrom('articles').select('id').where('slug', '=', slug).executeTakeFirst();
    if (row === undefined) throw notFound('article');
    return row.id;
  }

  #select(viewerId: number | null) {
    return this.#db
      .selectFrom('comments as c')
      .innerJoin('users as u', 'u.id', 'c.author_id')
      .select(['c.id', 'c.body', 'c.created_at', 'c.updated_at', 'u.username', 'u.bio', 'u.image'])
      .select((eb) =>
        (viewerId === null
          ? eb.lit(false)
          : eb.exists(
              eb
                .selectFrom('follows as fw')
                .select('fw.follower_id')
                .whereRef('fw.followed_id', '=', 'c.author_id')
                .where('fw.follower_id', '=', viewerId),
            )
        ).as('following'),
      );
  }
}

interface CommentRow {
  id: number;
  body: string;
  created_at: string;
  updated_at: string;
  username: string;
  bio: string | null;
  image: string | null;
  following: unknown;
}

function toView(row: CommentRow): CommentView {
  return {
    id: row.id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    body: row.body,
    author: { username: row.username, bio: row.bio, image: row.image, following: Boolean(row.following) },
  };
}
