import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import multipart, { type MultipartFile } from '@fastify/multipart';
import view from '@fastify/view';
import { Eta } from 'eta';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ClientError, describeFieldErrors } from '../../errors.ts';
import { databaseUnavailableAnswer, routeNotFound } from '../app/errors.ts';
import { cookieNames } from './sessions.ts';
import { errorPage, templateHelpers, VIEWS_DIR, wantsHtml } from '../app/views.ts';

export type FlashKind = 'success' | 'error' | 'info';

/** An uploaded file as a form handler sees it, read whole from a multipart body. */
export class UploadedFile {
  readonly filename: string;
  readonly data: Buffer;
  /** The file was larger than UPLOAD_LIMIT and was cut short: refuse it. */
  readonly truncated: boolean;

  constructor(filename: string, data: Buffer, truncated: boolean) {
    this.filename = filename;
    this.data = data;
    this.truncated = truncated;
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A form filled in before sign-in (sign-in, sign-up): its CSRF token is not bound to a session. */
    signedOutForm?: boolean;
  }
  interface FastifyReply {
    /** Renders a page inside the layout, with the viewer, a CSRF token and any flash message. */
    page(template: string, data?: Record<string, unknown>): Promise<FastifyReply>;
    /** A message for the next page this browser shows (after a redirect). */
    flash(kind: FlashKind, message: string): void;
  }
}

export interface WebOptions {
  secure: boolean;
  /** Keys the HMAC that binds a CSRF token to the session it was issued to. */
  csrfKey: string;
  uploadLimitBytes: number;
  cacheTemplates: boolean;
}

/**
 * The web pages' plumbing: form and multipart bodies, CSRF tokens (double-submit, signed
 * cookie), Eta templates, flash messages, and HTML error pages. Registered inside the web
 * context only, so the JSON API is untouched by any of it.
 */
export default fp(
  async (app: FastifyInstance, options: WebOptions) => {
    const cookies = cookieNames(options.secure);
    await app.register(formbody, { bodyLimit: 256 * 1024 });
    await app.register(multipart, {
      throwFileSizeLimit: false,
      limits: { fileSize: options.uploadLimitBytes, files: 1, fields: 20, fieldSize: 200_000, parts: 25 },
    });
    app.addHook('preValidation', readMultipartForm);
    await app.register(csrf, {
      sessionPlugin: '@fastify/cookie',
      cookieKey: cookies.csrf,
      cookieOpts: { path: '/', sameSite: 'lax', httpOnly: true, secure: options.secure, signed: true },
      getToken: (request) => (request.body as { _csrf?: string } | undefined)?._csrf,
      getUserInfo: csrfBinding,
      csrfOpts: { hmacKey: options.csrfKey },
    });
    await app.register(view, {
      engine: { eta: new Eta({ views: VIEWS_DIR, cache: options.cacheTemplates, autoEscape: true }) },
      root: VIEWS_DIR,
      production: options.cacheTemplates,
    });

    app.decorateReply('flash', function flash(this: FastifyReply, kind: FlashKind, message: string) {
      void this.setCookie(cookies.flash, JSON.stringify({ kind, message }), {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secure,
        signed: true,
        maxAge: 60,
      });
    });

    app.decorateReply('page', async function page(this: FastifyReply, template: string, data: Record<string, unknown> = {}) {
      const request = this.request;
      const context = {
        viewer: request.viewer,
        csrfToken: this.generateCsrf({ userInfo: csrfBinding(request) }),
        flash: takeFlash(request, this, cookies.flash),
        back: request.url,
        errors: {},
        values: {},
        h: templateHelpers,
        ...data,
      };
      const html = await this.viewAsync(template, context);
      return this.type('text/html; charset=utf-8').send(html);
    });

    app.setErrorHandler(async (error: FastifyError, request, reply) => renderError(error, request, reply));
    app.setNotFoundHandler(async (request, reply) => {
      if (!wantsHtml(request.headers.accept, request.url)) {
        return reply.code(404).send({ errors: { route: [routeNotFound(request)] } });
      }
      return reply.code(404).page('pages/error', errorPage(404, request.id));
    });
  },
  { name: 'web', dependencies: ['sessions'] },
);

