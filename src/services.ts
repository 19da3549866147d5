import type { Kysely } from 'kysely';
import type { Config } from './config.ts';
import type { ReadOffMainThread } from './db/database.ts';
import type { Database } from './db/schema.ts';
import { AdminRepository } from './features/admin/repository.ts';
import { AdminService } from './features/admin/service.ts';
import { AuthorActivityRepository } from './features/articles/activity.ts';
import { DashboardRepository } from './features/articles/dashboard-repository.ts';
import { ArticlesRepository } from './features/articles/repository.ts';
import { CommentsRepository } from './features/comments/repository.ts';
import { ImagesRepository } from './features/images/repository.ts';
import { ProfilesRepository } from './features/profiles/repository.ts';
import { TagsRepository } from './features/tags/repository.ts';
import { AccountService } from './features/users/accounts.ts';
import { UsersRepository } from './features/users/repository.ts';
import { SignInLockout, type LockoutPolicy } from './features/users/sign-in-lockout.ts';
import { DatabaseSessionStore } from './features/users/session-store.ts';

export interface Repositories {
  readonly users: UsersRepository;
  readonly profiles: ProfilesRepository;
  readonly articles: ArticlesRepository;
  /** An author's own dashboard statistics, and what their articles received week by week. */
  readonly dashboard: DashboardRepository;
  readonly activity: AuthorActivityRepository;
  readonly comments: CommentsRepository;
  readonly tags: TagsRepository;
  readonly images: ImagesRepository;
}

export interface Services {
  readonly repositories: Repositories;
  readonly signInLockout: SignInLockout;
  readonly accounts: AccountService;
  readonly sessionStore: DatabaseSessionStore;
  readonly admin: AdminService;
}

export interface ServiceOptions {
  readonly signInPolicy: LockoutPolicy;
  readonly sessionMaxAgeSeconds: number;
  /** Where reads that may be slow run (the database handle's); by default on the caller's thread. */
  readonly readOffMainThread?: ReadOffMainThread;
}

/** The services' settings from the validated configuration: the server and the CLI read them alike. */
export function serviceOptionsFrom(config: Config): ServiceOptions {
  return {
    sessionMaxAgeSeconds: config.sessionMaxAgeSeconds,
    signInPolicy: {
      maxFailures: config.signInMaxFailures,
      maxFailuresPerAddress: config.signInMaxFailuresPerAddress,
      lockoutSeconds: config.signInLockoutSeconds,
    },
  };
}

/**
 * The domain services over one database, wired once: the server (plugins/repositories.ts) and
 * the command line (cli.ts) use the same graph, so the rules live in one place.
 */
export function createServices(db: Kysely<Database>, options: ServiceOptions): Services {
  const users = new UsersRepository(db);
  const tags = new TagsRepository(db);
  const repositories: Repositories = {
    users,
    profiles: new ProfilesRepository(db),
    articles: new ArticlesRepository(db, () => tags.forget(), options.readOffMainThread),
    dashboard: new DashboardRepository(db),
    activity: new AuthorActivityRepository(db),
    comments: new CommentsRepository(db),
    tags,
    images: new ImagesRepository(db),
  };
  const signInLockout = new SignInLockout(db, options.signInPolicy);
  const sessionStore = new DatabaseSessionStore(db, options.sessionMaxAgeSeconds);
  const accounts = new AccountService(users, signInLockout, sessionStore);
  const admin = new AdminService({
    admin: new AdminRepository(db),
    users,
    accounts,
    articles: repositories.articles,
    comments: repositories.comments,
    sessions: sessionStore,
  });
  return { repositories, signInLockout, accounts, sessionStore, admin };
}
