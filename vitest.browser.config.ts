import { defineConfig } from 'vitest/config';

const postgres = process.env.TEST_DATABASE_URL !== undefined;
const ci = process.env.CI === 'true';

/** The real-browser suite (npm run test:browser): Debian's chromium driven by playwright-core. */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    // One browser at a time: the suite is about behaviour, not speed, on a 2-core machine.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 90_000,
    reporters: ci ? ['default', 'junit'] : ['default'],
    outputFile: { junit: `test-results/junit-browser-${postgres ? 'postgres' : 'sqlite'}.xml` },
  },
});
