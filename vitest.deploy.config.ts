import { defineConfig } from 'vitest/config';

const ci = process.env.CI === 'true';

/** Offline checks of what ships the app (npm run test:deploy): container files, manifests, pipelines. */
export default defineConfig({
  test: {
    include: ['test/deploy/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ci ? ['default', 'junit'] : ['default'],
    outputFile: { junit: 'test-results/junit-deploy.xml' },
  },
});
