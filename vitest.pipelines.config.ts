import { defineConfig } from 'vitest/config';

const ci = process.env.CI === 'true';

/** Offline checks of the CI/CD pipelines (npm run test:pipelines): validators, policy, and the shared scripts. */
export default defineConfig({
  test: {
    include: ['test/pipelines/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ci ? ['default', 'junit'] : ['default'],
    outputFile: { junit: 'test-results/junit-pipelines.xml' },
  },
});
