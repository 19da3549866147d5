import { validateHeaderName, validateHeaderValue } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { ClientError, type FieldErrors } from '../errors.ts';
import { validationErrors } from '../validation.ts';

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

export function routeNotFound(request: FastifyRequest): string {
  return `no route for ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`;
}

function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
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
