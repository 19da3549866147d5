import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import fp from 'fastify-plugin';
import { ClientError, type FieldErrors } from '../errors.ts';

/**
 * The one place where failures become HTTP answers. Clients get `{ errors: { field: [message] } }`
 * with the status their mistake deserves; a 5xx only ever means our fault, with the detail in the
 * log under the request id and never in the response.
 */
export default fp(
  (app: FastifyInstance) => {
    acceptEmptyJsonBodies(app);
    app.setErrorHandler(handleError);
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!.slice(0, 200);
      void reply.code(404).send({ errors: { route: [`no route for ${request.method} ${path}`] } });
    });
  },
  { name: 'errors' },
);

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

const PLAIN_TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  null: 'null',
};

type ValidationIssue = FastifySchemaValidationError & { schemaPath?: string };

/** Schema violations → `{ field: [messages] }`, named by the deepest property involved. */
export function validationErrors(issues: readonly ValidationIssue[], context?: string): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: string, message: string): void => {
    const messages = (errors[field] ??= []);
    if (!messages.includes(message)) messages.push(message);
  };
  for (const issue of issues) {
    if (issue.schemaPath?.includes('/anyOf/')) continue; // reported with their union, below
    const params = issue.params;
    if (issue.keyword === 'required') {
      const missing = (params.requiredProperties ?? [params.missingProperty]) as string[];
      for (const field of missing) add(field, "can't be blank");
      continue;
    }
    const message =
      issue.keyword === 'anyOf'
        ? unionMessage(issues.filter((branch) => branch.instancePath === issue.instancePath && branch.schemaPath?.includes('/anyOf/')))
        : friendlyMessage(issue.keyword, params, issue.message);
    add(fieldName(issue.instancePath, context), message);
  }
  return errors;
}

/**
 * A value matched no branch of a union such as `string | null`: when it had the type of a
 * branch but broke its rules, say which rule; otherwise list the types it could have had.
 */
function unionMessage(branches: readonly ValidationIssue[]): string {
  const ruleBroken = branches.find((branch) => branch.keyword !== 'type');
  if (ruleBroken) return friendlyMessage(ruleBroken.keyword, ruleBroken.params, ruleBroken.message);
  const types = branches.map((branch) => PLAIN_TYPE_NAMES[String(branch.params.type)] ?? String(branch.params.type));
  return types.length > 0 ? `must be ${types.join(' or ')}` : 'is invalid';
}

function fieldName(instancePath: string, context?: string): string {
  const segments = instancePath.split('/').filter((segment) => segment !== '' && !/^\d+$/.test(segment));
  return segments.at(-1) ?? context ?? 'body';
}

function friendlyMessage(keyword: string, params: Record<string, unknown>, fallback: string | undefined): string {
  switch (keyword) {
    case 'type':
      return `must be ${PLAIN_TYPE_NAMES[String(params.type)] ?? String(params.type)}`;
    case 'minLength':
      return params.limit === 1 ? "can't be blank" : `is too short (minimum is ${String(params.limit)} characters)`;
    case 'maxLength':
      return `is too long (maximum is ${String(params.limit)} characters)`;
    case 'pattern':
      return params.pattern === '\\S' ? "can't be blank" : 'is invalid';
    case 'format':
      return params.format === 'uri' ? 'must be a URL' : 'is invalid';
    case 'minimum':
      return `must be at least ${String(params.limit)}`;
    case 'maximum':
      return `must be at most ${String(params.limit)}`;
    case 'minProperties':
      return 'must contain at least one field';
    case 'maxItems':
      return `has too many items (maximum is ${String(params.limit)})`;
    case 'anyOf':
      return 'has an invalid type';
    default:
      return fallback ?? 'is invalid';
  }
}
