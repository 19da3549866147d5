import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { databaseUnavailable, type UnavailableReason } from '../../db/errors.ts';
import { ClientError, type FieldErrors } from '../../errors.ts';
import { validationErrors } from '../../validation.ts';
import { standaloneErrorPageHtml, wantsHtml } from './views.ts';

/**
 * The one place where failures become HTTP answers. Clients get `{ errors: { field: [message] } }`
 * with the status their mistake deserves; a 5xx only ever means our fault, with the detail in the
 * log under the request id and never in the response.
 */
export default fp(
  (app: FastifyInstance) => {
    acceptEmptyJsonBodies(app);
    app.addHook('onSend', refuseUnsendableHeaders);
    app.setErrorHandler(handleError);
  },
  { name: 'errors' },
);

/** The JSON API's 404 (the web context has its own, which answers HTML to browsers). */
export function jsonNotFound(request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(404).send({ errors: { route: [routeNotFound(request)] } });
}

/** A 404 outside the web pages and the API: the error page for a browser, JSON otherwise. */
export function answerNotFound(request: FastifyRequest, reply: FastifyReply): void {
  if (wantsHtml(request.headers.accept, request.url)) {
    void reply.code(404).type('text/html; charset=utf-8').send(standaloneErrorPageHtml(404, request.id));
    return;
  }
  jsonNotFound(request, reply);
}

export function routeNotFound(request: FastifyRequest): string {
  return `no route for ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`;
}

const RETRY_AFTER_SECONDS: Record<UnavailableReason, number> = { 'storage full': 60, 'i/o error': 30, unreachable: 5, overloaded: 5 };

/**
 * A database that cannot serve right now (unreachable, overloaded, out of space) is a 503
 * with Retry-After, not a fault in our code: the request may well succeed later. Returns the
 * answer and the reason to log with the driver's own error; undefined for any other error.
 */
export function databaseUnavailableAnswer(error: FastifyError): { reason: UnavailableReason; answer: ClientError } | undefined {
  // A status means Fastify already judged the error: an aborted upload is also ECONNRESET.
  if (error.statusCode !== undefined) return undefined;
  const reason = databaseUnavailable(error);
  if (reason === undefined) return undefined;
  const answer = new ClientError(503, { database: [`is unavailable (${reason}); try again shortly`] }, { 'retry-after': String(RETRY_AFTER_SECONDS[reason]) });
  return { reason, answer };
}

function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const unavailable = databaseUnavailableAnswer(error);
  if (unavailable !== undefined) {
    request.log.error({ err: error, database: unavailable.reason }, 'database unavailable');
    void reply.code(503).headers(unavailable.answer.headers).send({ errors: unavailable.answer.errors });
    return;
  }
  if (error instanceof ClientError) {
    void reply.code(error.statusCode).headers(error.headers).send({ errors: error.errors });
    return;
  }
  if (error.validation) {
    void reply.code(422).send({ errors: validationErrors(error.validation, error.validationContext) });
    return;
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    request.log.info({ err: error }, 'request rejected');
    void reply.code(status).send({ errors: protocolError(error, status) });
    return;
  }
  request.log.error({ err: error }, 'request failed');
  void reply.code(status >= 500 ? status : 500).send({
    errors: { server: [`internal error; quote request id ${request.id} when reporting it`] },
  });
}

const FRAMEWORK_ERRORS: Record<string, { status: number; errors: FieldErrors }> = {
  FST_ERR_BAD_URL: { status: 400, errors: { url: ['is not a valid address: a percent-escape does not decode to text'] } },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, errors: { url: ['has a path segment that is too long'] } },
};

/**
 * Fastify's `frameworkErrors`: a URL the router cannot take answers in the same format as
 * every other error (JSON for the API, the error page for a browser), not Fastify's own body.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = FRAMEWORK_ERRORS[error.code] ?? { status: 400, errors: { request: ['could not be routed'] } };
  request.log.info({ err: error }, 'request rejected');
  if (wantsHtml(request.headers.accept, request.url)) {
    void reply.code(known.status).type('text/html; charset=utf-8').send(standaloneErrorPageHtml(known.status, request.id));
    return;
  }
  void reply.code(known.status).send({ errors: known.errors });
}

const CLIENT_ERRORS: Record<string, { status: number; errors: FieldErrors }> = {
  HPE_HEADER_OVERFLOW: { status: 431, errors: { request: ['has an address or headers larger than the server accepts'] } },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, errors: { request: ['took too long to arrive'] } },
};

/**
 * Node's `clientError`: a request so malformed (or large) that no Fastify request exists for
 * it. Answered on the socket directly, still in the unified format, then the socket closes.
 */
export function answerClientError(this: FastifyInstance, error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[error.code ?? ''] ?? { status: 400, errors: { request: ['is not valid HTTP'] } };
  this.log.info({ err: error }, 'malformed request refused');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const received = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.toString('latin1') : '';
  const url = received.split('\r\n', 1)[0]?.split(' ')[1] ?? '/api/';
  // The Accept header may lie beyond what the parser kept: outside the API, assume a browser.
  const accept = /\r\naccept:([^\r]*)/i.exec(received)?.[1] ?? 'text/html';
  const [type, body] = wantsHtml(accept, url)
    ? ['text/html; charset=utf-8', standaloneErrorPageHtml(known.status, 'unknown')]
    : ['application/json; charset=utf-8', JSON.stringify({ errors: known.errors })];
  socket.end(
    `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Node throws when it writes a header with a character HTTP forbids, and it writes headers
 * late: after the handler, inside callbacks (the session store's save) that no error handler
 * watches, so the throw would end the process. Checked here, while the request is still in
 * Fastify's hands, a bad header becomes a 500 for this request and nothing worse.
 */
const refuseUnsendableHeaders: onSendHookHandler = (request, reply, _payload, done) => {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined) continue;
    try {
      validateHeaderName(name);
      for (const item of Array.isArray(value) ? value : [value]) validateHeaderValue(name, String(item));
    } catch (error) {
      void reply.removeHeader(name);
      request.log.error({ err: error, header: name }, 'refused to send a response header');
      done(new Error(`response header ${name} holds characters HTTP forbids`));
      return;
    }
  }
  done();
};

/** Fastify's own 4xx errors (framing, size, content type), reworded for clients. */
function protocolError(error: FastifyError, status: number): FieldErrors {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { body: ['is too large'] };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { body: ['has an unsupported content type; send application/json'] };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { body: ['is not valid JSON'] };
    default:
      if (error instanceof SyntaxError) return { body: ['is not valid JSON'] };
      return { request: [status === 429 ? 'too many requests; retry later' : error.message] };
  }
}

// DELETE and some POSTs arrive with `Content-Type: application/json` and no body at all
// (the RealWorld Postman suite does this); treat that as "no body" instead of a 400.
// Plain text is not a format we read: it gets 415 rather than a confusing 422.
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    void parseJson(request, body.toString(), done);
  });
}
