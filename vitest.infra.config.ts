import { defineConfig } from 'vitest/config';

const ci = process.env.CI === 'true';

/** Offline checks of the infrastructure (npm run test:infra): Terraform, the platform, the Helm chart. */
export default defineConfig({
  test: {
    include: ['test/infra/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ci ? ['default', 'junit'] : ['default'],
    outputFile: { junit: 'test-results/junit-infra.xml' },
  },
});
