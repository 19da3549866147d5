import Type, { type TSchema } from 'typebox';

/**
 * Schema pieces every feature shares: the error body, the auth requirement and text fields
 * that must not be blank. Features build their request and response schemas from these.
 */
export const ErrorResponse = Type.Object(
  { errors: Type.Record(Type.String(), Type.Array(Type.String())) },
  { description: 'What went wrong, by field: `{ "errors": { "title": ["can\'t be blank"] } }`' },
);

const ERROR_DESCRIPTIONS = {
  401: 'Missing, malformed, invalid or expired token',
  403: 'Signed in, but not allowed to do this',
  404: 'No such resource',
  422: 'The request failed validation',
  429: 'Too many failed attempts; see Retry-After',
} as const;

type DocumentedErrorStatus = keyof typeof ERROR_DESCRIPTIONS;

/** Response schemas for the listed error statuses, for a route's `response` map. */
export function errorResponses(...statuses: DocumentedErrorStatus[]): Record<number, TSchema> {
  return Object.fromEntries(
    statuses.map((status) => [status, Type.Object(ErrorResponse.properties, { description: ERROR_DESCRIPTIONS[status] })]),
  );
}

/** For the routes that answer through reply.sendCached: an ETag named in If-None-Match gets 304. */
export const NOT_MODIFIED_RESPONSE = {
  304: Type.Null({ description: 'Not Modified: the answer still has the ETag named in If-None-Match; no body' }),
};

/** OpenAPI security requirement for routes that need `Authorization: Token <jwt>`. */
export const TOKEN_REQUIRED = [{ Token: [] }];

/** A string with at least one non-space character. */
export function NonBlankString(maxLength: number, description?: string) {
  return Type.String({ minLength: 1, maxLength, pattern: '\\S', ...(description ? { description } : {}) });
}

export const NullableString = Type.Union([Type.String(), Type.Null()]);

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC, with milliseconds' });
