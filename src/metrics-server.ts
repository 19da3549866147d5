import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * A listener of its own for GET /metrics (METRICS_PORT), as podinfo does: the app port can then
 * be published through an ingress without publishing the metrics, and a NetworkPolicy can let
 * Prometheus reach this port alone.
 */
export async function listenForMetrics(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: { route: ['not found'] } }));
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${String(error)}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
