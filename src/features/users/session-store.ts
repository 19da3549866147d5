import type { SessionStore } from '@fastify/session';
import type { Session } from 'fastify';
import type { Kysely } from 'kysely';
import { type Param, PreparedQuery } from '../../db/prepared.ts';
import type { Database } from '../../db/schema.ts';
import { type NodeCallback as Callback, settle } from '../../lib/callbacks.ts';

/**
 * Web sessions in the database (a table on SQLite and PostgreSQL alike), so every replica sees
 * the same sessions. Each row has an idle expiry, renewed on every request, and an absolute
 * expiry fixed when the session is created (sign-in regenerates it); a session past either is
 * treated as absent and deleted.
 */
export class DatabaseSessionStore implements SessionStore {
  readonly #db: Kysely<Database>;
  readonly #absoluteMs: number;
  readonly #read: PreparedQuery<{ id: string }, { data: string; expires_at: number; absolute_expires_at: number }>;

  /** Where an error goes when even the store's caller cannot take it. */
  onUnreported: (error: unknown) => void = () => undefined;

  constructor(db: Kysely<Database>, absoluteSeconds: number) {
    this.#db = db;
    this.#absoluteMs = absoluteSeconds * 1000;
    this.#read = new PreparedQuery(db, (param: Param<{ id: string }>) =>
      db.selectFrom('sessions').select(['data', 'expires_at', 'absolute_expires_at']).where('id', '=', param('id')),
    );
  }

  get(sessionId: string, callback: Callback<Session | null>): void {
    settle(this.#get(sessionId), callback, this.onUnreported);
  }

  set(sessionId: string, value: Session, callback: Callback): void {
    settle(this.#set(sessionId, value), callback, this.onUnreported);
  }

  destroy(sessionId: string, callback: Callback): void {
    settle(this.#db.deleteFrom('sessions').where('id', '=', sessionId).execute().then(() => undefined), callback, this.onUnreported);
  }

  /** Ends every session of a user (a disabled account, a new password), but `keep` if given. */
  async destroyForUser(userId: number, keep?: string): Promise<void> {
    await this.#db
      .deleteFrom('sessions')
      .where('user_id', '=', userId)
      .$if(keep !== undefined, (query) => query.where('id', '<>', keep!))
      .execute();
  }

  /** Deletes sessions past either expiry; returns how many. */
  async purgeExpired(): Promise<number> {
    const now = Date.now();
    const result = await this.#db
      .deleteFrom('sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now), eb('absolute_expires_at', '<=', now)]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async #get(sessionId: string): Promise<Session | null> {
    const row = await this.#read.first({ id: sessionId });
    if (row === undefined) return null;
    const now = Date.now();
    if (Number(row.expires_at) <= now || Number(row.absolute_expires_at) <= now) {
      await this.#db.deleteFrom('sessions').where('id', '=', sessionId).execute();
      return null;
    }
    // @fastify/session rebuilds a Session (and its cookie dates) from this plain object.
    return JSON.parse(row.data) as Session;
  }

  async #set(sessionId: string, value: Session): Promise<void> {
    const now = Date.now();
    const expires = value.cookie?.expires ? new Date(value.cookie.expires).getTime() : now + this.#absoluteMs;
    await this.#db
      .insertInto('sessions')
      .values({
        id: sessionId,
        user_id: value.userId ?? null,
        data: JSON.stringify(value),
        expires_at: expires,
        absolute_expires_at: now + this.#absoluteMs,
      })
      .onConflict((conflict) =>
        conflict.column('id').doUpdateSet((eb) => ({
          user_id: eb.ref('excluded.user_id'),
          data: eb.ref('excluded.data'),
          expires_at: eb.ref('excluded.expires_at'),
        })),
      )
      .execute();
  }
}
