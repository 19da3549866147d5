import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../src/plugins/app/route-table.ts';
import { createTestApp, createTestStorage, TEST_JWT_SECRET, TEST_SESSION_SECRET, type TestStorage } from '../helpers/app.ts';
import { WebClient } from '../helpers/browser.ts';
import { type RawRequest, type RawResponse, sendRaw } from '../helpers/raw-http.ts';
import { startTestServer, type TestServer } from '../helpers/process.ts';

/**
 * Schema-driven fuzzing of every API operation (from the generated OpenAPI document) and every
 * web page and form (from the app's route table), against the real server process, anonymous and
 * signed in. Inputs are mostly well-shaped with hostile leaves (wrong types, huge and unicode
 * strings, NUL and control characters, broken percent-encoding, `..`), sent byte for byte with
 * odd header bytes. Whatever arrives: no 5xx, an error body in the unified format, no stack or
 * SQL in any answer, and the process still serving at the end.
 *
 * FUZZ_RUNS (inputs per operation and identity) and FUZZ_SEED make longer or different runs.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_203);
const ADMIN = { email: 'fuzz-admin@example.com', password: 'Fuzz-Admin-Password-1' };
const LEAK = /\bat [\w.<>$ ]*\(?(?:file:\/\/|\/)[^\s)]+:\d+:\d+|node_modules|SQLITE_|sqlite3|syntax error at|violates .* constraint|\bselect\b[^"]{1,80}\bfrom\b/i;
// An internal error code such as "Error: SQLITE_BUSY" or "Error: ECONNREFUSED": upper case only,
// since a page refusing a form says "Error: Settings" in its title on purpose.
const LEAKED_ERROR_CODE = /Error: [A-Z_]{6,}/;

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

interface Operation {
  readonly method: string;
  /** OpenAPI path, `{name}` for parameters. */
  readonly path: string;
  readonly query: readonly { name: string; schema: JsonSchema }[];
  readonly body: JsonSchema | undefined;
}

let storage: TestStorage;
let server: TestServer;
let port: number;
let operations: Operation[];
let webRoutes: RouteEntry[];
let requestsSent = 0;

beforeAll(async () => {
  // The same code as the server, in process, to read what it mounts and documents.
  const inProcess = await createTestApp();
  operations = operationsOf(inProcess.app.swagger() as { paths: Record<string, Record<string, OpenApiOperation>> });
  webRoutes = inProcess.app.routeTable.filter((route) => ['GET', 'POST'].includes(route.method) && !route.url.startsWith('/api/'));
  await inProcess.close();

  storage = await createTestStorage();
  server = await startTestServer({
    DATA_DIR: storage.dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    SESSION_SECRET: TEST_SESSION_SECRET,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    // Limits would turn most fuzzed writes into 429s before they reach a handler.
    RATE_LIMIT_MAX: '1000000',
    SIGNIN_MAX_FAILURES: '1000',
    SIGNIN_MAX_FAILURES_PER_ADDRESS: '100000',
    // Errors only: a 5xx shows its cause from the server's own log line.
    LOG_LEVEL: 'error',
    ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl } : {}),
  });
  port = Number(new URL(server.baseUrl).port);
}, 60_000);

afterAll(async () => {
  console.log(`fuzz: ${requestsSent} requests to ${operations.length} API operations and ${webRoutes.length} web routes (seed ${SEED}, ${RUNS} runs each)`);
  expect(await server.stop()).toBe(0);
  await storage.remove();
});

// ---- what the fuzzer sends ----------------------------------------------------------------

const NASTY = [
  '', ' ', '..', '../../etc/passwd', '%', '%00', '%ff%fe', '\u0000', '\n', '\r\n', '\t', '\u2028', '\ud800', 'é', '日本語', '🚀',
  '<script>alert(1)</script>', "' or 1=1 --", '"; drop table users; --', '${7*7}', '<%= 7*7 %>', '\\', '//evil.example', 'null',
  'NaN', '-1', '1e309', '0x10', ' 1', '1.5', '9007199254740993', '-0',
];

