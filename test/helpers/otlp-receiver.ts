import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as OTLP/JSON carries it (ids in hex, attributes as typed key/value pairs). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string };
}

interface OtlpExport {
  resourceSpans: { resource: { attributes?: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

/**
 * An OTLP/HTTP receiver (JSON protocol) in the calling process, standing in for a collector:
 * the tracing test reads what it was sent, the benchmark counts it.
 */
export class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  readonly paths: string[] = [];
  readonly contentTypes: string[] = [];
  resourceAttributes: Record<string, unknown> = {};
  spanCount = 0;
  readonly #keepSpans: boolean;
  readonly #server: Server;

  /** keepSpans false: count spans only, so a benchmark's millions do not pile up in memory. */
  constructor(options: { keepSpans: boolean } = { keepSpans: true }) {
    this.#keepSpans = options.keepSpans;
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.#receive(request.url ?? '', request.headers['content-type'] ?? '', JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
  }

  /** Listens on a free loopback port; resolves to the base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #receive(path: string, contentType: string, body: OtlpExport): void {
    this.paths.push(path);
    this.contentTypes.push(contentType);
    for (const resource of body.resourceSpans) {
      this.resourceAttributes = attributesOf(resource.resource);
      for (const scope of resource.scopeSpans) {
        this.spanCount += scope.spans.length;
        if (this.#keepSpans) this.spans.push(...scope.spans);
      }
    }
  }
}

/** A span's (or resource's) attributes as a plain object: strings as strings, integers as numbers. */
export function attributesOf(holder: { attributes?: OtlpAttribute[] }): Record<string, unknown> {
  return Object.fromEntries((holder.attributes ?? []).map(({ key, value }) => [key, value.stringValue ?? Number(value.intValue)]));
}
