/**
 * Bundles the server's entry into dist/server.js (and the SQLite reader thread into
 * dist/db/sqlite-reader-worker.js), over what tsc emitted there. Start-up was spent mostly in
 * Node's module loader resolving, reading and compiling some 1,400 files one by one; one file
 * loads in a fraction of the time (bench/startup.ts; figures in bench/README.md). The rest of
 * dist/ (cli.js and the modules it imports) stays as tsc emits it.
 *
 *   node scripts/build/bundle-server.ts [outDir]    (npm run build runs it)
 */
import { build, type ExternalOption } from 'rolldown';

/**
 * Packages loaded from node_modules at run time, not bundled: native addons, packages that read
 * files beside their own code (pino's transport threads, swagger-ui's and the static server's
 * assets), which a bundle would move away from them, and pg, which database.ts requires only
 * when it opens a PostgreSQL database.
 */
export const UNBUNDLED_PACKAGES = [
  'better-sqlite3',
  '@node-rs/argon2',
  'pg',
  'pg-native',
  'pino',
  'pino-pretty',
  'thread-stream',
  '@fastify/swagger-ui',
  '@fastify/static',
];

const external: ExternalOption = (id) =>
  id.startsWith('node:') || UNBUNDLED_PACKAGES.some((name) => id === name || id.startsWith(`${name}/`));

export async function bundleServer(outDir: string): Promise<void> {
  await build({
    input: { server: 'src/server.ts', 'db/sqlite-reader-worker': 'src/db/sqlite-reader-worker.ts' },
    platform: 'node',
    external,
    // A module's import() stays a separate file loaded on first use (tracing, Markdown, argon2...).
    // Those files sit beside server.js, at the depth src/paths.ts counts on.
    output: {
      dir: outDir,
      format: 'esm',
      entryFileNames: '[name].js',
      chunkFileNames: 'server-[name]-[hash].js',
      sourcemap: true,
      // V8 keeps a script's source in memory while its code lives: one non-ASCII character
      // (in a string or a comment) stores the whole file at two bytes per character, and
      // comments are a third of the bytes.
      charset: 'ascii',
      comments: false,
    },
    logLevel: 'warn',
  });
}

if (import.meta.main) await bundleServer(process.argv[2] ?? 'dist');
