/**
 * Bundles the server's entry into dist/server.js (and the SQLite reader thread into
 * dist/db/sqlite-reader-worker.js), over what tsc emitted there. Start-up was spent mostly in
 * Node's module loader resolving, reading and compiling some 1,400 files one by one; one file
 * loads in a fraction of the time (bench/startup.ts; figures in bench/README.md). The rest of
 * dist/ (cli.js and the modules it imports) stays as tsc emits it.
 *
 *   node scripts/build/bundle-server.ts [outDir]    (npm run build runs it)
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
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

const CHUNK_NAMES = 'server-[name]-[hash].js';

const external: ExternalOption = (id) =>
  id.startsWith('node:') || UNBUNDLED_PACKAGES.some((name) => id === name || id.startsWith(`${name}/`));

/** The bundle's own chunk files (named by CHUNK_NAMES), left by an earlier build. */
const OLD_CHUNK = /^server-.+\.js(?:\.map)?$/;

export async function bundleServer(outDir: string): Promise<void> {
  // Chunk names carry a content hash: without this, every build would leave the last one's behind.
  if (existsSync(outDir)) for (const name of readdirSync(outDir).filter((file) => OLD_CHUNK.test(file))) rmSync(join(outDir, name));
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
      chunkFileNames: CHUNK_NAMES,
      sourcemap: true,
      // V8 keeps a script's source in memory while its code lives: one non-ASCII character
      // (in a string or a comment) stores the whole file at two bytes per character, and
      // comments are a third of the bytes.
      charset: 'ascii',
      comments: false,
      minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } },
    },
    logLevel: 'warn',
  });
}

if (import.meta.main) await bundleServer(process.argv[2] ?? 'dist');
