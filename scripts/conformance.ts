/**
 * Runs the official RealWorld Postman collection (test/realworld/) with newman against a
 * freshly started server process on a fresh database: SQLite by default, PostgreSQL when
 * TEST_DATABASE_URL is set (scripts/with-postgres.sh). Exits non-zero on any failed assertion.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createTestStorage, dialectUnderTest } from '../test/helpers/app.ts';
import { freePort, productionEnv, startNode, waitFor } from '../test/helpers/process.ts';

interface NewmanStats {
  requests: { total: number; failed: number };
  assertions: { total: number; failed: number };
}
type NewmanRun = (
  options: Record<string, unknown>,
  callback: (error: Error | null, summary: { run: { stats: NewmanStats; failures: unknown[] } }) => void,
) => void;

const newman = createRequire(import.meta.url)('newman') as { run: NewmanRun };
const collection = fileURLToPath(new URL('../test/realworld/Conduit.postman_collection.json', import.meta.url));

function runCollection(apiUrl: string): Promise<NewmanStats> {
  const unique = `${Date.now()}${randomBytes(3).toString('hex')}`;
  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection,
        reporters: ['cli'],
        reporter: { cli: { noSummary: false } },
        globalVar: [
          { key: 'APIURL', value: apiUrl },
          { key: 'USERNAME', value: `u${unique}` },
          { key: 'EMAIL', value: `u${unique}@example.com` },
          // Meets the password policy: upper and lower case and a digit.
          { key: 'PASSWORD', value: 'Conduit-Pass-1' },
        ],
      },
      (error, summary) => (error ? reject(error) : resolve(summary.run.stats)),
    );
  });
}

const storage = await createTestStorage();
const port = await freePort();
const server = startNode('src/server.ts', [], {
  ...productionEnv(),
  DATA_DIR: storage.dataDir,
  PORT: String(port),
  LOG_LEVEL: 'warn',
  SHUTDOWN_DELAY_SECONDS: '0',
  ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl, MIGRATE_ON_START: 'true' } : {}),
});
let failed: boolean;
try {
  await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 20_000, server);
  const stats = await runCollection(`http://127.0.0.1:${port}/api`);
  failed = stats.assertions.failed > 0 || stats.requests.failed > 0 || stats.assertions.total === 0;
  console.log(
    `conformance (${dialectUnderTest}): ${stats.assertions.total - stats.assertions.failed}/${stats.assertions.total} assertions passed, ` +
      `${stats.requests.total} requests, ${stats.requests.failed} failed`,
  );
} finally {
  server.child.kill('SIGTERM');
  const code = await server.exited;
  if (code !== 0) {
    failed = true;
    console.error(`server exited with ${code}:\n${server.output()}`);
  }
  await storage.remove();
}
process.exitCode = failed ? 1 : 0;
