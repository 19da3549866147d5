import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { currentAuth } from '../../plugins/app/auth.ts';
import { errorResponses, TOKEN_REQUIRED } from '../../schemas.ts';
import type { UserRecord } from './repository.ts';
import { LoginBody, RegisterBody, UpdateUserBody, UserResponse } from './schemas.ts';

const tags = ['User and Authentication'];

/** Registration, login and the current user's account (RealWorld "users" endpoints). */
export default function usersRoutes(fastify: FastifyInstance): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts, tokens } = app;

  app.post('/users', {
    config: { access: 'public' },
    schema: {
      tags,
      summary: 'Register a new user',
      body: RegisterBody,
      response: { 201: UserResponse, ...errorResponses(422) },
    },
  }, async (request, reply) => {
    const user = await accounts.register(request.body.user);
    return reply.code(201).send(userResponse(user, tokens.issue(user)));
  });

  app.post('/users/login', {
    config: { access: 'public' },
    schema: {
      tags,
      summary: 'Sign in with email and password',
      body: LoginBody,
      response: { 200: UserResponse, ...errorResponses(401, 403, 422, 429) },
    },
  }, async (request) => {
    const { email, password } = request.body.user;
    const user = await accounts.authenticate(email, password, request.ip);
    return userResponse(user, tokens.issue(user));
  });

  app.get('/user', {
    schema: {
      tags,
      summary: 'The signed-in user',
      security: TOKEN_REQUIRED,
      response: { 200: UserResponse, ...errorResponses(401) },
    },
  }, (request) => {
    const { user, token } = currentAuth(request);
    return userResponse(user, token);
  });

  app.put('/user', {
    schema: {
      tags,
      summary: 'Update the signed-in user',
      security: TOKEN_REQUIRED,
      body: UpdateUserBody,
      response: { 200: UserResponse, ...errorResponses(401, 422) },
    },
  }, async (request) => {
    const { user, token } = currentAuth(request);
    const updated = await accounts.update(user.id, request.body.user);
    // A new password revokes every earlier token, this one included: hand out its successor.
    const current = updated.credentials_version === user.credentials_version ? token : tokens.issue(updated);
    return userResponse(updated, current);
  });
}

function userResponse(user: UserRecord, token: string) {
  return { user: { email: user.email, token, username: user.username, bio: user.bio, image: user.image } };
}
