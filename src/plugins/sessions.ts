import cookie from '@fastify/cookie';
import session, { type SessionStore } from '@fastify/session';
import type { FastifyInstance, FastifyReply, FastifyRequest, Session } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import { type Param, PreparedQuery } from '../db/prepared.ts';
import type { Database } from '../db/schema.ts';
import type { UserRecord } from '../features/users/repository.ts';
import { type NodeCallback as Callback, settle } from '../lib/callbacks.ts';


const PURGE_INTERVAL_MS = 10 * 60 * 1000;

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

declare module 'fastify' {
  interface Session {
    userId?: number;
    /** The user's credentials version at sign-in: a later password change ends the session. */
    credentialsVersion?: number;
  }
  interface FastifyRequest {
    /** The signed-in user of a web page, or null. */
    viewer: UserRecord | null;
  }
}

export interface SessionOptions {
  secret: string;
  secure: boolean;
  idleSeconds: number;
}

/** The cookie names; `__Host-` pins a Secure cookie to this exact origin. */
export function cookieNames(secure: boolean): { session: string; csrf: string; flash: string } {
  const prefix = secure ? '__Host-shipshape' : 'shipshape';
  return { session: `${prefix}.sid`, csrf: `${prefix}.csrf`, flash: `${prefix}.flash` };
}

/**
 * Cookie sessions for the web pages: HttpOnly, SameSite=Lax, Secure when configured, stored in
 * the database, idle and absolute expiry, expired rows purged every ten minutes. Loads the
 * signed-in user into `request.viewer`; a missing or disabled account ends the session.
 */
export default fp(
  async (app: FastifyInstance, options: SessionOptions) => {
    const store = app.sessionStore;
    store.onUnreported = (error) => app.log.error({ err: error }, 'session store callback failed twice; the request may time out');
    await app.register(cookie, { secret: options.secret });
    await app.register(session, {
      secret: options.secret,
      cookieName: cookieNames(options.secure).session,
      store,
      saveUninitialized: false,
      rolling: true,
      cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: options.secure, maxAge: options.idleSeconds * 1000 },
    });
    app.decorateRequest('viewer', null);
    app.addHook('preHandler', async (request) => {
      const userId = request.session.get('userId');
      if (userId === undefined) return;
      const user = await app.repositories.users.findById(userId);
      const stale = user === undefined || user.disabled_at !== null || user.credentials_version !== (request.session.get('credentialsVersion') ?? 0);
      if (stale) {
        await request.session.destroy();
        return;
      }
      request.viewer = user;
    });

    const purge = setInterval(() => {
      store.purgeExpired().catch((error: unknown) => app.log.warn({ err: error }, 'session purge failed'));
      app.signInLockout.purgeExpired().catch((error: unknown) => app.log.warn({ err: error }, 'sign-in counter purge failed'));
    }, PURGE_INTERVAL_MS);
    purge.unref();
    app.addHook('onClose', () => clearInterval(purge));
  },
  { name: 'sessions', dependencies: ['repositories'] },
);

/** Starts a fresh session for a user who just proved who they are (new id: no fixation). */
export async function signIn(request: FastifyRequest, user: UserRecord): Promise<void> {
  await request.session.regenerate();
  request.session.set('userId', user.id);
  request.session.set('credentialsVersion', user.credentials_version);
  request.viewer = user;
}

/** The signed-in user changed their password: this session carries on under the new version. */
export function keepSignedIn(request: FastifyRequest, user: UserRecord): void {
  request.session.set('credentialsVersion', user.credentials_version);
  request.viewer = user;
}

export async function signOut(request: FastifyRequest, reply: FastifyReply, secure: boolean): Promise<void> {
  await request.session.destroy();
  request.viewer = null;
  void reply.clearCookie(cookieNames(secure).session, { path: '/' });
}
