/**
 * Runs the official RealWorld Postman collection (test/realworld/) with newman against a
 * freshly started server process on a fresh database: SQLite by default, PostgreSQL when
 * TEST_DATABASE_URL is set (scripts/with-postgres.sh). Exits non-zero on any failed assertion.
 */
import { createTestStorage, dialectUnderTest } from '../test/helpers/app.ts';
import { collectionPassed, runConduitCollection } from '../test/helpers/newman.ts';
import { freePort, productionEnv, startNode, waitFor } from '../test/helpers/process.ts';

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
  const stats = await runConduitCollection(`http://127.0.0.1:${port}/api`);
  failed = !collectionPassed(stats);
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
