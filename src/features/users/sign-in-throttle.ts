import type { Kysely } from 'kysely';
import { type Param, PreparedQuery } from '../../db/prepared.ts';
import type { Database } from '../../db/schema.ts';
import { ClientError } from '../../errors.ts';

export interface ThrottlePolicy {
  /** Failures allowed per account within the lockout window. */
  readonly maxFailures: number;
  /** Failures allowed per client address within the lockout window. */
  readonly maxFailuresPerAddress: number;
  readonly lockoutSeconds: number;
}

interface Counter {
  failures: number;
  window_ends_at: number;
}

/**
 * Counts failed sign-ins per account and per client address in the database (so every replica
 * sees the same counts). The first failure opens a window of `lockoutSeconds`; once the limit is
 * reached within it, sign-in is refused with 429 and Retry-After until the window closes, before
 * any password is checked. A successful sign-in clears the account's count.
 */
export class SignInThrottle {
  readonly #db: Kysely<Database>;
  readonly #policy: ThrottlePolicy;
  readonly #counters: PreparedQuery<{ account: string; address: string }, Counter & { key: string }>;
  readonly #fail: PreparedQuery<{ key: string; now: number; windowEndsAt: number }, unknown>;

  constructor(db: Kysely<Database>, policy: ThrottlePolicy) {
    this.#db = db;
    this.#policy = policy;
    this.#counters = new PreparedQuery(db, (param: Param<{ account: string; address: string }>) =>
      db.selectFrom('sign_in_failures').select(['key', 'failures', 'window_ends_at']).where('key', 'in', [param('account'), param('address')]),
    );
    this.#fail = new PreparedQuery(db, (param: Param<{ key: string; now: number; windowEndsAt: number }>) =>
      db
        .insertInto('sign_in_failures')
        .values({ key: param('key'), failures: 1, window_ends_at: param('windowEndsAt') })
        .onConflict((conflict) =>
          conflict.column('key').doUpdateSet((eb) => {
            const windowOver = eb('sign_in_failures.window_ends_at', '<=', param('now'));
            return {
              failures: eb.case().when(windowOver).then(1).else(eb('sign_in_failures.failures', '+', 1)).end(),
              window_ends_at: eb.case().when(windowOver).then(eb.ref('excluded.window_ends_at')).else(eb.ref('sign_in_failures.window_ends_at')).end(),
            };
          }),
        ),
    );
  }

  async refuseIfLocked(email: string, address: string): Promise<void> {
    const now = Date.now();
    const counters = await this.#counters.all({ account: accountKey(email), address: addressKey(address) });
    for (const counter of counters) {
      const limit = counter.key.startsWith('account:') ? this.#policy.maxFailures : this.#policy.maxFailuresPerAddress;
      const windowEndsAt = Number(counter.window_ends_at);
      if (counter.failures >= limit && windowEndsAt > now) {
        const retryAfter = Math.ceil((windowEndsAt - now) / 1000);
        throw new ClientError(
          429,
          { 'sign-in': [`is locked after too many failed attempts; try again in ${describeWait(retryAfter)}`] },
          { 'retry-after': String(retryAfter) },
        );
      }
    }
  }

  async recordFailure(email: string, address: string): Promise<void> {
    const now = Date.now();
    const windowEndsAt = now + this.#policy.lockoutSeconds * 1000;
    await this.#fail.run({ key: accountKey(email), now, windowEndsAt });
    await this.#fail.run({ key: addressKey(address), now, windowEndsAt });
  }

  async recordSuccess(email: string): Promise<void> {
    await this.#db.deleteFrom('sign_in_failures').where('key', '=', accountKey(email)).execute();
  }

  /** Forgets counters whose window has closed. */
  async purgeExpired(): Promise<number> {
    const result = await this.#db.deleteFrom('sign_in_failures').where('window_ends_at', '<=', Date.now()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
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
