import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { FieldErrors } from './errors.ts';

/**
 * Schema violations as the field errors clients and forms show: `{ title: ["can't be blank"] }`.
 * The API's error handler and the web forms use the same words for the same rules.
 */
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
    case 'nulCharacter':
      return 'must not contain NUL characters';
    default:
      return fallback ?? 'is invalid';
  }
}

const compiled = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/** Checks a value against a schema; the field errors, or undefined when it is valid. */
export function fieldErrorsFor(schema: TSchema, value: unknown): FieldErrors | undefined {
  let check = compiled.get(schema);
  if (check === undefined) {
    check = Compile(schema);
    compiled.set(schema, check);
  }
  if (check.Check(value)) return undefined;
  return validationErrors(check.Errors(value));
}

const PLAIN_INTEGER = /^-?(?:0|[1-9]\d*)$/;

/**
 * TypeBox's validator, with two rules of our own for every part of every request:
 * - no string may hold a NUL character: PostgreSQL's text cannot store one (it would fail
 *   as a 500 deep in a query), and no field of ours has a use for it;
 * - a query, path or header value only becomes a number when it is written as a plain decimal
 *   integer: TypeBox alone reads `1.5` as 1, `0x10` as 16 and ` 1` as 1. Anything else stays a
 *   string, so the integer check refuses it with 422.
 */
export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
  const validate = TypeBoxValidatorCompiler(route);
  const integerKeys = route.httpPart === 'body' ? [] : integerProperties(route.schema);
  return (value: unknown) => {
    const withNul = pathsHoldingNul(value, '');
    if (withNul.length > 0) {
      const error: FastifySchemaValidationError[] = withNul.map((instancePath) => ({
        keyword: 'nulCharacter',
        instancePath,
        schemaPath: '#',
        params: {},
        message: 'must not contain NUL characters',
      }));
      return { error };
    }
    const loose = looseIntegers(value, integerKeys);
    if (loose.length === 0) return validate(value);
    const error: FastifySchemaValidationError[] = loose.map((key) => ({
      keyword: 'type',
      instancePath: `/${key}`,
      schemaPath: `#/properties/${key}/type`,
      params: { type: 'integer' },
      message: 'must be integer',
    }));
    return { error };
  };
};

/** Where a NUL character hides in a parsed body, query or path (file contents are bytes, not text). */
function pathsHoldingNul(value: unknown, path: string): string[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => pathsHoldingNul(item, `${path}/${index}`));
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return [];
  return Object.entries(value).flatMap(([key, item]) => pathsHoldingNul(item, `${path}/${key}`));
}

function integerProperties(schema: TSchema): string[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  return Object.entries(properties)
    .filter(([, property]) => property.type === 'integer')
    .map(([key]) => key);
}

/** The integer fields whose text is not a plain decimal integer. */
function looseIntegers(value: unknown, keys: readonly string[]): string[] {
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  return keys.filter((key) => {
    const raw = record[key];
    return typeof raw === 'string' && !PLAIN_INTEGER.test(raw);
  });
}
