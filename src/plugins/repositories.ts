import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ArticlesRepository } from '../features/articles/repository.ts';
import { CommentsRepository } from '../features/comments/repository.ts';
import { ProfilesRepository } from '../features/profiles/repository.ts';
import { TagsRepository } from '../features/tags/repository.ts';
import { AccountService } from '../features/users/accounts.ts';
import { UsersRepository } from '../features/users/repository.ts';
import { SignInThrottle, type ThrottlePolicy } from '../features/users/sign-in-throttle.ts';

export interface Repositories {
  readonly users: UsersRepository;
  readonly profiles: ProfilesRepository;
  readonly articles: ArticlesRepository;
  readonly comments: CommentsRepository;
  readonly tags: TagsRepository;
}

declare module 'fastify' {
  interface FastifyInstance {
    repositories: Repositories;
    accounts: AccountService;
    signInThrottle: SignInThrottle;
  }
}

/**
 * The domain services, built once over the shared database: the JSON API and the web pages
 * call the same ones, so the rules live in one place.
 */
export default fp(
  (app: FastifyInstance, options: { signInPolicy: ThrottlePolicy }) => {
    const users = new UsersRepository(app.db);
    const tags = new TagsRepository(app.db);
    app.decorate('repositories', {
      users,
      profiles: new ProfilesRepository(app.db),
      articles: new ArticlesRepository(app.db, () => tags.forget()),
      comments: new CommentsRepository(app.db),
      tags,
    });
    const throttle = new SignInThrottle(app.db, options.signInPolicy);
    app.decorate('signInThrottle', throttle);
    app.decorate('accounts', new AccountService(users, throttle));
  },
  { name: 'repositories', dependencies: ['database'] },
);
