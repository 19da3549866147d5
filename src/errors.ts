/**
 * The one error type for a client's mistake. Features throw it; the error handler in
 * plugins/errors.ts turns it into `{ "errors": { "<field>": ["<message>"] } }` with its status.
 */
export type ClientErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503;

export type FieldErrors = Record<string, string[]>;

export class ClientError extends Error {
  readonly statusCode: ClientErrorStatus;
  readonly errors: FieldErrors;
  readonly headers: Readonly<Record<string, string>>;

  constructor(statusCode: ClientErrorStatus, errors: FieldErrors, headers: Record<string, string> = {}) {
    super(describeFieldErrors(errors));
    this.name = 'ClientError';
    this.statusCode = statusCode;
    this.errors = errors;
    this.headers = headers;
  }
}

/** `{ title: ["can't be blank"] }` → `title can't be blank`: field errors as one line of text. */
export function describeFieldErrors(errors: FieldErrors): string {
  return Object.entries(errors)
    .map(([field, messages]) => `${field} ${messages.join(', ')}`)
    .join('; ');
}

export function notFound(what: string): ClientError {
  return new ClientError(404, { [what]: ['not found'] });
}

export function forbidden(what: string, reason: string): ClientError {
  return new ClientError(403, { [what]: [reason] });
}

export function unauthorized(reason: string): ClientError {
  return new ClientError(401, { token: [reason] }, { 'www-authenticate': 'Token' });
}

export function unprocessable(errors: FieldErrors): ClientError {
  return new ClientError(422, errors);
}

export function alreadyTaken(field: string): ClientError {
  return unprocessable({ [field]: ['has already been taken'] });
}
