/**
 * Process entry (node dist/server.js, node src/server.ts). It sizes V8's heap before anything
 * else is even parsed, then loads the server: a static import would be parsed, and the
 * heap would grow, before this module's first line runs.
 */
import './heap-settings.ts';

await import('./serve.ts');
