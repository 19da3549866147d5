import type { Kysely } from 'kysely';
import { now, violatedUniqueConstraint } from '../../db/errors.ts';
import type { Database } from '../../db/schema.ts';
import { alreadyTaken, type FieldErrors, unprocessable } from '../../errors.ts';

/** A user as the rest of the app sees one: never with the password hash. */
export interface UserRecord {
  readonly id: number;
  readonly email: string;
  readonly username: string;
  readonly bio: string | null;
  readonly image: string | null;
}

export interface NewUser {
  email: string;
  username: string;
  passwordHash: string;
}

export interface UserChanges {
  email?: string | undefined;
  username?: string | undefined;
  passwordHash?: string | undefined;
  bio?: string | null | undefined;
  image?: string | null | undefined;
}

const USER_COLUMNS = ['id', 'email', 'username', 'bio', 'image'] as const;

export class UsersRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  findById(id: number): Promise<UserRecord | undefined> {
    return this.#db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  findByUsername(username: string): Promise<UserRecord | undefined> {
    return this.#db.selectFrom('users').select(USER_COLUMNS).where('username', '=', username).executeTakeFirst();
  }

  async findCredentials(email: string): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
    const row = await this.#db
      .selectFrom('users')
      .select([...USER_COLUMNS, 'password_hash'])
      .where('email', '=', email)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const { password_hash: passwordHash, ...user } = row;
    return { user, passwordHash };
  }

  async create(user: NewUser): Promise<UserRecord> {
    await this.#refuseTaken(user);
    const timestamp = now();
    try {
      return await this.#db
        .insertInto('users')
        .values({
          email: user.email,
          username: user.username,
          password_hash: user.passwordHash,
          bio: null,
          image: null,
          created_at: timestamp,
          updated_at: timestamp,
        })
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
    } catch (error) {
      throw takenFieldError(error) ?? error;
    }
  }

  async update(id: number, changes: UserChanges): Promise<UserRecord> {
    await this.#refuseTaken(changes, id);
    try {
      return await this.#db
        .updateTable('users')
        .set({
          ...(changes.email !== undefined && { email: changes.email }),
          ...(changes.username !== undefined && { username: changes.username }),
          ...(changes.passwordHash !== undefined && { password_hash: changes.passwordHash }),
          ...(changes.bio !== undefined && { bio: changes.bio }),
          ...(changes.image !== undefined && { image: changes.image }),
          updated_at: now(),
        })
        .where('id', '=', id)
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
    } catch (error) {
      throw takenFieldError(error) ?? error;
    }
  }

  /** A friendly 422 for the common case; the unique constraints still decide races. */
  async #refuseTaken(wanted: { email?: string | undefined; username?: string | undefined }, exceptId?: number): Promise<void> {
    if (wanted.email === undefined && wanted.username === undefined) return;
    const clashes = await this.#db
      .selectFrom('users')
      .select(['email', 'username'])
      .where((eb) =>
        eb.or([
          ...(wanted.email !== undefined ? [eb('email', '=', wanted.email)] : []),
          ...(wanted.username !== undefined ? [eb(eb.fn('lower', ['username']), '=', wanted.username.toLowerCase())] : []),
        ]),
      )
      .$if(exceptId !== undefined, (query) => query.where('id', '<>', exceptId!))
      .execute();
    const errors: FieldErrors = {};
    for (const clash of clashes) {
      if (clash.email === wanted.email) errors.email = ['has already been taken'];
      if (clash.username.toLowerCase() === wanted.username?.toLowerCase()) errors.username = ['has already been taken'];
    }
    if (Object.keys(errors).length > 0) throw unprocessable(errors);
  }
}

function takenFieldError(error: unknown): Error | undefined {
  const constraint = violatedUniqueConstraint(error);
  if (constraint === undefined) return undefined;
  return alreadyTaken(constraint.includes('email') ? 'email' : 'username');
}