const hugeString = fc.constantFrom(10_000, 120_000).chain((length) => fc.constantFrom('x', 'é', '\u0000', '日').map((unit) => unit.repeat(length)));
const controlString = fc.array(fc.integer({ min: 0, max: 31 }), { maxLength: 12 }).map((codes) => String.fromCharCode(...codes));
const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: controlString },
  { weight: 1, arbitrary: hugeString },
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);

/** A value shaped like the schema, whose leaves are sometimes valid and sometimes hostile. */
function fuzzed(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 5, arbitrary: shaped(schema, depth) }, { weight: 1, arbitrary: hostileValue });
}

function shaped(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => fuzzed(alternative, depth + 1)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const type = (Array.isArray(schema.type) ? schema.type[0] : schema.type) ?? 'any';
  switch (type) {
    case 'object': {
      const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([name, property]) => [name, fuzzed(property, depth + 1)]));
      return fc.record(properties, { requiredKeys: [] });
    }
    case 'array':
      return fc.array(fuzzed(schema.items ?? {}, depth + 1), { maxLength: 12 });
    case 'string':
      return fc.oneof(validString(schema), nastyString);
    case 'integer':
      return fc.oneof(fc.integer({ min: schema.minimum ?? -5, max: Math.min(schema.maximum ?? 50, 50) }), fc.constantFrom(-1, 0, 2 ** 31, Number.MAX_SAFE_INTEGER));
    case 'boolean':
      return fc.boolean();
    default:
      return hostileValue;
  }
}

function validString(schema: JsonSchema): fc.Arbitrary<string> {
  if (schema.format === 'email') return fc.emailAddress();
  const minLength = schema.minLength ?? 0;
  return fc.string({ minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 40, 40)) });
}

/** Percent-encodes every byte outside the unreserved set, lone surrogates included. */
function encode(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`))
    .join('');
}

/** A path segment: a real one (so handlers run), an encoded hostile one, or broken encoding as is. */
function segment(real: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(real) },
    { weight: 3, arbitrary: nastyString.map(encode) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%ff%fe', '%c0%ae%c0%ae', '..', '%2e%2e', '%0a', '%00', 'a%2fb', ';x', '*', 'é\u00ff') },
  );
}

function fillPath(path: string, real: Record<string, string>): fc.Arbitrary<string> {
  const pieces = path.split('/').map((piece) => {
    const name = /^\{(\w+)\}$/.exec(piece)?.[1] ?? /^:(\w+)$/.exec(piece)?.[1];
    return name === undefined ? fc.constant(piece) : segment(real[name] ?? '1');
  });
  return fc.tuple(...pieces).map((filled) => filled.join('/'));
}

function queryString(parameters: Operation['query']): fc.Arbitrary<string> {
  const pairs = parameters.map(({ name, schema }) =>
    fc.option(fuzzed(schema).map((value) => `${name}=${encode(typeof value === 'string' ? value : JSON.stringify(value) ?? '')}`), { nil: undefined }),
  );
  const raw = fc.constantFrom('', '&', 'limit=1&limit=2', 'offset=%', 'tag=%ff', `x=${'y'.repeat(9000)}`);
  return fc.tuple(fc.tuple(...pairs), raw).map(([chosen, extra]) => {
    const all = [...chosen.filter((pair) => pair !== undefined), ...(extra === '' ? [] : [extra])];
    return all.length === 0 ? '' : `?${all.join('&')}`;
  });
}

/** Header bytes as an attacker sends them: anything but CR and LF, which would end the header. */
const oddHeaderValue = fc.uint8Array({ minLength: 0, maxLength: 30 }).map((bytes) => Buffer.from(bytes.map((byte) => (byte === 10 || byte === 13 ? 0x80 : byte))));

function authorization(token: string | undefined): fc.Arbitrary<string | undefined> {
  const forged = fc.oneof(fc.constantFrom('Token', 'Basic YTpi', 'Token a.b.c', 'Bearer '), nastyString.map((value) => `Token ${value.replace(/[\r\n]/g, '')}`));
  return token === undefined ? fc.oneof(fc.constant(undefined), forged) : fc.oneof({ weight: 4, arbitrary: fc.constant(`Token ${token}`) }, { weight: 1, arbitrary: forged });
}

type Encoded = { contentType: string | undefined; body: Buffer | undefined };

function jsonBody(schema: JsonSchema | undefined): fc.Arbitrary<Encoded> {
  const json = (schema ? fuzzed(schema) : hostileValue).map((value) => ({ contentType: 'application/json', body: Buffer.from(JSON.stringify(value) ?? 'null') }));
  const broken = fc.oneof(
    fc.constantFrom('{', '{"user":', '[', '"', 'nul', '\u0000', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}').map((text) => ({ contentType: 'application/json', body: Buffer.from(text) })),
    fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml').map((contentType) => ({ contentType, body: Buffer.from('{"a":1}') })),
    fc.constant({ contentType: undefined, body: undefined }),
  );
  return fc.oneof({ weight: 5, arbitrary: json }, { weight: 1, arbitrary: broken });
}

function formBody(schema: JsonSchema | undefined, csrfToken: string | undefined): fc.Arbitrary<Encoded> {
  const fields = fc.record(
    Object.fromEntries(Object.entries(schema?.properties ?? {}).filter(([name]) => name !== '_csrf').map(([name]) => [name, fc.oneof(fc.string({ maxLength: 30 }), nastyString)])),
    { requiredKeys: [] },
  );
  const csrf = csrfToken === undefined ? fc.constant(undefined) : fc.oneof({ weight: 5, arbitrary: fc.constant(csrfToken) }, { weight: 1, arbitrary: nastyString });
  return fc.tuple(fields, csrf, fc.constantFrom('urlencoded', 'multipart', 'multipart-file', 'json', 'broken-multipart')).map(([values, token, encoding]) => {
    const all: Record<string, string> = { ...(token === undefined ? {} : { _csrf: token }), ...values };
    return encodeForm(all, encoding);
  });
}

function encodeForm(fields: Record<string, string>, encoding: string): Encoded {
  if (encoding === 'urlencoded') {
    return { contentType: 'application/x-www-form-urlencoded', body: Buffer.from(Object.entries(fields).map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&')) };
  }
  if (encoding === 'json') return { contentType: 'application/json', body: Buffer.from(JSON.stringify(fields)) };
  const boundary = 'fuzzboundary';
  if (encoding === 'broken-multipart') return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(`--${boundary}\r\ngarbage\u0000`) };
  const parts = Object.entries(fields).map(([name, value]) => Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  if (encoding === 'multipart-file') {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="avatar"; filename="x.png"\r\ncontent-type: image/png\r\n\r\n\u0089PNG\r\n\u001a\n\u0000\u0000\r\n`));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

