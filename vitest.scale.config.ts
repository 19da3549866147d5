import { defineConfig } from 'vitest/config';

const postgres = process.env.TEST_DATABASE_URL !== undefined;
const ci = process.env.CI === 'true';

/**
 * The scale test (npm run test:scale): list query plans on a generated data set of tens of
 * thousands of articles, on SQLite, and on PostgreSQL under scripts/with-postgres.sh.
 */
export default defineConfig({
  test: {
    include: ['test/scale/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ci ? ['default', 'junit'] : ['default'],
    outputFile: { junit: `test-results/junit-scale-${postgres ? 'postgres' : 'sqlite'}.xml` },
  },
});
