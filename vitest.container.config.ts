import { defineConfig } from 'vitest/config';

const ci = process.env.CI === 'true';

/**
 * The container suite (npm run test:container): the built image run with podman, on SQLite and
 * on the PostgreSQL cluster of scripts/with-postgres.sh.
 */
export default defineConfig({
  test: {
    include: ['test/container/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ci ? ['default', 'junit'] : ['default'],
    outputFile: { junit: 'test-results/junit-container.xml' },
  },
});