// ---- what every answer must be ------------------------------------------------------------

function mustBeHandled(request: RawRequest, response: RawResponse): void {
  const shown = `${request.method} ${request.target.slice(0, 200)} -> ${response.status} ${response.body.slice(0, 300)}`;
  expect(response.status, `${shown}\nserver log: ${server.process.output().slice(-2000)}`).toBeLessThan(500);
  if (response.status < 400) return;
  expect(response.body, shown).not.toMatch(LEAK);
  expect(response.body, shown).not.toMatch(LEAKED_ERROR_CODE);
  if ((response.headers['content-type'] ?? '').includes('json')) expect(isUnifiedError(JSON.parse(response.body)), shown).toBe(true);
}

function isUnifiedError(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const { errors } = body as { errors?: unknown };
  if (typeof errors !== 'object' || errors === null || Object.keys(errors).length === 0) return false;
  return Object.values(errors).every((messages) => Array.isArray(messages) && messages.length > 0 && messages.every((message) => typeof message === 'string'));
}

async function send(request: RawRequest): Promise<void> {
  requestsSent += 1;
  mustBeHandled(request, await sendRaw(port, request));
}

async function runProperty<T>(arbitrary: fc.Arbitrary<T>, toRequest: (input: T) => RawRequest): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, async (input) => send(toRequest(input))),
    // A failure is reported as found: shrinking against a live server costs more than it tells.
    { numRuns: RUNS, seed: SEED, endOnFailure: true },
  );
}

// ---- the targets ----------------------------------------------------------------------------

interface OpenApiOperation {
  parameters?: { in: string; name: string; schema: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

function operationsOf(document: { paths: Record<string, Record<string, OpenApiOperation>> }): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      query: (operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map(({ name, schema }) => ({ name, schema })),
      body: operation.requestBody?.content['application/json']?.schema,
    })),
  );
}

