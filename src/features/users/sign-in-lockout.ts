import type { Kysely } from 'kysely';
import { type Param, PreparedQuery } from '../../db/prepared.ts';
import type { Database } from '../../db/schema.ts';
import { ClientError } from '../../errors.ts';

export interface LockoutPolicy {
  /** Failures allowed per account within the lockout window. */
  readonly maxFailures: number;
  /** Failures allowed per client address within the lockout window. */
  readonly maxFailuresPerAddress: number;
  readonly lockoutSeconds: number;
}

interface Counter {
  key: string;
  failures: number;
  window_ends_at: number;
}

interface ReserveParams {
  account: string;
  address: string;
  now: number;
  windowEndsAt: number;
}

/**
 * Locks sign-in for an account, or a client address, after too many failed attempts. Counts
 * live in the database, so every replica sees the same ones. Each attempt is counted *before*
 * its password is checked, by one statement that increments and returns the counts: so
 * concurrent attempts can never all pass a check made before any of them failed. A successful
 * sign-in gives its attempt back. The first attempt opens a window of `lockoutSeconds`; past
 * the limit within it, sign-in is refused with 429 and Retry-After until the window closes.
 */
export class SignInLockout {
  readonly #db: Kysely<Database>;
  readonly #policy: LockoutPolicy;
  readonly #reserve: PreparedQuery<ReserveParams, Counter>;
  readonly #giveBack: PreparedQuery<{ address: string }, unknown>;

  constructor(db: Kysely<Database>, policy: LockoutPolicy) {
    this.#db = db;
    this.#policy = policy;
    this.#reserve = new PreparedQuery(db, (param: Param<ReserveParams>) =>
      db
        .insertInto('sign_in_failures')
        .values([
          { key: param('account'), failures: 1, window_ends_at: param('windowEndsAt') },
          { key: param('address'), failures: 1, window_ends_at: param('windowEndsAt') },
        ])
        .onConflict((conflict) =>
          conflict.column('key').doUpdateSet((eb) => {
            const windowOver = eb('sign_in_failures.window_ends_at', '<=', param('now'));
            return {
              failures: eb.case().when(windowOver).then(1).else(eb('sign_in_failures.failures', '+', 1)).end(),
              window_ends_at: eb.case().when(windowOver).then(eb.ref('excluded.window_ends_at')).else(eb.ref('sign_in_failures.window_ends_at')).end(),
            };
          }),
        )
        .returning(['key', 'failures', 'window_ends_at']),
    );
    this.#giveBack = new PreparedQuery(db, (param: Param<{ address: string }>) =>
      db
        .updateTable('sign_in_failures')
        .set((eb) => ({ failures: eb('failures', '-', 1) }))
        .where('key', '=', param('address'))
        .where('failures', '>', 0),
    );
  }

  /** Counts an attempt for this account and address; 429 when either is over its limit. */
  async reserveAttempt(email: string, address: string): Promise<void> {
    const now = Date.now();
    const counters = await this.#reserve.all({
      account: accountKey(email),
      address: addressKey(address),
      now,
      windowEndsAt: now + this.#policy.lockoutSeconds * 1000,
    });
    for (const counter of counters) {
      const limit = counter.key.startsWith('account:') ? this.#policy.maxFailures : this.#policy.maxFailuresPerAddress;
      if (counter.failures > limit) throw locked(Number(counter.window_ends_at) - now);
    }
  }

  /** The attempt was not a failure: forget the account's failures, give the address its attempt back. */
  async attemptSucceeded(email: string, address: string): Promise<void> {
    await this.#db.deleteFrom('sign_in_failures').where('key', '=', accountKey(email)).execute();
    await this.#giveBack.run({ address: addressKey(address) });
  }

  /** Forgets counters whose window has closed. */
  async purgeExpired(): Promise<number> {
    const result = await this.#db.deleteFrom('sign_in_failures').where('window_ends_at', '<=', Date.now()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function locked(remainingMs: number): ClientError {
  const retryAfter = Math.max(1, Math.ceil(remainingMs / 1000));
  return new ClientError(
    429,
    { 'sign-in': [`is locked after too many failed attempts; try again in ${describeWait(retryAfter)}`] },
    { 'retry-after': String(retryAfter) },
  );
}

function accountKey(email: string): string {
  return `account:${email}`;
}

function addressKey(address: string): string {
  return `address:${address}`;
}

function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}
