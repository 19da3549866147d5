import type { Kysely, Updateable } from 'kysely';
import { now, violatedUniqueConstraint } from '../../db/errors.ts';
import { type Param, PreparedQuery, PreparedVariants } from '../../db/prepared.ts';
import type { Database, UsersTable } from '../../db/schema.ts';
import { alreadyTaken, type FieldErrors, unprocessable } from '../../errors.ts';

/** A user as the rest of the app sees one: never with the password hash. */
export interface UserRecord {
  readonly id: number;
  readonly email: string;
  readonly username: string;
  readonly bio: string | null;
  readonly image: string | null;
  readonly role: 'user' | 'admin';
  /** When an admin disabled the account; a disabled account cannot sign in or use a token. */
  readonly disabled_at: string | null;
  /** Raised by every password change; tokens and sessions carry the value they were issued under. */
  readonly credentials_version: number;
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

const USER_COLUMNS = ['id', 'email', 'username', 'bio', 'image', 'role', 'disabled_at', 'credentials_version'] as const;

type ChangeableColumn = 'email' | 'username' | 'password_hash' | 'bio' | 'image';
type UpdateParams = Record<ChangeableColumn, string | null | undefined> & { id: number; updatedAt: string };

export class UsersRepository {
  readonly #db: Kysely<Database>;
  readonly #byId: PreparedQuery<{ id: number }, UserRecord>;
  readonly #credentials: PreparedQuery<{ email: string }, UserRecord & { password_hash: string }>;
  /** Keyed by the comma-separated columns an update changes. */
  readonly #update: PreparedVariants<string, UpdateParams, UserRecord>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.#byId = new PreparedQuery(db, (param: Param<{ id: number }>) =>
      db.selectFrom('users').select(USER_COLUMNS).where('id', '=', param('id')),
    );
    this.#credentials = new PreparedQuery(db, (param: Param<{ email: string }>) =>
      db.selectFrom('users').select([...USER_COLUMNS, 'password_hash']).where('email', '=', param('email')),
    );
    this.#update = new PreparedVariants(db, (columns, param: Param<UpdateParams>) => {
      const set: Updateable<UsersTable> = { updated_at: param('updatedAt') };
      const changed = columns.split(',').filter(Boolean) as ChangeableColumn[];
      for (const column of changed) set[column] = param(column) as string;
      const query = db.updateTable('users').set(set);
      const withVersion = changed.includes('password_hash') ? query.set((eb) => ({ credentials_version: eb('credentials_version', '+', 1) })) : query;
      return withVersion.where('id', '=', param('id')).returning(USER_COLUMNS);
    });
  }

  /** Runs on every signed-in request (token → user), hence prepared. */
  findById(id: number): Promise<UserRecord | undefined> {
    return this.#byId.first({ id });
  }

  async findCredentials(email: string): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
    const row = await this.#credentials.first({ email });
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
    const params: UpdateParams = {
      id,
      updatedAt: now(),
      email: changes.email,
      username: changes.username,
      password_hash: changes.passwordHash,
      bio: changes.bio,
      image: changes.image,
    };
    const columns = (['email', 'username', 'password_hash', 'bio', 'image'] as const).filter((column) => params[column] !== undefined);
    try {
      const updated = await this.#update.for(columns.join(',')).first(params);
      if (updated === undefined) throw new Error(`user ${id} vanished during an update`);
      return updated;
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
