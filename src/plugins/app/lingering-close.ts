import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** How long, and how much, the server goes on reading a body it has already answered. */
export const LINGER_MS = 5_000;
export const LINGER_MAX_BYTES = 100 * 1024 * 1024;
const LINGER_CHECK_MS = 200;

/**
 * Lingering close, as nginx does it. When we answer before a request's body has fully arrived
 * (413 for a body over the limit, 401 before an upload), closing the connection at once makes
 * the client's remaining writes fail with EPIPE or a reset, so a client that does not wait for
 * `100 Continue` (Node's fetch, most libraries) never sees our answer. Instead the connection
 * stays open and Node reads and discards the rest of the body, for at most LINGER_MS and
 * LINGER_MAX_BYTES; past either bound the socket is destroyed.
 */
export default fp(
  (app: FastifyInstance, options: { draining: () => boolean }) => {
    app.addHook('onSend', (request, reply, _payload, done) => {
      if (request.raw.complete === false) {
        // Fastify asks to close after a body error; a shutdown's close request stands.
        if (!options.draining() && String(reply.getHeader('connection')).toLowerCase() === 'close') reply.removeHeader('connection');
        reply.raw.once('finish', () => discardRestOfBody(request.raw));
      }
      done();
    });
  },
  { name: 'lingering-close' },
);

function discardRestOfBody(request: IncomingMessage): void {
  if (request.complete) return;
  const socket = request.socket;
  const readBefore = socket.bytesRead;
  const deadline = Date.now() + LINGER_MS;
  const watchdog = setInterval(() => {
    if (request.complete || socket.destroyed) {
      clearInterval(watchdog);
      return;
    }
    if (Date.now() > deadline || socket.bytesRead - readBefore > LINGER_MAX_BYTES) {
      clearInterval(watchdog);
      socket.destroy();
    }
  }, LINGER_CHECK_MS);
  watchdog.unref();
  request.resume();
}
