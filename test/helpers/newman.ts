import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NewmanStats {
  requests: { total: number; failed: number };
  assertions: { total: number; failed: number };
}
type NewmanRun = (
  options: Record<string, unknown>,
  callback: (error: Error | null, summary: { run: { stats: NewmanStats } }) => void,
) => void;

const newman = createRequire(import.meta.url)('newman') as { run: NewmanRun };
const collection = fileURLToPath(new URL('../realworld/Conduit.postman_collection.json', import.meta.url));

/**
 * Runs the official RealWorld Postman collection against `apiUrl` (ending in /api) with a fresh
 * user, and resolves to newman's counts. `quiet` drops the per-request report.
 */
export function runConduitCollection(apiUrl: string, options: { quiet?: boolean } = {}): Promise<NewmanStats> {
  const unique = `${Date.now()}${randomBytes(3).toString('hex')}`;
  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection,
        reporters: options.quiet ? [] : ['cli'],
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

/** True when a run had no failure and actually asserted something. */
export function collectionPassed(stats: NewmanStats): boolean {
  return stats.assertions.failed === 0 && stats.requests.failed === 0 && stats.assertions.total > 0;
}
