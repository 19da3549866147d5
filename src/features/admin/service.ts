import { ClientError, forbidden } from '../../errors.ts';
import type { ArticlesRepository } from '../articles/repository.ts';
import type { CommentsRepository } from '../comments/repository.ts';
import type { DatabaseSessionStore } from '../users/session-store.ts';
import type { AccountService } from '../users/accounts.ts';
import type { UserRecord, UsersRepository } from '../users/repository.ts';
import type { AdminRepository, AuditEntry, ManagedUser } from './repository.ts';
import { normalizeEmail } from '../users/accounts.ts';

type Page = { limit: number; offset: number };

export interface AdminDependencies {
  readonly admin: AdminRepository;
  readonly users: UsersRepository;
  readonly accounts: AccountService;
  readonly articles: ArticlesRepository;
  readonly comments: CommentsRepository;
  /** Absent where no web sessions exist (the command line). */
  readonly sessions?: DatabaseSessionStore;
}

/** Someone acting with admin rights: a signed-in admin, or the operator at the command line. */
export type Actor = Pick<UserRecord, 'id' | 'username' | 'role'> | { readonly id: null; readonly username: string; readonly role: 'admin' };

export const COMMAND_LINE: Actor = { id: null, username: '(command line)', role: 'admin' };

/**
 * Everything an admin can do, each action checked for the admin role here (not only in the
 * routes) and written to the audit log: who, what, when.
 */
export class AdminService {
  readonly #deps: AdminDependencies;

  constructor(dependencies: AdminDependencies) {
    this.#deps = dependencies;
  }

  /** Whether any admin account exists (the first start creates one from ADMIN_EMAIL). */
  async adminExists(): Promise<boolean> {
    return this.#deps.admin.adminExists();
  }

  /** Accounts matching a search, a page at a time, for the admin area. */
  async searchUsers(actor: Actor, query: string, page: Page): Promise<{ users: ManagedUser[]; total: number }> {
    requireAdmin(actor);
    return this.#deps.admin.searchUsers(query, page);
  }

  /** The audit log, newest first, a page at a time. */
  async auditLog(actor: Actor, page: Page): Promise<{ entries: AuditEntry[]; total: number }> {
    requireAdmin(actor);
    return this.#deps.admin.auditEntries(page);
  }

  /** Disables an account: it cannot sign in, and its sessions and tokens stop working at once. */
  async setDisabled(actor: Actor, userId: number, disabled: boolean): Promise<void> {
    requireAdmin(actor);
    if (actor.id === userId) throw new ClientError(422, { account: ['cannot be disabled by its own admin'] });
    const username = await this.#deps.admin.setDisabled(userId, disabled);
    if (disabled) await this.#deps.sessions?.destroyForUser(userId);
    await this.#audit(actor, disabled ? 'user.disable' : 'user.enable', `user ${username}`);
  }

  async deleteArticle(actor: Actor, slug: string): Promise<void> {
    requireAdmin(actor);
    const deleted = await this.#deps.articles.deleteAsModerator(slug);
    await this.#audit(actor, 'article.delete', `article ${slug}`, `“${deleted.title}” by ${deleted.author}`);
  }

  async deleteComment(actor: Actor, commentId: number): Promise<void> {
    requireAdmin(actor);
    const deleted = await this.#deps.comments.deleteAsModerator(commentId);
    const excerpt = deleted.body.length > 80 ? `${deleted.body.slice(0, 80)}…` : deleted.body;
    await this.#audit(actor, 'comment.delete', `comment ${commentId} on ${deleted.articleSlug}`, `by ${deleted.author}: “${excerpt}”`);
  }

  /**
   * Makes an admin: creates the account, or promotes the existing account with this email (and
   * sets its password). The password must meet the password policy; there is no default.
   */
  async createAdmin(actor: Actor, account: { email: string; username?: string | undefined; password: string }): Promise<{ created: boolean; user: UserRecord }> {
    requireAdmin(actor);
    const existing = await this.#deps.users.findCredentials(normalizeEmail(account.email));
    if (existing !== undefined) {
      await this.#deps.accounts.update(existing.user.id, { password: account.password });
      await this.#deps.admin.setRole(existing.user.id, 'admin');
      await this.#audit(actor, 'admin.promote', `user ${existing.user.username}`);
      return { created: false, user: { ...existing.user, role: 'admin' } };
    }
    if (!account.username) throw new ClientError(422, { username: ["can't be blank (a new account needs one)"] });
    const user = await this.#deps.accounts.register({ email: account.email, username: account.username, password: account.password });
    await this.#deps.admin.setRole(user.id, 'admin');
    await this.#audit(actor, 'admin.create', `user ${user.username}`);
    return { created: true, user: { ...user, role: 'admin' } };
  }

  async #audit(actor: Actor, action: string, target: string, detail?: string): Promise<void> {
    await this.#deps.admin.record({ actorId: actor.id, actorUsername: actor.username, action, target, detail });
  }
}

function requireAdmin(actor: Actor): void {
  if (actor.role !== 'admin') throw forbidden('admin', 'rights are needed for this');
}
