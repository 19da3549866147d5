import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conduit } from './helpers/conduit.ts';
import { createListeningTestApp, createTestApp, dialectUnderTest, type TestApp } from './helpers/app.ts';
import { attributesOf, OtlpReceiver, type OtlpSpan } from './helpers/otlp-receiver.ts';
import { eventually } from './helpers/wait.ts';

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;
const STATUS_ERROR = 2;

// A caller's trace, as a proxy or another service would send it.
const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';
const CALLER_TRACEPARENT = `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`;
const EXPECTED_DB_SYSTEM = dialectUnderTest === 'sqlite' ? 'sqlite' : 'postgresql';

describe('traces exported over OTLP/HTTP', () => {
  const receiver = new OtlpReceiver();
  let testApp: TestApp;
  const seen: { slug: string; getArticle: { headers: Record<string, unknown> }; list: { headers: Record<string, unknown> }; missing: { headers: Record<string, unknown> }; failing: { status: number; headers: Record<string, unknown> } } =
    {} as never;

  // The requests run once, then the app closes: closing flushes every queued span to the receiver.
  beforeAll(async () => {
    const endpoint = await receiver.start();
    testApp = await createTestApp({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${endpoint}/`, OTEL_SERVICE_NAME: 'shipshape-under-test' },
      configure: (app) => {
        app.get('/test/broken-query', { schema: { hide: true } }, async () => {
          await sql`select * from no_such_table`.execute(app.db);
          return {};
        });
      },
    });
    const api = new Conduit(() => testApp.app);
    const author = await api.register();
    const article = await api.createArticle(author.token, { tagList: ['traced'] });
    seen.slug = article.slug;
    seen.getArticle = await api.request('GET', `/api/articles/${article.slug}`, { headers: { traceparent: CALLER_TRACEPARENT } });
    // Two filters at once: the list that reads in SQLite's reader threads.
    seen.list = await api.request('GET', `/api/articles?tag=traced&author=${author.username}`);
    seen.missing = await api.request('GET', '/api/articles/no-such-article');
    seen.failing = await api.request('GET', '/test/broken-query');
    await testApp.close();
  });
  afterAll(() => receiver.stop());

  const serverSpanOf = (response: { headers: Record<string, unknown> }): OtlpSpan => {
    const [, traceId, spanId] = String(response.headers.traceresponse).split('-');
    const span = receiver.spans.find((candidate) => candidate.traceId === traceId && candidate.spanId === spanId);
    if (span === undefined) throw new Error(`no exported span ${traceId}/${spanId}`);
    return span;
  };
  const childrenOf = (parent: OtlpSpan) => receiver.spans.filter((span) => span.traceId === parent.traceId && span.parentSpanId === parent.spanId);

  it('posts JSON to the endpoint /v1/traces, naming the service', () => {
    expect(receiver.paths.length).toBeGreaterThan(0);
    expect(new Set(receiver.paths)).toEqual(new Set(['/v1/traces']));
    expect(receiver.contentTypes.every((type) => type.startsWith('application/json'))).toBe(true);
    expect(receiver.resourceAttributes['service.name']).toBe('shipshape-under-test');
  });

  it('continues the caller\'s trace: the server span is a child of the incoming traceparent', () => {
    const server = serverSpanOf(seen.getArticle);

    expect(seen.getArticle.headers.traceresponse).toMatch(new RegExp(`^00-${CALLER_TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(server).toMatchObject({ traceId: CALLER_TRACE_ID, parentSpanId: CALLER_SPAN_ID, name: 'GET /api/articles/:slug', kind: SPAN_KIND_SERVER });
    expect(attributesOf(server)).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/articles/:slug',
      'http.response.status_code': 200,
      'url.path': `/api/articles/${seen.slug}`,
    });
  });

  it('puts each query of the request in a span under the server span, named without values', () => {
    const server = serverSpanOf(seen.getArticle);
    const queries = childrenOf(server);

    expect(queries.length).toBeGreaterThan(0);
    expect(queries.map((span) => span.name)).toContain('SELECT articles');
    for (const query of queries) {
      expect(query.kind).toBe(SPAN_KIND_CLIENT);
      expect(attributesOf(query)).toMatchObject({ 'db.system.name': EXPECTED_DB_SYSTEM, 'db.query.summary': query.name });
      expect(JSON.stringify(query)).not.toContain(seen.slug);
    }
    const articleQuery = queries.find((span) => span.name === 'SELECT articles')!;
    expect(attributesOf(articleQuery)).toMatchObject({ 'db.operation.name': 'SELECT', 'db.collection.name': 'articles' });
  });

  it('traces the list queries that run off the main thread too', () => {
    const server = serverSpanOf(seen.list);

    expect(server.parentSpanId ?? '').toBe('');
    expect(server.traceId).not.toBe(CALLER_TRACE_ID);
    expect(childrenOf(server).filter((span) => span.name === 'SELECT articles')).toHaveLength(2);
  });

  it('names a 404 by its route template and leaves its status unset: the client erred, not the server', () => {
    const server = serverSpanOf(seen.missing);

    expect(server.name).toBe('GET /api/articles/:slug');
    expect(attributesOf(server)).toMatchObject({ 'http.response.status_code': 404 });
    expect(server.status?.code ?? 0).not.toBe(STATUS_ERROR);
  });

  it('marks a failing query and the 5xx it causes as errors', () => {
    const server = serverSpanOf(seen.failing);
    const [query] = childrenOf(server);

    expect(seen.failing.status).toBe(500);
    expect(server.status?.code).toBe(STATUS_ERROR);
    expect(attributesOf(server)).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
    expect(query).toMatchObject({ name: 'SELECT', status: { code: STATUS_ERROR } });
    expect(attributesOf(query!)['error.type']).toEqual(expect.any(String));
  });

  it('writes the trace and span ids into every log line of the request', () => {
    const server = serverSpanOf(seen.getArticle);
    const lines = testApp.logs.filter((line) => line.requestId === seen.getArticle.headers['x-request-id']);

    expect(lines.map((line) => line.msg)).toContain('request completed');
    for (const line of lines) expect(line).toMatchObject({ trace_id: CALLER_TRACE_ID, span_id: server.spanId });
  });
});

describe('a request the client abandons', () => {
  it('ends its span as an error of type "aborted", named by its route', async () => {
    const receiver = new OtlpReceiver();
    let release: () => void = () => undefined;
    let aborted = false;
    let arrived = false;
    const testApp = await createListeningTestApp({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: await receiver.start() },
      configure: (app) => {
        app.get('/test/never-answered', { schema: { hide: true } }, async () => {
          arrived = true;
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return {};
        });
        app.addHook('onRequestAbort', (_request, done) => {
          aborted = true;
          done();
        });
      },
    });
    const client = request(`${testApp.baseUrl}/test/never-answered`);
    client.on('error', () => undefined);
    client.end();
    await eventually(() => arrived, (seen) => seen, { what: 'the request to reach its handler' });
    client.destroy();
    await eventually(() => aborted, (seen) => seen, { what: 'the server to see the abort' });
    release();
    await testApp.close();
    await receiver.stop();

    const span = receiver.spans.find((candidate) => candidate.name === 'GET /test/never-answered');
    expect(span?.status?.code).toBe(STATUS_ERROR);
    expect(attributesOf(span!)).toMatchObject({ 'error.type': 'aborted' });
    expect(attributesOf(span!)).not.toHaveProperty('http.response.status_code');
  });
});

