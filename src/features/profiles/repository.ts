import type { Kysely } from 'kysely';
import { now } from '../../db/errors.ts';
import { type Param, PreparedVariants } from '../../db/prepared.ts';
import type { Database } from '../../db/schema.ts';
import { notFound, unprocessable } from '../../errors.ts';

export interface ProfileView {
  readonly username: string;
  readonly bio: string | null;
  readonly image: string | null;
  readonly following: boolean;
}

/** Public profiles and the follow graph. */
export class ProfilesRepository {
  readonly #db: Kysely<Database>;
  readonly #profile: PreparedVariants<boolean, { username: string; viewerId: number }, Omit<ProfileView, 'following'> & { following: unknown }>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.#profile = new PreparedVariants(db, (withViewer, param: Param<{ username: string; viewerId: number }>) =>
      db
        .selectFrom('users as u')
        .select(['u.username', 'u.bio', 'u.image'])
        .select((eb) =>
          (withViewer
            ? eb.exists(
                eb.selectFrom('follows as f').select('f.follower_id').whereRef('f.followed_id', '=', 'u.id').where('f.follower_id', '=', param('viewerId')),
              )
            : eb.lit(false)
          ).as('following'),
        )
        .where('u.username', '=', param('username')),
    );
  }

  /** The profile as `viewerId` sees it (following or not); 404 when there is no such user. */
  async get(username: string, viewerId: number | null): Promise<ProfileView> {
    const row = await this.#profile.for(viewerId !== null).first({ username, viewerId: viewerId ?? 0 });
    if (row === undefined) throw notFound('profile');
    return { ...row, following: Boolean(row.following) };
  }

  async follow(followerId: number, username: string): Promise<ProfileView> {
    const followedId = await this.#idOf(username);
    if (followedId === followerId) throw unprocessable({ profile: ['cannot be followed by itself'] });
    await this.#db
      .insertInto('follows')
      .values({ follower_id: followerId, followed_id: followedId, created_at: now() })
      .onConflict((conflict) => conflict.columns(['follower_id', 'followed_id']).doNothing())
      .execute();
    return this.get(username, followerId);
  }

  async unfollow(followerId: number, username: string): Promise<ProfileView> {
    const followedId = await this.#idOf(username);
    await this.#db
      .deleteFrom('follows')
      .where('follower_id', '=', followerId)
      .where('followed_id', '=', followedId)
      .execute();
    return this.get(username, followerId);
  }

  /** How many follow this user, and how many this user follows. */
  async followCounts(userId: number): Promise<{ followers: number; following: number }> {
    const row = await this.#db
      .selectNoFrom((eb) => [
        eb.selectFrom('follows').where('followed_id', '=', userId).select((inner) => inner.fn.countAll<number>().as('n')).as('followers'),
        eb.selectFrom('follows').where('follower_id', '=', userId).select((inner) => inner.fn.countAll<number>().as('n')).as('following'),
      ])
      .executeTakeFirstOrThrow();
    return { followers: Number(row.followers ?? 0), following: Number(row.following ?? 0) };
  }

  async #idOf(username: string): Promise<number> {
    const row = await this.#db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
    if (row === undefined) throw notFound('profile');
    return row.id;
  }
}
