/**
 * Waits for a deployment to roll out: polls <url>/readyz and <url>/version until the app is
 * ready and reports the expected commit, or gives up after the timeout. A promotion is a Git
 * commit; Argo CD syncs it, then Kubernetes replaces the pods, so the old version keeps
 * answering for a while and that is not a failure yet.
 *
 * Usage: node scripts/ci/wait-for-version.ts <base-url> [expected git sha] [timeout seconds]
 * Exits 0 once ready at that commit, 1 on timeout, 64 on bad arguments.
 */
export interface Observation {
  ready: boolean;
  gitSha: string | undefined;
  detail: string;
}

const POLL_INTERVAL_MS = 5_000;
const REQUEST_TIMEOUT_MS = 5_000;

/** One look at the deployment; never throws, since "not there yet" is expected. */
export async function observe(baseUrl: string): Promise<Observation> {
  try {
    const ready = await fetch(new URL('/readyz', baseUrl), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const version = await fetch(new URL('/version', baseUrl), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = (await version.json().catch(() => ({}))) as { gitSha?: unknown };
    const gitSha = typeof body.gitSha === 'string' ? body.gitSha : undefined;
    return { ready: ready.status === 200, gitSha, detail: `readyz ${ready.status}, version ${gitSha ?? 'unknown'}` };
  } catch (error) {
    return { ready: false, gitSha: undefined, detail: error instanceof Error ? error.message : String(error) };
  }
}

export interface WaitOptions {
  expectSha?: string;
  timeoutMs: number;
  intervalMs?: number;
  log?: (line: string) => void;
}

/** Resolves true once ready at the expected commit, false when the time is up. */
export async function waitForVersion(baseUrl: string, options: WaitOptions): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const seen = await observe(baseUrl);
    if (seen.ready && (options.expectSha === undefined || seen.gitSha === options.expectSha)) {
      options.log?.(`${baseUrl} is ready at ${seen.gitSha ?? 'unknown'}`);
      return true;
    }
    // Log changes only: a long rollout should not print the same line a hundred times.
    if (seen.detail !== last) options.log?.(`waiting for ${baseUrl}: ${seen.detail}`);
    last = seen.detail;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs ?? POLL_INTERVAL_MS, Math.max(0, deadline - Date.now()))));
  }
}

async function main(): Promise<void> {
  const [baseUrl, sha, seconds = '600'] = process.argv.slice(2);
  if (baseUrl === undefined || !/^\d+$/.test(seconds)) {
    console.error('usage: node scripts/ci/wait-for-version.ts <base-url> [expected git sha] [timeout seconds]');
    process.exit(64);
  }
  const expectSha = sha === undefined || sha === '' ? undefined : sha;
  const ok = await waitForVersion(baseUrl, { expectSha, timeoutMs: Number(seconds) * 1000, log: (line) => console.log(line) });
  if (!ok) {
    console.error(`${baseUrl} was not ready${expectSha ? ` at ${expectSha}` : ''} within ${seconds} s`);
    process.exitCode = 1;
  }
}

if (import.meta.main) await main();
