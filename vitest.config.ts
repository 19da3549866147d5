import { defineConfig } from 'vitest/config';

const postgres = process.env.TEST_DATABASE_URL !== undefined;
const ci = process.env.CI === 'true';

/**
 * One suite, two databases: by default every test runs on a temporary SQLite file; with
 * TEST_DATABASE_URL (scripts/with-postgres.sh) the same tests run on PostgreSQL, plus the
 * PostgreSQL-only ones in test/postgres/.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    exclude: ['test/browser/**', 'test/cluster/**', 'test/container/**', 'test/deploy/**', 'test/pipelines/**', 'test/infra/**', 'test/scale/**', ...(postgres ? ['test/sqlite/**'] : ['test/postgres/**'])],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ci ? ['default', 'junit'] : ['default'],
    outputFile: { junit: `test-results/junit-${postgres ? 'postgres' : 'sqlite'}.xml` },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      // Process entry points; test/process.test.ts runs them as real processes. The SQLite reader
      // thread runs where V8 coverage does not follow (test/sqlite/database.test.ts exercises it),
      // and on PostgreSQL the SQLite readers never start. Each run measures the backup module of
      // its own database; the other one is measured by the other run.
      exclude: [
        'src/server.ts',
        'src/serve.ts',
        'src/heap-settings.ts',
        'src/cli.ts',
        'src/**/*.test.ts',
        'src/db/sqlite-reader-worker.ts',
        ...(postgres ? ['src/db/sqlite-readers.ts', 'src/ops/sqlite-backup.ts'] : ['src/ops/postgres-backup.ts']),
      ],
      reportsDirectory: postgres ? 'coverage/postgres' : 'coverage',
      reporter: ['text-summary', 'text', 'lcov', 'cobertura', 'json-summary'],
      thresholds: { lines: 90, branches: 80, functions: 90, statements: 90 },
    },
  },
});
