import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import Type from 'typebox';
import { ClientError, type FieldErrors } from '../../errors.ts';
import { signIn, signOut } from '../../plugins/external/sessions.ts';
import { fieldErrorsFor } from '../../validation.ts';
import { PASSWORD_RULES_SENTENCE, passwordProblems } from '../users/password-policy.ts';
import { LoginBody, RegisterBody } from '../users/schemas.ts';
import { FormBase, FormText } from './support.ts';
import { localRedirectTarget } from '../../lib/redirect-target.ts';

const NextQuery = Type.Object({ next: Type.Optional(Type.String({ maxLength: 2000 })) });
const LoginForm = Type.Object({ ...FormBase, email: FormText(300), password: FormText(2000) });
const RegisterForm = Type.Object({ ...FormBase, username: FormText(300), email: FormText(300), password: FormText(2000) });

/** Sign in, sign up and sign out: sessions rotate at sign-in and end at sign-out. */
export default function authPages(fastify: FastifyInstance, options: { secureCookies: boolean }): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts } = app;

  app.get('/login', { config: { access: 'public' }, schema: { hide: true, querystring: NextQuery } }, async (request, reply) => {
    if (request.viewer) return reply.redirect('/', 303);
    return reply.page('pages/login', { title: 'Sign in', nav: 'login', next: request.query.next });
  });

  app.post('/login', { config: { access: 'public', signedOutForm: true }, schema: { hide: true, querystring: NextQuery, body: LoginForm } }, async (request, reply) => {
    const values = { email: request.body.email?.trim() ?? '', password: request.body.password ?? '' };
    const next = request.query.next;
    const invalid = fieldErrorsFor(LoginBody, { user: values });
    if (invalid) return renderForm(reply, 'pages/login', 422, { title: 'Sign in', nav: 'login', next, values, errors: invalid });
    try {
      const user = await accounts.authenticate(values.email, values.password, request.ip);
      await signIn(request, user);
      reply.flash('success', `Welcome back, ${user.username}.`);
      return await reply.redirect(localRedirectTarget(next), 303);
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      void reply.headers(error.headers);
      return renderForm(reply, 'pages/login', error.statusCode, { title: 'Sign in', nav: 'login', next, values: { email: values.email }, errors: error.errors });
    }
  });

  app.get('/register', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    if (request.viewer) return reply.redirect('/', 303);
    return reply.page('pages/register', { title: 'Sign up', nav: 'register', passwordRules: PASSWORD_RULES_SENTENCE });
  });

  app.post('/register', { config: { access: 'public', signedOutForm: true }, schema: { hide: true, body: RegisterForm } }, async (request, reply) => {
    const values = {
      username: request.body.username?.trim() ?? '',
      email: request.body.email?.trim() ?? '',
      password: request.body.password ?? '',
    };
    const page = { title: 'Sign up', nav: 'register', passwordRules: PASSWORD_RULES_SENTENCE, values: { username: values.username, email: values.email } };
    // Every problem in one pass: the schema's and the password rules together, not one round each.
    const errors: FieldErrors = fieldErrorsFor(RegisterBody, { user: values }) ?? {};
    const weaknesses = values.password === '' ? [] : passwordProblems(values.password);
    if (weaknesses.length > 0) errors.password = [...new Set([...(errors.password ?? []), ...weaknesses])];
    if (Object.keys(errors).length > 0) return renderForm(reply, 'pages/register', 422, { ...page, errors });
    try {
      const user = await accounts.register(values);
      await signIn(request, user);
      reply.flash('success', `Welcome to Conduit, ${user.username}.`);
      return await reply.redirect('/', 303);
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      return renderForm(reply, 'pages/register', error.statusCode, { ...page, errors: error.errors });
    }
  });

  app.post('/logout', { config: { access: 'public' }, schema: { hide: true, body: Type.Object(FormBase) } }, async (request, reply) => {
    await signOut(request, reply, options.secureCookies);
    reply.flash('success', 'You have signed out.');
    return reply.redirect('/', 303);
  });
}

/** Shows a form again, with what went wrong next to each field. */
export function renderForm(
  reply: FastifyReply,
  template: string,
  status: number,
  data: Record<string, unknown> & { errors: FieldErrors },
): Promise<FastifyReply> {
  return reply.code(status).page(template, data);
}

