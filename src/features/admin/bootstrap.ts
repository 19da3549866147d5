import type { FastifyBaseLogger } from 'fastify';
import type { UsersRepository } from '../users/repository.ts';
import type { AdminService } from './service.ts';
import { normalizeEmail } from '../users/accounts.ts';

export interface AdminBootstrap {
  readonly email: string | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

/**
 * ADMIN_EMAIL / ADMIN_PASSWORD make the first admin on first start, and only while there is no
 * admin at all. An existing ordinary account with that email is never promoted this way (anyone
 * could have registered it first); `npm run admin:create` does that on purpose.
 */
export async function bootstrapAdmin(
  settings: AdminBootstrap,
  admin: AdminService,
  users: UsersRepository,
  log: FastifyBaseLogger,
): Promise<void> {
  if (settings.email === undefined || settings.password === undefined) return;
  if (await admin.adminExists()) return;
  const email = normalizeEmail(settings.email);
  if ((await users.findCredentials(email)) !== undefined) {
    log.warn({ email }, 'ADMIN_EMAIL belongs to an existing non-admin account: not promoting it; use npm run admin:create');
    return;
  }
  const username = settings.username ?? email.split('@')[0]!.replace(/[^A-Za-z0-9_.-]/g, '') ?? 'admin';
  const { user } = await admin.createAdmin(
    { id: null, username: '(ADMIN_EMAIL bootstrap)', role: 'admin' },
    { email, username: username || 'admin', password: settings.password },
  );
  log.info({ username: user.username }, 'first admin created from ADMIN_EMAIL');
}
