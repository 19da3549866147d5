/**
 * Bare `node:http` serving the same bytes as the app: records the app's actual response to a
 * scenario's request (status, headers, body), then serves that response from a process of its
 * own (bench/bare-http-server.ts), so both are measured by the same load generator with the
 * same connections in the same run.
 */
import { writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import type { Request as AutocannonRequest } from 'autocannon';
import { freePort, startNode, waitFor } from '../test/helpers/process.ts';

export interface RecordedResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly bodyBase64: string;
}

/** Connection-level headers node:http writes itself; copying them would send them twice. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date', 'content-length']);

/** The request autocannon would send first for this definition: its fields, then setupRequest. */
export function firstRequestOf(definition: AutocannonRequest): AutocannonRequest {
  const base: AutocannonRequest = { method: definition.method ?? 'GET', path: definition.path ?? '/', headers: { ...definition.headers }, body: definition.body };
  if (typeof definition.setupRequest === 'string') throw new Error('a setupRequest module path cannot be replayed here; give a function');
  return definition.setupRequest ? definition.setupRequest(base, {}) : base;
}

export function endToEndHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  return kept;
}

/** Sends the scenario's first request to the app and keeps exactly what came back. */
export function recordResponse(base: string, definition: AutocannonRequest): Promise<RecordedResponse> {
  const sent = firstRequestOf(definition);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(new URL(sent.path ?? '/', base), { method: sent.method, headers: sent.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: endToEndHeaders(response.headers), bodyBase64: Buffer.concat(chunks).toString('base64') }));
    });
    outgoing.on('error', reject);
    outgoing.end(sent.body);
  });
}

export interface BareServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A bare node:http process answering every request with `recorded`, ready to be measured. */
export async function startBareServer(recorded: RecordedResponse, workDir: string): Promise<BareServer> {
  const file = join(workDir, 'bare-response.json');
  writeFileSync(file, JSON.stringify(recorded));
  const port = await freePort();
  const server = startNode('bench/bare-http-server.ts', [file], { PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(url, recorded.status, 10_000, server);
  } catch (error) {
    server.child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    pid: server.child.pid!,
    stop: async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    },
  };
}
