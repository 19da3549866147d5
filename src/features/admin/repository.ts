import type { Kysely } from 'kysely';
import { now } from '../../db/errors.ts';
import type { Database } from '../../db/schema.ts';
import { notFound } from '../../errors.ts';
import { type PageRequest, pageWithTotal } from '../../db/paged.ts';

export interface ManagedUser {
  readonly id: number;
  readonly username: string;
  readonly email: string;
  readonly role: 'user' | 'admin';
  readonly disabledAt: string | null;
  readonly createdAt: string;
}

export interface AuditEntry {
  readonly id: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly detail: string | null;
  readonly createdAt: string;
}

export interface AuditRecord {
  readonly actorId: number | null;
  readonly actorUsername: string;
  readonly action: string;
  readonly target: string;
  readonly detail?: string | undefined;
}

/** User management and the audit log: the data behind the admin area. */
export class AdminRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Users whose username or email contains `query` (case-insensitive), newest first. */
  async searchUsers(query: string, page: PageRequest): Promise<{ users: ManagedUser[]; total: number }> {
    const pattern = `%${query.toLowerCase().replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    const matching = this.#db
      .selectFrom('users')
      .$if(query !== '', (select) =>
        select.where((eb) =>
          eb.or([
            eb(eb.fn('lower', ['username']), 'like', eb.val(pattern)).$castTo<boolean>(),
            eb(eb.fn('lower', ['email']), 'like', eb.val(pattern)).$castTo<boolean>(),
          ]),
        ),
      );
    const { items, total } = await pageWithTotal(
      matching.select(['id', 'username', 'email', 'role', 'disabled_at', 'created_at']).orderBy('id', 'desc').limit(page.limit).offset(page.offset).execute(),
      matching.select((eb) => eb.fn.countAll<number>().as('n')),
      (row) => ({ id: row.id, username: row.username, email: row.email, role: row.role, disabledAt: row.disabled_at, createdAt: row.created_at }),
    );
    return { users: items, total };
  }

  /** Disables (or re-enables) an account; returns its username. */
  async setDisabled(userId: number, disabled: boolean): Promise<string> {
    const row = await this.#db
      .updateTable('users')
      .set({ disabled_at: disabled ? now() : null })
      .where('id', '=', userId)
      .returning('username')
      .executeTakeFirst();
    if (row === undefined) throw notFound('user');
    return row.username;
  }

  async setRole(userId: number, role: 'user' | 'admin'): Promise<void> {
    await this.#db.updateTable('users').set({ role }).where('id', '=', userId).execute();
  }

  async adminExists(): Promise<boolean> {
    const row = await this.#db.selectFrom('users').select('id').where('role', '=', 'admin').limit(1).executeTakeFirst();
    return row !== undefined;
  }

  async record(entry: AuditRecord): Promise<void> {
    await this.#db
      .insertInto('audit_log')
      .values({
        actor_id: entry.actorId,
        actor_username: entry.actorUsername,
        action: entry.action,
        target: entry.target,
        detail: entry.detail ?? null,
        created_at: now(),
      })
      .execute();
  }

  async auditEntries(page: PageRequest): Promise<{ entries: AuditEntry[]; total: number }> {
    const { items, total } = await pageWithTotal(
      this.#db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(page.limit).offset(page.offset).execute(),
      this.#db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')),
      (row) => ({ id: row.id, actor: row.actor_username, action: row.action, target: row.target, detail: row.detail, createdAt: row.created_at }),
    );
    return { entries: items, total };
  }
}
