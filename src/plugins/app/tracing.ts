import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  type Context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_SUMMARY,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { LogEvent } from 'kysely';
import type { DialectName } from '../../db/database.ts';
import { summariseQuery } from '../../db/query-summary.ts';

export interface TracingSettings {
  /** The collector's OTLP/HTTP base URL; spans go to its /v1/traces. */
  readonly endpoint: string;
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly dialect: DialectName;
  /** The share of new traces to keep, 0 to 1; a caller's sampling decision always wins. */
  readonly sampleRatio: number;
}

/** W3C Trace Context level 2: the server's own span, so a caller can find its trace. */
export const TRACE_RESPONSE_HEADER = 'traceresponse';

/** OpenTelemetry's names for our two databases (db.system.name). */
const DB_SYSTEMS: Readonly<Record<DialectName, string>> = { sqlite: 'sqlite', postgres: 'postgresql' };

/** Bounds how long app.close() waits for the last spans when the collector is slow or down. */
const EXPORT_TIMEOUT_MS = 5_000;

/**
 * OpenTelemetry traces: a server span per request, a client span per database query, both
 * exported over OTLP/HTTP. app.ts imports this module only when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set, so with tracing off no SDK is loaded and no hook runs.
 *
 * No global OpenTelemetry state is registered (provider, context manager, propagator): the
 * request's span travels in this instance's own AsyncLocalStorage, so two apps in one process
 * (tests) trace independently.
 */
export class Tracing {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #propagator = new W3CTraceContextPropagator();
  readonly #requestContext = new AsyncLocalStorage<Context>();
  readonly #serverSpans = new WeakMap<IncomingMessage, Span>();
  readonly #dbSystem: string;

  constructor(settings: TracingSettings) {
    this.#provider = new TracerProvider({
      resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: settings.serviceVersion }),
      // Follow the caller's sampling decision; keep the configured share of the traces we start.
      sampler: new ParentBasedSampler({ root: settings.sampleRatio === 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(settings.sampleRatio) }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter: new OTLPTraceExporter({ url: tracesUrl(settings.endpoint), timeoutMillis: EXPORT_TIMEOUT_MS }),
          exportTimeoutMillis: EXPORT_TIMEOUT_MS,
        }),
      ],
    });
    this.#tracer = this.#provider.getTracer('shipshape', settings.serviceVersion);
    this.#dbSystem = DB_SYSTEMS[settings.dialect];
  }

  /**
   * A Kysely log listener: turns each finished query into a span under the request that ran it.
   * Queries outside a request (migrations at start-up, timers) are not traced.
   */
  readonly observeQuery = (event: LogEvent): void => {
    const parent = this.#requestContext.getStore();
    // An unsampled request's queries would be unsampled too: skip building their spans.
    if (parent === undefined || trace.getSpan(parent)?.isRecording() !== true) return;
    const ended = performance.now();
    const summary = summariseQuery(event.query);
    const span = this.#tracer.startSpan(
      summary.text,
      {
        kind: SpanKind.CLIENT,
        startTime: ended - event.queryDurationMillis,
        attributes: {
          [ATTR_DB_SYSTEM_NAME]: this.#dbSystem,
          [ATTR_DB_OPERATION_NAME]: summary.operation,
          [ATTR_DB_QUERY_SUMMARY]: summary.text,
          ...(summary.table === undefined ? {} : { [ATTR_DB_COLLECTION_NAME]: summary.table }),
        },
      },
      parent,
    );
    if (event.level === 'error') {
      // The driver's code (SQLITE_ERROR, PostgreSQL's 42P01) or the error's class; never its message.
      const { code, name } = event.error as { code?: unknown; name?: unknown };
      span.setAttribute(ATTR_ERROR_TYPE, String(code ?? name));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(ended);
  };

  /** Sends the spans still queued and stops exporting. */
  shutdown(): Promise<void> {
    return this.#provider.shutdown();
  }

  /**
   * The request side. The server span starts where Fastify makes the request's logger, so
   * that logger (and every line it writes, the access log included) carries its ids.
   */
  readonly plugin = fp(
    (app: FastifyInstance, _options: unknown, done: () => void) => {
      app.setChildLoggerFactory((logger, bindings, options, rawRequest) => {
        const { traceId, spanId } = this.#startServerSpan(rawRequest).spanContext();
        return logger.child({ ...bindings, trace_id: traceId, span_id: spanId }, options);
      });
      app.addHook('onRequest', (request, reply, next) => {
        const span = this.#serverSpans.get(request.raw);
        if (span === undefined) return next();
        void reply.header(TRACE_RESPONSE_HEADER, traceparentOf(span));
        // Everything after this hook (other hooks, the handler, its queries) runs inside the span.
        this.#requestContext.run(trace.setSpan(ROOT_CONTEXT, span), next);
      });
      app.addHook('onResponse', (request, reply, next) => {
        this.#endServerSpan(request, reply);
        next();
      });
      app.addHook('onRequestAbort', (request, next) => {
        this.#endServerSpan(request, undefined);
        next();
      });
      app.addHook('onClose', () => this.shutdown());
      done();
    },
    { name: 'tracing' },
  );

  /** A child of the caller's trace when it sent a valid `traceparent`, else a new trace. */
  #startServerSpan(rawRequest: IncomingMessage): Span {
    const method = rawRequest.method ?? 'GET';
    const parent = this.#propagator.extract(ROOT_CONTEXT, rawRequest.headers, defaultTextMapGetter);
    const span = this.#tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        // The path only: a query string may carry values a trace store should not keep.
        attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: (rawRequest.url ?? '/').split('?', 1)[0] },
      },
      parent,
    );
    this.#serverSpans.set(rawRequest, span);
    return span;
  }

  /** Names the span after the route template (never the concrete URL) and records the outcome. */
  #endServerSpan(request: FastifyRequest, reply: FastifyReply | undefined): void {
    const span = this.#serverSpans.get(request.raw);
    if (span === undefined) return;
    this.#serverSpans.delete(request.raw);
    const route = request.routeOptions.url;
    if (route !== undefined) {
      span.updateName(`${request.method} ${route}`);
      span.setAttribute(ATTR_HTTP_ROUTE, route);
    }
    if (reply === undefined) {
      span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'client closed the connection' });
    } else {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      // Server spans are errors only for 5xx: a 4xx is the client's mistake, answered correctly.
      if (reply.statusCode >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, String(reply.statusCode));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    span.end();
  }

}

/** The span's id in `traceparent` form (version 00), as W3C's traceresponse header carries it. */
function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** The OTLP/HTTP convention: the signal's path appended to the base endpoint. */
function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}
