import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Conduit } from './helpers/conduit.ts';
import { createTestApp, dialectUnderTest, useTestApp } from './helpers/app.ts';
import { listenForMetrics } from '../src/metrics-server.ts';

const testApp = useTestApp({ env: { APP_VERSION: '1.2.3', GIT_SHA: 'abc1234' } });
const api = new Conduit(() => testApp.app);

describe('health endpoints', () => {
  it('/healthz says the process is alive', async () => {
    const response = await api.request('GET', '/healthz');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 with the database reachable and current', async () => {
    const response = await api.request('GET', '/readyz');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ready' });
  });

  it('/version reports the build and runtime', async () => {
    const response = await api.request('GET', '/version');

    expect(response.body).toEqual({ version: '1.2.3', gitSha: 'abc1234', node: process.version, startedAt: expect.stringMatching(/Z$/) });
  });

  it('/readyz turns 503 once draining starts, while other routes still answer', async () => {
    const draining = await createTestApp();
    try {
      draining.app.readiness.startDraining();
      const client = new Conduit(draining.app);

      const ready = await client.request('GET', '/readyz');
      const tags = await client.request('GET', '/api/tags');

      const metrics = await draining.app.inject({ method: 'GET', url: '/metrics' });

      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ status: 'not ready', reason: 'shutting down' });
      expect(tags.status).toBe(200);
      expect(metrics.body).toMatch(/^shipshape_ready 0$/m);
    } finally {
      await draining.close();
    }
  });

  it('/readyz turns 503 naming the cause when the database is gone', async () => {
    const broken = await createTestApp();
    try {
      await broken.app.database.close();
      const response = await new Conduit(broken.app).request<{ status: string; reason: string }>('GET', '/readyz');

      expect(response.status).toBe(503);
      expect(response.body.reason).toMatch(/^database unreachable: /);
    } finally {
      await broken.close().catch(() => undefined);
    }
  });
});

describe('metrics', () => {
  it('exposes request durations by route template, never by raw URL', async () => {
    const author = await api.register();
    const article = await api.createArticle(author.token);
    await api.request('GET', `/api/articles/${article.slug}`);
    await api.request('GET', '/api/no-such-thing');

    const response = await testApp.app.inject({ method: 'GET', url: '/metrics' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/api\/articles\/:slug",status_code="200"\} 1/);
    expect(response.body).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/articles",status_code="201"\}/);
    expect(response.body).toMatch(/route="unmatched",status_code="404"/);
    expect(response.body).not.toContain(article.slug);
  });

  it('exposes database query timings, runtime saturation and build info', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/metrics' });

    expect(response.body).toMatch(/db_query_duration_seconds_count\{operation="select"\} \d+/);
    expect(response.body).toMatch(/nodejs_eventloop_lag_seconds \d/);
    expect(response.body).toMatch(/nodejs_heap_size_used_bytes \d/);
    expect(response.body).toContain('shipshape_build_info{version="1.2.3",git_sha="abc1234"');
    expect(response.body).toMatch(/^shipshape_ready 1$/m);
    if (dialectUnderTest === 'postgres') expect(response.body).toMatch(/db_pool_connections\{state="total"\} \d/);
  });

  it('report the event-loop delay p99 since the last scrape, so a loop that keeps stalling shows', async () => {
    const p99 = async () => Number(/^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec((await testApp.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1]);
    await p99(); // the histogram restarts at every scrape

    // Synchronous stalls in callbacks, as slow queries on the main thread would cause. Three:
    // the 10 ms sampler can miss one that falls between its ticks.
    for (let stall = 0; stall < 3; stall += 1) {
      await new Promise<void>((resolve) => setTimeout(() => {
        const stalledUntil = performance.now() + 120;
        while (performance.now() < stalledUntil) {
          // stalled
        }
        resolve();
      }, 5));
    }
    await new Promise((resolve) => setTimeout(resolve, 30)); // the sampler ticks every 10 ms

    expect(await p99()).toBeGreaterThanOrEqual(0.1);
  });
});

describe('metrics on a port of their own (METRICS_PORT)', () => {
  it('are no longer served on the app port', async () => {
    const separate = await createTestApp({ env: { METRICS_PORT: '9464' } });
    try {
      const response = await separate.app.inject({ method: 'GET', url: '/metrics' });

      expect(response.statusCode).toBe(404);
    } finally {
      await separate.close();
    }
  });

  it('are served by their own listener, which answers nothing else', async () => {
    const server = await listenForMetrics(testApp.app.metrics.registry, '127.0.0.1', 0);
    try {
      const address = server.address() as AddressInfo;
      const base = `http://127.0.0.1:${address.port}`;

      const metrics = await fetch(`${base}/metrics?x=1`);
      const other = await fetch(`${base}/api/tags`);
      const post = await fetch(`${base}/metrics`, { method: 'POST' });

      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await metrics.text()).toMatch(/^shipshape_ready 1$/m);
      expect(other.status).toBe(404);
      expect(post.status).toBe(404);
    } finally {
      server.close();
    }
  });

  it('answer 500 when collection fails, and refuse a port already taken', async () => {
    const failing = new Registry();
    new Gauge({ name: 'broken', help: 'fails', registers: [failing], collect: () => Promise.reject(new Error('boom')) });
    const server = await listenForMetrics(failing, '127.0.0.1', 0);
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);

      expect(response.status).toBe(500);
      await expect(listenForMetrics(failing, '127.0.0.1', port)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      server.close();
    }
  });
});

