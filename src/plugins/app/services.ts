import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AdminService } from '../../features/admin/service.ts';
import type { AccountService } from '../../features/users/accounts.ts';
import type { SignInLockout } from '../../features/users/sign-in-lockout.ts';
import { createServices, type Repositories, type ServiceOptions } from '../../services.ts';
import type { DatabaseSessionStore } from '../../features/users/session-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    repositories: Repositories;
    accounts: AccountService;
    signInLockout: SignInLockout;
    sessionStore: DatabaseSessionStore;
    admin: AdminService;
  }
}

/**
 * The domain services, built once over the shared database: the JSON API and the web pages
 * call the same ones, so the rules live in one place.
 */
export default fp(
  (app: FastifyInstance, options: ServiceOptions) => {
    const services = createServices(app.db, { ...options, readOffMainThread: app.database.readOffMainThread });
    app.decorate('repositories', services.repositories);
    app.decorate('signInLockout', services.signInLockout);
    app.decorate('accounts', services.accounts);
    app.decorate('sessionStore', services.sessionStore);
    app.decorate('admin', services.admin);
  },
  { name: 'repositories', dependencies: ['database'] },
);
