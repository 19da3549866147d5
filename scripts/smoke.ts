/**
 * The smoke test from a checkout (npm run smoke); the logic lives in src/ops/smoke.ts so the
 * app image runs it too (node dist/cli.js smoke, production's PostSync hook Job).
 * Usage: node scripts/smoke.ts <base-url> [--expect-sha <git sha>] [--metrics] [--read-only]
 */
import { runSmokeCommand } from '../src/ops/smoke.ts';

export { SmokeFailure, smokeTest, type SmokeOptions } from '../src/ops/smoke.ts';

if (import.meta.main) process.exitCode = await runSmokeCommand(process.argv.slice(2));