describe('request ids and logs', () => {
  it('echoes a sane X-Request-Id and logs the request under it', async () => {
    const response = await api.request('GET', '/api/tags', { headers: { 'x-request-id': 'trace-abc.123' } });

    expect(response.headers['x-request-id']).toBe('trace-abc.123');
    const line = testApp.logs.find((entry) => entry.requestId === 'trace-abc.123' && entry.msg === 'request completed');
    expect(line).toMatchObject({ level: 'info', method: 'GET', route: '/api/tags', statusCode: 200 });
  });

  it('generates an id when none or a suspicious one is sent', async () => {
    const none = await api.request('GET', '/api/tags');
    const suspicious = await api.request('GET', '/api/tags', { headers: { 'x-request-id': 'a"b}{' + 'x'.repeat(200) } });

    expect(none.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(suspicious.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never writes passwords or tokens to the log', async () => {
    const user = await api.register();
    await api.request('POST', '/api/users/login', { body: { user: { email: user.email, password: 'Wrong-Password-9' } } });
    await api.request('GET', '/api/user', { token: user.token });

    const everything = JSON.stringify(testApp.logs);
    expect(everything).not.toContain(user.password);
    expect(everything).not.toContain('Wrong-Password-9');
    expect(everything).not.toContain(user.token);
  });

  it('logs probes at debug, so they do not flood the info log', async () => {
    await api.request('GET', '/healthz', { headers: { 'x-request-id': 'probe-1' } });

    expect(testApp.logs.some((entry) => entry.requestId === 'probe-1')).toBe(false);
  });
});

describe('security headers and CORS', () => {
  it('sends helmet\'s headers on API responses', async () => {
    const response = await api.request('GET', '/api/tags');

    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  });

  it('sends no CORS headers unless CORS_ORIGINS allows the origin', async () => {
    const response = await api.request('GET', '/api/tags', { headers: { origin: 'https://evil.example' } });

    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers preflight for allowed origins only, and lets their scripts revalidate with the ETag', async () => {
    const corsApp = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const preflight = await corsApp.app.inject({
        method: 'OPTIONS',
        url: '/api/articles',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });
      const other = await corsApp.app.inject({ method: 'GET', url: '/api/tags', headers: { origin: 'https://evil.example' } });

      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/Content-Type/i);
      expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/Authorization/i);
      expect(String(preflight.headers['access-control-allow-headers'])).toMatch(/If-None-Match/i);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      const read = await corsApp.app.inject({ method: 'GET', url: '/api/articles', headers: { origin: 'https://app.example.com' } });
      expect(String(read.headers['access-control-expose-headers'])).toMatch(/ETag/);
    } finally {
      await corsApp.close();
    }
  });

  it('allows any origin with CORS_ORIGINS=*', async () => {
    const corsApp = await createTestApp({ env: { CORS_ORIGINS: '*' } });
    try {
      const response = await corsApp.app.inject({ method: 'GET', url: '/api/tags', headers: { origin: 'https://anything.example' } });

      expect(response.headers['access-control-allow-origin']).toBe('*');
    } finally {
      await corsApp.close();
    }
  });
});

describe('OpenAPI', () => {
  interface OpenApiDocument {
    openapi: string;
    paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown; responses: Record<string, unknown> }>>;
  }

  it('serves an OpenAPI 3.1 document covering every path and method of the RealWorld spec', async () => {
    const response = await api.request<OpenApiDocument>('GET', '/api/openapi.json');
    const realWorld = parse(readFileSync(new URL('./realworld/openapi.yml', import.meta.url), 'utf8')) as OpenApiDocument;

    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    for (const [path, methods] of Object.entries(realWorld.paths)) {
      const ours = response.body.paths[`/api${path}`];
      expect(ours, `missing path /api${path}`).toBeDefined();
      for (const [method, operation] of Object.entries(methods)) {
        expect(ours![method], `missing ${method.toUpperCase()} /api${path}`).toBeDefined();
        const successCodes = Object.keys(operation.responses).filter((code) => code.startsWith('2'));
        for (const code of successCodes) expect(Object.keys(ours![method]!.responses)).toContain(code);
        if (operation.security) expect(ours![method]!.security).toEqual([{ Token: [] }]);
      }
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const response = await testApp.app.inject({ method: 'GET', url: '/docs/' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
  });
});
