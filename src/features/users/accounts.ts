import { ClientError, unprocessable } from '../../errors.ts';
import { hashPassword, passwordMatches } from './password-hashing.ts';
import { passwordProblems } from './password-policy.ts';
import type { UserRecord, UsersRepository } from './repository.ts';
import type { SignInLockout } from './sign-in-lockout.ts';

/** What the account rules need of the web sessions. */
export interface SessionsOfUsers {
  destroyForUser(userId: number, keep?: string): Promise<void>;
}

export interface Registration {
  email: string;
  username: string;
  password: string;
}

export interface AccountChanges {
  email?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  bio?: string | null | undefined;
  image?: string | null | undefined;
}

/**
 * Sign-up, sign-in and account changes: the rules both the JSON API and the web pages follow.
 * Emails are compared case-insensitively (stored lower-case); blank bio or image means none.
 */
export class AccountService {
  readonly #users: UsersRepository;
  readonly #lockout: SignInLockout;
  readonly #sessions: SessionsOfUsers;

  constructor(users: UsersRepository, lockout: SignInLockout, sessions: SessionsOfUsers) {
    this.#users = users;
    this.#lockout = lockout;
    this.#sessions = sessions;
  }

  async register(registration: Registration): Promise<UserRecord> {
    refuseWeakPassword(registration.password);
    return this.#users.create({
      email: normalizeEmail(registration.email),
      username: registration.username.trim(),
      passwordHash: await hashPassword(registration.password),
    });
  }

  /**
   * The user these credentials belong to. Every attempt counts towards the sign-in lockout
   * before the password is checked (429 once locked); wrong credentials get a 401 that does not
   * say which part was wrong and keep their count; a disabled account gets 403.
   */
  async authenticate(email: string, password: string, clientAddress: string): Promise<UserRecord> {
    const normalized = normalizeEmail(email);
    await this.#lockout.reserveAttempt(normalized, clientAddress);
    const credentials = await this.#users.findCredentials(normalized);
    if (!(await passwordMatches(credentials?.passwordHash, password)) || credentials === undefined) {
      throw new ClientError(401, { 'email or password': ['is invalid'] });
    }
    await this.#lockout.attemptSucceeded(normalized, clientAddress);
    if (credentials.user.disabled_at !== null) throw new ClientError(403, { account: ['is disabled; ask an administrator'] });
    return credentials.user;
  }

  /**
   * Proves the signed-in user still knows their password before a sensitive change; a wrong
   * one counts towards the sign-in lockout like a failed sign-in.
   */
  async confirmPassword(user: UserRecord, password: string, clientAddress: string): Promise<void> {
    try {
      await this.authenticate(user.email, password, clientAddress);
    } catch (error) {
      if (error instanceof ClientError && error.statusCode === 401) throw unprocessable({ currentPassword: ['is not your current password'] });
      throw error;
    }
  }

  /**
   * Changes an account. A new password ends every web session of the account but `keepSession`
   * (the one that made the change) and revokes every API token issued before it.
   */
  async update(userId: number, changes: AccountChanges, keepSession?: string): Promise<UserRecord> {
    if (changes.password !== undefined) refuseWeakPassword(changes.password);
    const updated = await this.#users.update(userId, {
      email: changes.email === undefined ? undefined : normalizeEmail(changes.email),
      username: changes.username?.trim(),
      passwordHash: changes.password === undefined ? undefined : await hashPassword(changes.password),
      bio: blankToNull(changes.bio),
      image: blankToNull(changes.image),
    });
    if (changes.password !== undefined) await this.#sessions.destroyForUser(userId, keepSession);
    return updated;
  }
}

function refuseWeakPassword(password: string): void {
  const problems = passwordProblems(password);
  if (problems.length > 0) throw unprocessable({ password: problems });
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function blankToNull(value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value;
  return value.trim() === '' ? null : value.trim();
}