describe('sampling (OTEL_TRACES_SAMPLER=parentbased_traceidratio)', () => {
  it('keeps none of its own traces at ratio 0, yet every one a caller sampled, and logs the ids either way', async () => {
    const receiver = new OtlpReceiver();
    const testApp = await createTestApp({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: await receiver.start(), OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
    });
    const api = new Conduit(() => testApp.app);
    const own = await api.request('GET', '/api/tags');
    const callers = await api.request('GET', '/api/tags', { headers: { traceparent: CALLER_TRACEPARENT } });
    await testApp.close();
    await receiver.stop();

    expect(own.headers.traceresponse).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(callers.headers.traceresponse).toMatch(new RegExp(`^00-${CALLER_TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(new Set(receiver.spans.map((span) => span.traceId))).toEqual(new Set([CALLER_TRACE_ID]));
    const ownLine = testApp.logs.find((line) => line.requestId === own.headers['x-request-id']);
    expect(ownLine?.trace_id).toBe(String(own.headers.traceresponse).split('-')[1]);
  });
});

describe('traces switched off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('adds no header and no ids to the logs', async () => {
    const testApp = await createTestApp();
    try {
      const response = await new Conduit(() => testApp.app).request('GET', '/api/tags', { headers: { traceparent: CALLER_TRACEPARENT } });
      const line = testApp.logs.find((entry) => entry.requestId === response.headers['x-request-id'])!;

      expect(response.headers.traceresponse).toBeUndefined();
      expect(line.msg).toBe('request completed');
      expect(line).not.toHaveProperty('trace_id');
    } finally {
      await testApp.close();
    }
  });

  it('loads no OpenTelemetry code: only the tracing plugin imports it, and the app imports that plugin lazily', () => {
    const sourceDir = new URL('../src/', import.meta.url).pathname;
    const sources = readdirSync(sourceDir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const importers = sources.filter((file) => /from '@opentelemetry\//.test(readFileSync(join(sourceDir, file), 'utf8')));
    const pluginImports = sources.flatMap((file) =>
      [...readFileSync(join(sourceDir, file), 'utf8').matchAll(/^import (?!type ).*from '.*\/tracing\.ts';$/gm)].map(() => file),
    );

    expect(importers).toEqual([join('plugins', 'app', 'tracing.ts')]);
    expect(pluginImports).toEqual([]);
    expect(readFileSync(join(sourceDir, 'app.ts'), 'utf8')).toContain("await import('./plugins/app/tracing.ts')");
  });
});
