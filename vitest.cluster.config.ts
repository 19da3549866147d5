import { defineConfig } from 'vitest/config';

const ci = process.env.CI === 'true';

/**
 * The local cluster (npm run test:cluster): HAProxy in front of three replicas of the built
 * app on one PostgreSQL. One file at a time: each runs a load that wants the whole machine.
 */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ci ? ['default', 'junit'] : ['default'],
    outputFile: { junit: 'test-results/junit-cluster.xml' },
  },
});