/** A fresh user with an article and a comment of their own, so handlers find real things. */
async function seededUser(): Promise<{ token: string; real: Record<string, string> }> {
  const headers = { 'content-type': 'application/json' };
  const username = `fuzz${Math.random().toString(36).slice(2, 10)}`;
  const registered = await fetch(`${server.baseUrl}/api/users`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ user: { username, email: `${username}@example.com`, password: 'Correct-Horse-9' } }),
  });
  const { user } = (await registered.json()) as { user: { token: string } };
  const auth = { ...headers, authorization: `Token ${user.token}` };
  const created = await fetch(`${server.baseUrl}/api/articles`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ article: { title: `Fuzz target ${username}`, description: 'd', body: 'b', tagList: ['fuzz'] } }),
  });
  const { article } = (await created.json()) as { article: { slug: string } };
  const commented = await fetch(`${server.baseUrl}/api/articles/${article.slug}/comments`, { method: 'POST', headers: auth, body: JSON.stringify({ comment: { body: 'c' } }) });
  const { comment } = (await commented.json()) as { comment: { id: number } };
  return { token: user.token, real: { username, slug: article.slug, id: String(comment.id), hash: 'a'.repeat(64) } };
}

describe('schema-driven fuzzing of the API', () => {
  it('answers every generated request to every documented operation without a 5xx, in the unified format', async () => {
    expect(operations.length).toBeGreaterThan(20);
    for (const operation of operations) {
      for (const signedIn of [false, true]) {
        const { token, real } = await seededUser();
        const arbitrary = fc.record({
          path: fillPath(operation.path, real),
          query: queryString(operation.query),
          authorization: authorization(signedIn ? token : undefined),
          odd: oddHeaderValue,
          body: ['POST', 'PUT', 'PATCH', 'DELETE'].includes(operation.method) ? jsonBody(operation.body) : fc.constant({ contentType: undefined, body: undefined }),
        });
        await runProperty(arbitrary, (input) => ({
          method: operation.method,
          target: `${input.path}${input.query}`,
          headers: [
            ...(input.authorization === undefined ? [] : [['authorization', input.authorization] as const]),
            ...(input.body.contentType === undefined ? [] : [['content-type', input.body.contentType] as const]),
            ['x-odd', input.odd] as const,
            ['accept', 'application/json'] as const,
          ],
          ...(input.body.body === undefined ? {} : { body: input.body.body }),
        }));
      }
    }
    expect(server.alive()).toBe(true);
  }, 600_000);
});

describe('fuzzing every web page and form', () => {
  it('answers every generated request to every web route without a 5xx or a leak, anonymous, signed in and as admin', async () => {
    expect(webRoutes.filter((route) => route.method === 'POST').length).toBeGreaterThan(10);
    for (const route of webRoutes) {
      const query = Object.entries((route.schema?.querystring as JsonSchema | undefined)?.properties ?? {}).map(([name, schema]) => ({ name, schema }));
      for (const identity of ['anonymous', 'user', 'admin'] as const) {
        const { real } = await seededUser();
        const browser = new WebClient(server.baseUrl);
        if (identity === 'user') await browser.signUp();
        if (identity === 'admin') await browser.signIn(ADMIN.email, ADMIN.password);
        await browser.get(identity === 'anonymous' ? '/login' : '/settings');
        const cookie = browser.cookieHeader();
        const arbitrary = fc.record({
          path: fillPath(route.url, real),
          query: queryString(query),
          odd: oddHeaderValue,
          body: route.method === 'POST' ? formBody(route.schema?.body as JsonSchema | undefined, browser.csrfToken) : fc.constant({ contentType: undefined, body: undefined }),
        });
        await runProperty(arbitrary, (input) => ({
          method: route.method,
          target: `${input.path}${input.query}`,
          headers: [
            ...(cookie === undefined ? [] : [['cookie', cookie] as const]),
            ...(input.body.contentType === undefined ? [] : [['content-type', input.body.contentType] as const]),
            ['x-odd', input.odd] as const,
            ['accept', 'text/html'] as const,
          ],
          ...(input.body.body === undefined ? {} : { body: input.body.body }),
        }));
      }
    }
    const health = await fetch(`${server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(server.alive()).toBe(true);
  }, 600_000);
});
