import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ClientError, type FieldErrors } from '../../errors.ts';
import { UploadedFile } from '../../plugins/external/web-forms.ts';
import { keepSignedIn } from '../../plugins/external/sessions.ts';
import { fieldErrorsFor } from '../../validation.ts';
import { detectImageType, NOT_AN_ACCEPTED_IMAGE } from '../images/detect.ts';
import { PASSWORD_RULES_SENTENCE, passwordProblems } from '../users/password-policy.ts';
import { UpdateUserBody } from '../users/schemas.ts';
import { renderForm } from './auth.ts';
import { FormBase, FormText, viewerOf } from './support.ts';

const SettingsForm = Type.Object({
  ...FormBase,
  username: FormText(300),
  email: FormText(300),
  bio: FormText(5000),
  image: FormText(5000),
  password: FormText(2000),
  currentPassword: FormText(2000),
  avatar: Type.Optional(Type.Unknown({ description: 'the uploaded picture: a file part; anything else is refused below' })),
});

/** The account settings form: profile, picture (upload or URL), email and password. */
export default function settingsPages(fastify: FastifyInstance, options: { uploadLimitBytes: number }): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { accounts } = app;
  const { images } = app.repositories;
  const uploadLimit = describeBytes(options.uploadLimitBytes);
  const page = { title: 'Settings', nav: 'settings', uploadLimit, passwordRules: PASSWORD_RULES_SENTENCE };

  app.get('/settings', { schema: { hide: true } }, async (request, reply) => {
    const viewer = viewerOf(request);
    return reply.page('pages/settings', { ...page, values: { username: viewer.username, email: viewer.email, bio: viewer.bio, image: viewer.image } });
  });

  app.post('/settings', {
    schema: { hide: true, body: SettingsForm },
  }, async (request, reply) => {
    const viewer = viewerOf(request);
    const form = request.body;
    const changes = {
      username: form.username?.trim() ?? '',
      email: form.email?.trim() ?? '',
      bio: form.bio ?? '',
      image: form.image?.trim() ?? '',
      ...(form.password ? { password: form.password } : {}),
    };
    const values = { ...changes, password: undefined, image: changes.image || viewer.image };
    const errors: FieldErrors = fieldErrorsFor(UpdateUserBody, { user: changes }) ?? {};
    const newPassword = changes.password !== undefined;
    if (newPassword) {
      const problems = passwordProblems(changes.password ?? '');
      if (problems.length > 0) errors.password = [...new Set([...(errors.password ?? []), ...problems])];
      if (!form.currentPassword) errors.currentPassword = ["can't be blank when you choose a new password"];
    }
    const upload = form.avatar instanceof UploadedFile && form.avatar.filename !== '' ? form.avatar : undefined;
    if (form.avatar !== undefined && !(form.avatar instanceof UploadedFile)) errors.avatar = ['must be a file chosen with the picture field'];
    if (upload !== undefined) {
      const problem = await uploadProblem(upload, uploadLimit);
      if (problem !== undefined) errors.avatar = [problem];
    }
    if (Object.keys(errors).length > 0) return renderForm(reply, 'pages/settings', 422, { ...page, values, errors, savedImage: viewer.image });
    try {
      if (newPassword) await accounts.confirmPassword(viewer, form.currentPassword ?? '', request.ip);
      const image = upload === undefined ? changes.image : await images.store(upload.data, viewer.id, 'avatar');
      const updated = await accounts.update(viewer.id, { ...changes, image }, request.session.sessionId);
      if (updated.credentials_version !== viewer.credentials_version) keepSignedIn(request, updated);
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      return renderForm(reply, 'pages/settings', error.statusCode, { ...page, values, errors: error.errors, savedImage: viewer.image });
    }
    reply.flash('success', 'Your settings are saved.');
    return reply.redirect('/settings', 303);
  });
}

/** Why an upload cannot be a profile picture, judged by its size and its bytes, not its name. */
async function uploadProblem(upload: UploadedFile, limit: string): Promise<string | undefined> {
  if (upload.truncated) return `is larger than ${limit}`;
  if (upload.data.length === 0) return 'is an empty file';
  return (await detectImageType(upload.data)) === undefined ? NOT_AN_ACCEPTED_IMAGE : undefined;
}

function describeBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB` : `${Math.round(bytes / 1024)} KB`;
}
