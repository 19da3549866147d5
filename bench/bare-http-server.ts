/**
 * The reference the gate divides by: a bare `node:http` server that answers every request with
 * one recorded response (status, headers, body bytes), doing nothing else. Started by
 * bench/bare-http.ts as its own process, like the app, so it never shares an event loop with
 * the load generator.
 *
 *   node bench/bare-http-server.ts <response.json>   (PORT from the environment)
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { RecordedResponse } from './bare-http.ts';

const [file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: node bench/bare-http-server.ts <response.json>');
const recorded = JSON.parse(readFileSync(file, 'utf8')) as RecordedResponse;
const body = Buffer.from(recorded.bodyBase64, 'base64');
const headers = { ...recorded.headers, 'content-length': String(body.length) };

// A request body (create article's JSON) is left unread: node:http discards it once the
// response ends, which is the least work the runtime can do for it.
createServer((_request, response) => {
  response.writeHead(recorded.status, headers);
  response.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
