import { createHash } from 'node:crypto';
import { createDecoder, createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { ClientError, unauthorized } from '../../errors.ts';
import type { UserRecord } from '../../features/users/repository.ts';
import { VersionedCache } from '../../lib/versioned-cache.ts';

const ISSUER = 'shipshape';

/** Signed-in users whose records are kept per data version for reads (see viewerOf below). */
const VIEWER_CACHE_ENTRIES = 10_000;
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Signs and strictly verifies the API's bearer tokens: HS256 only, issuer and expiry required.
 * A key ring allows rotation without signing everyone out: the current key signs (its id in
 * the token's `kid`), earlier keys still verify the tokens they signed until they are removed.
 */
export class TokenService {
  readonly #sign: (payload: Record<string, unknown>) => string;
  readonly #verifiers: ReadonlyMap<string, (token: string) => Record<string, unknown>>;
  readonly #currentKid: string;
  readonly #readHeader = createDecoder({ complete: true });

  constructor(secret: string, ttlSeconds: number, previousSecrets: readonly string[] = []) {
    this.#currentKid = keyId(secret);
    this.#sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlSeconds * 1000, iss: ISSUER, kid: this.#currentKid });
    this.#verifiers = new Map(
      [secret, ...previousSecrets].map((key) => [
        keyId(key),
        createVerifier({ key, algorithms: ['HS256'], allowedIss: ISSUER, requiredClaims: ['sub', 'exp', 'iss'], cache: 1000 }),
      ]),
    );
  }

  /** A token for this user, tied to the current version of their credentials. */
  issue(user: Pick<UserRecord, 'id' | 'credentials_version'>): string {
    return this.#sign({ sub: String(user.id), ver: user.credentials_version });
  }

  /**
   * Who a token was issued to, and under which version of their credentials (0 for tokens
   * issued before versions existed); throws a 401 ClientError for anything else.
   */
  subjectOf(token: string): { userId: number; credentialsVersion: number } {
    let claims: Record<string, unknown>;
    try {
      const { header } = this.#readHeader(token) as { header: { kid?: unknown } };
      // Tokens from before key ids existed were signed with the key that is current now, or was.
      const verify = this.#verifiers.get(typeof header.kid === 'string' ? header.kid : this.#currentKid);
      if (verify === undefined) throw unauthorized('was signed with a key that is no longer accepted; sign in again');
      claims = verify(token);
    } catch (error) {
      if (error instanceof ClientError) throw error;
      const expired = error instanceof TokenError && error.code === TokenError.codes.expired;
      throw unauthorized(expired ? 'has expired' : 'is invalid');
    }
    const userId = Number(claims.sub);
    if (!Number.isSafeInteger(userId) || userId <= 0) throw unauthorized('is invalid');
    const credentialsVersion = claims.ver ?? 0;
    if (typeof credentialsVersion !== 'number' || !Number.isSafeInteger(credentialsVersion)) throw unauthorized('is invalid');
    return { userId, credentialsVersion };
  }
}

export interface Authentication {
  readonly user: UserRecord;
  readonly token: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: TokenService;
    /**
     * onRequest hook for a whole scope of routes, deny by default: a valid token is required
     * unless the route says otherwise in `config.access`.
     */
    authenticateByRoute: onRequestAsyncHookHandler;
  }
  interface FastifyContextConfig {
    /**
     * Who may call a route. Absent: signed-in users only (API: a valid token, else 401; web: a
     * session, else the sign-in page). `optional`: anyone, and a token that is sent must be
     * valid (the API reads it to personalise the answer). `public`: anyone; no token is read.
     * `admin`: signed-in admins only, 403 for everyone else (the admin area sets it on its routes).
     */
    access?: 'public' | 'optional' | 'admin';
  }
  interface FastifyRequest {
    auth: Authentication | null;
  }
}

export interface AuthOptions {
  jwtSecret: string;
  jwtPreviousSecrets: readonly string[];
  jwtTtlSeconds: number;
}

/** Reads `Authorization: Token <jwt>` (RealWorld) or `Bearer <jwt>` and loads the user it names. */
export default fp(
  (app: FastifyInstance, options: AuthOptions) => {
    const tokens = new TokenService(options.jwtSecret, options.jwtTtlSeconds, options.jwtPreviousSecrets);
    app.decorate('tokens', tokens);
    app.decorateRequest('auth', null);
    const viewers = new VersionedCache<UserRecord>(VIEWER_CACHE_ENTRIES);

    /**
     * The token's user as the database has it now. Reads reuse the record loaded under the same
     * data version (a password change, a disabled account or a deletion is a commit, so it moves
     * the version on, whichever replica made it); the read routes' cached answers need that
     * version anyway. Writes always load the record, and so pay no version read.
     */
    async function viewerOf(request: FastifyRequest, userId: number): Promise<UserRecord | undefined> {
      if (!READ_METHODS.has(request.method)) return app.repositories.users.findById(userId);
      const version = await request.dataVersion();
      const key = String(userId);
      const cached = viewers.get(key, version);
      if (cached !== undefined) return cached;
      const user = await app.repositories.users.findById(userId);
      if (user !== undefined) viewers.set(key, version, user);
      return user;
    }

    async function authenticate(request: FastifyRequest, required: boolean): Promise<void> {
      const token = tokenFrom(request.headers.authorization);
      if (token === undefined) {
        if (required) throw unauthorized('is missing; send "Authorization: Token <jwt>"');
        return;
      }
      const subject = tokens.subjectOf(token);
      const user = await viewerOf(request, subject.userId);
      if (user === undefined) throw unauthorized('is invalid');
      if (user.disabled_at !== null) throw unauthorized('belongs to a disabled account');
      if (user.credentials_version !== subject.credentialsVersion) throw unauthorized('was issued before the password changed; sign in again');
      request.auth = { user, token };
    }

    app.decorate('authenticateByRoute', async (request: FastifyRequest) => {
      // Unknown URLs answer 404 whoever asks: there is nothing to protect.
      if (request.is404) return;
      const access = request.routeOptions.config.access ?? 'signed-in';
      if (access === 'public') return;
      await authenticate(request, access !== 'optional');
    });
  },
  { name: 'auth', dependencies: ['repositories', 'response-cache'] },
);

/** A key's public name: enough of its hash to tell keys apart, nothing that helps guess it. */
function keyId(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 12);
}

function tokenFrom(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const [scheme, token, ...rest] = header.trim().split(/\s+/);
  if (rest.length > 0 || token === undefined || !/^(token|bearer)$/i.test(scheme ?? '')) {
    throw unauthorized('is malformed; send "Authorization: Token <jwt>"');
  }
  return token;
}

/** The signed-in user, for handlers of routes that require one. */
export function currentAuth(request: FastifyRequest): Authentication {
  if (request.auth === null) throw unauthorized('is missing');
  return request.auth;
}