/**
 * A multipart form as a plain body: text fields as strings (a repeated field as a list), the
 * file as an UploadedFile, read whole with a note of whether it was cut at UPLOAD_LIMIT. A
 * body that is not well-formed multipart is the client's mistake: 400, not 500.
 */
async function readMultipartForm(request: FastifyRequest): Promise<void> {
  if (!request.isMultipart()) return;
  const body: Record<string, unknown> = {};
  try {
    for await (const part of request.parts()) {
      const value = part.type === 'file' ? await readUpload(part) : part.value;
      const earlier = body[part.fieldname];
      body[part.fieldname] = earlier === undefined ? value : [earlier, value].flat();
    }
  } catch (error) {
    throw malformedMultipart(error);
  }
  request.body = body;
}

async function readUpload(part: MultipartFile): Promise<UploadedFile> {
  const chunks: Buffer[] = [];
  for await (const chunk of part.file) chunks.push(chunk as Buffer);
  return new UploadedFile(part.filename, Buffer.concat(chunks), part.file.truncated);
}

/** Busboy's parse errors carry no status; the library's own limits do (413) and keep it. */
function malformedMultipart(error: unknown): Error {
  const status = (error as { statusCode?: number }).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return error as Error;
  const reason = error instanceof Error ? error.message : String(error);
  return new ClientError(400, { body: [`is not a well-formed multipart form (${reason})`] });
}

/**
 * What a CSRF token is bound to: the signed-in session, so a token (and the cookie secret
 * behind it) from another session, say an attacker's planted in a victim's browser, is
 * refused. Before sign-in there is no session to bind to, and the sign-in and sign-up forms
 * are signed-out forms whoever submits them (a form left open in another tab still works).
 */
function csrfBinding(request: FastifyRequest): string {
  if (request.routeOptions.config.signedOutForm === true || request.session.get('userId') === undefined) return 'signed-out';
  return `session:${request.session.sessionId}`;
}

function takeFlash(request: FastifyRequest, reply: FastifyReply, cookieName: string): { kind: FlashKind; message: string } | null {
  const raw = request.cookies[cookieName];
  if (raw === undefined) return null;
  void reply.clearCookie(cookieName, { path: '/' });
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return null;
  try {
    return JSON.parse(unsigned.value) as { kind: FlashKind; message: string };
  } catch {
    return null;
  }
}

async function renderError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const unavailable = databaseUnavailableAnswer(error);
  if (unavailable !== undefined) {
    request.log.error({ err: error, database: unavailable.reason }, 'database unavailable');
    void reply.headers(unavailable.answer.headers);
    return renderErrorPage(reply, 503, request.id);
  }
  let status = error instanceof ClientError ? error.statusCode : (error.statusCode ?? 500);
  let message: string | undefined;
  if (error.code?.startsWith('FST_CSRF')) {
    status = 403;
    message = 'This form has expired or did not come from this site. Go back, reload the page and try again.';
  } else if (error instanceof ClientError) {
    message = describeFieldErrors(error.errors);
    void reply.headers(error.headers);
  } else if (error.validation) {
    status = 400;
  }
  if (status === 401) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ err: error }, 'request rejected');
  return renderErrorPage(reply, status, request.id, status >= 500 ? undefined : message);
}

async function renderErrorPage(reply: FastifyReply, status: number, requestId: string, message?: string): Promise<FastifyReply> {
  try {
    return await reply.code(status).page('pages/error', errorPage(status, requestId, message));
  } catch (renderFailure) {
    reply.log.error({ err: renderFailure }, 'error page failed to render');
    return reply.code(status).type('text/plain; charset=utf-8').send(`${status} ${errorPage(status, requestId).heading}`);
  }
}
