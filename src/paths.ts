import { fileURLToPath } from 'node:url';

/**
 * Files the process reads beside its code, located from this module. It sits at the top of
 * src/, as server.ts does, and stays at the same depth once built: in dist/ both as tsc emits
 * it and inside the bundled dist/server.js (scripts/build/bundle-server.ts), so one relative
 * path is right for all three.
 */
const HERE = import.meta.url;

/** The templates and static assets of the web pages. */
export const VIEWS_DIR = fileURLToPath(new URL('./views/', HERE));

export const PACKAGE_JSON = new URL('../package.json', HERE);

/** The SQLite reader thread's entry: .ts when run from the sources, .js once built. */
export const SQLITE_READER_WORKER = new URL(`./db/sqlite-reader-worker${HERE.endsWith('.ts') ? '.ts' : '.js'}`, HERE);
