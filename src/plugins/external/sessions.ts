import cookie from '@fastify/cookie';
import session from '@fastify/session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { UserRecord } from '../../features/users/repository.ts';

const PURGE_INTERVAL_MS = 10 * 60 * 1000;

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
  /** The current key first (it signs), then earlier keys that still verify during a rotation. */
  secrets: readonly string[];
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
    await app.register(cookie, { secret: [...options.secrets] });
    await app.register(session, {
      secret: [...options.secrets],
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
