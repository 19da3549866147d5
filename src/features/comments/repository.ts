import type { Kysely } from 'kysely';
import { now } from '../../db/errors.ts';
import { type Param, PreparedQuery, PreparedVariants } from '../../db/prepared.ts';
import type { Database } from '../../db/schema.ts';
import { forbidden, notFound } from '../../errors.ts';
import type { ProfileView } from '../profiles/repository.ts';
import { type PageRequest, pageWithTotal } from '../../db/paged.ts';

export interface ModeratedComment {
  readonly id: number;
  readonly body: string;
  readonly author: string;
  readonly articleSlug: string;
  readonly articleTitle: string;
  readonly createdAt: string;
}

export interface CommentView {
  readonly id: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly body: string;
  readonly author: ProfileView;
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

type ViewerParams = { slug: string; commentId: number; viewerId: number };

/** Comments on articles. Deleting checks, in the DELETE itself, that the actor wrote the comment. */
export class CommentsRepository {
  readonly #db: Kysely<Database>;
  readonly #articleId: PreparedQuery<{ slug: string }, { id: number }>;
  readonly #ofArticle: PreparedVariants<boolean, ViewerParams, CommentRow>;
  readonly #byId: PreparedQuery<ViewerParams, CommentRow>;
  readonly #authorOf: PreparedQuery<{ commentId: number; articleId: number }, { author_id: number }>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.#articleId = new PreparedQuery(db, (param: Param<{ slug: string }>) =>
      db.selectFrom('articles').select('id').where('slug', '=', param('slug')),
    );
    this.#ofArticle = new PreparedVariants(db, (withViewer, param: Param<ViewerParams>) =>
      selectComments(db, withViewer ? param('viewerId') : null)
        .where('c.article_id', '=', (eb) => eb.selectFrom('articles').select('id').where('slug', '=', param('slug')))
        .orderBy('c.id', 'asc'),
    );
    this.#byId = new PreparedQuery(db, (param: Param<ViewerParams>) =>
      selectComments(db, param('viewerId')).where('c.id', '=', param('commentId')),
    );
    this.#authorOf = new PreparedQuery(db, (param: Param<{ commentId: number; articleId: number }>) =>
      db.selectFrom('comments').select('author_id').where('id', '=', param('commentId')).where('article_id', '=', param('articleId')),
    );
  }

  /** Oldest first, as a conversation reads. */
  async list(slug: string, viewerId: number | null): Promise<CommentView[]> {
    const rows = await this.#ofArticle.for(viewerId !== null).all({ slug, commentId: 0, viewerId: viewerId ?? 0 });
    // No comments: tell "none yet" from "no such article".
    if (rows.length === 0) await this.#articleIdOf(slug);
    return rows.map(toView);
  }

  async add(slug: string, authorId: number, body: string): Promise<CommentView> {
    const articleId = await this.#articleIdOf(slug);
    const timestamp = now();
    const { id } = await this.#db
      .insertInto('comments')
      .values({ article_id: articleId, author_id: authorId, body, created_at: timestamp, updated_at: timestamp })
      .returning('id')
      .executeTakeFirstOrThrow();
    const row = await this.#byId.first({ slug, commentId: id, viewerId: authorId });
    return toView(row!);
  }

  async delete(slug: string, commentId: number, actorId: number): Promise<void> {
    const articleId = await this.#articleIdOf(slug);
    const comment = await this.#authorOf.first({ commentId, articleId });
    if (comment === undefined) throw notFound('comment');
    if (comment.author_id !== actorId) throw forbidden('comment', 'can only be deleted by its author');
    await this.#db
      .deleteFrom('comments')
      .where('id', '=', commentId)
      .where('article_id', '=', articleId)
      .where('author_id', '=', actorId)
      .execute();
  }

  /** The newest comments anywhere, for moderators. */
  async recent(page: PageRequest): Promise<{ comments: ModeratedComment[]; total: number }> {
    const { items, total } = await pageWithTotal(
      this.#db
        .selectFrom('comments as c')
        .innerJoin('users as u', 'u.id', 'c.author_id')
        .innerJoin('articles as a', 'a.id', 'c.article_id')
        .select(['c.id', 'c.body', 'c.created_at', 'u.username', 'a.slug', 'a.title'])
        .orderBy('c.id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .execute(),
      this.#db.selectFrom('comments').select((eb) => eb.fn.countAll<number>().as('n')),
      (row) => ({ id: row.id, body: row.body, author: row.username, articleSlug: row.slug, articleTitle: row.title, createdAt: row.created_at }),
    );
    return { comments: items, total };
  }

  /** Deletes any comment, whoever wrote it: for moderators; returns what was deleted. */
  async deleteAsModerator(commentId: number): Promise<ModeratedComment> {
    const row = await this.#db
      .selectFrom('comments as c')
      .innerJoin('users as u', 'u.id', 'c.author_id')
      .innerJoin('articles as a', 'a.id', 'c.article_id')
      .select(['c.id', 'c.body', 'c.created_at', 'u.username', 'a.slug', 'a.title'])
      .where('c.id', '=', commentId)
      .executeTakeFirst();
    if (row === undefined) throw notFound('comment');
    await this.#db.deleteFrom('comments').where('id', '=', commentId).execute();
    return { id: row.id, body: row.body, author: row.username, articleSlug: row.slug, articleTitle: row.title, createdAt: row.created_at };
  }

  async #articleIdOf(slug: string): Promise<number> {
    const row = await this.#articleId.first({ slug });
    if (row === undefined) throw notFound('article');
    return row.id;
  }
}

/** Author fields come from primary-key subqueries: cheaper than a join for the few rows here. */
function selectComments(db: Kysely<Database>, viewerId: number | null) {
  return db
    .selectFrom('comments as c')
    .select(['c.id', 'c.body', 'c.created_at', 'c.updated_at'])
    .select((eb) => [
      eb.selectFrom('users as u').select('u.username').whereRef('u.id', '=', 'c.author_id').as('username'),
      eb.selectFrom('users as u').select('u.bio').whereRef('u.id', '=', 'c.author_id').as('bio'),
      eb.selectFrom('users as u').select('u.image').whereRef('u.id', '=', 'c.author_id').as('image'),
    ])
    .$narrowType<{ username: string }>()
    .select((eb) =>
      (viewerId === null
        ? eb.lit(false)
        : eb.exists(
            eb.selectFrom('follows as fw').select('fw.follower_id').whereRef('fw.followed_id', '=', 'c.author_id').where('fw.follower_id', '=', viewerId),
          )
      ).as('following'),
    );
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
