/**
 * Process entry (node dist/server.js, node src/server.ts). It caps glibc's malloc arenas (which
 * may mean starting again in place) and sizes V8's heap before anything else is even parsed,
 * then loads the server: a static import would be parsed, and the heap would grow, before this
 * module's first line runs.
 */
import './malloc-arenas.ts';
import './heap-settings.ts';
import { enableCompileCache } from 'node:module';

// V8's compiled code of the server's modules, kept on disk from one start to the next (in
// NODE_COMPILE_CACHE, else os.tmpdir()/node-compile-cache: an emptyDir in Kubernetes): later
// starts skip compiling, and use less memory doing it (bench/README.md). Never fails a start:
// without a writable directory it is off.
enableCompileCache();

await import('./serve.ts');
