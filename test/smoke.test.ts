import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmokeFailure, smokeTest } from '../scripts/smoke.ts';
import { createListeningTestApp, type TestApp } from './helpers/app.ts';
import { runNode } from './helpers/process.ts';

describe('the smoke test (scripts/smoke.ts)', () => {
  let running: TestApp & { baseUrl: string };
  let baseUrl: string;

  beforeAll(async () => {
    running = await createListeningTestApp({ env: { GIT_SHA: 'abc123' } });
    baseUrl = running.baseUrl;
  });
  afterAll(() => running.close());

  it('passes against a running app, checking the version and the metrics', async () => {
    const log: string[] = [];

    const steps = await smokeTest(baseUrl, { expectSha: 'abc123', metrics: true, log: (line) => log.push(line) });

    expect(steps).toHaveLength(7);
    expect(log[0]).toBe('ok 1 - liveness: /healthz answers 200');
    expect(steps.at(-1)).toBe('metrics count the request');
  });

  it('writes nothing in read-only mode (production): every table keeps its rows', async () => {
    await smokeTest(baseUrl);
    const rowCounts = async () =>
      Promise.all(['users', 'articles', 'article_tags', 'tags'].map(async (table) => {
        const row = await running.app.db.selectFrom(table as 'users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
        return Number(row.n);
      }));
    const before = await rowCounts();

    const steps = await smokeTest(baseUrl, { expectSha: 'abc123', readOnly: true });

    expect(steps.slice(3)).toEqual([expect.stringMatching(/^listed articles \(\d+ in all\)$/), 'read the newest article', 'listed tags', 'rendered the home page']);
    expect(await rowCounts()).toEqual(before);
  });

  it('fails, naming the check, when the deployment runs another commit', async () => {
    await expect(smokeTest(baseUrl, { expectSha: 'def456' })).rejects.toThrow(new SmokeFailure('GET /version: expected gitSha def456, got abc123'));
  });

  it('fails when the server is not there', async () => {
    await expect(smokeTest('http://127.0.0.1:9', { timeoutMs: 2000 })).rejects.toThrow();
  });

  it('exits 1 from the command line on failure and 64 without a URL', async () => {
    const failed = await runNode('scripts/smoke.ts', [baseUrl, '--expect-sha', 'nope'], {});
    const usage = await runNode('scripts/smoke.ts', [], {});

    expect(failed.code).toBe(1);
    expect(failed.output).toContain('smoke test FAILED');
    expect(usage.code).toBe(64);
  });

  it('runs read-only from the app\'s own command line (what the image runs), with no database configured', async () => {
    const passed = await runNode('src/cli.ts', ['smoke', baseUrl, '--read-only', '--expect-sha', 'abc123'], {});
    const wrongCommit = await runNode('src/cli.ts', ['smoke', baseUrl, '--read-only', '--expect-sha', 'nope'], {});
    const usage = await runNode('src/cli.ts', ['smoke'], {});

    expect(passed.code, passed.output).toBe(0);
    expect(passed.output).toContain(`smoke test passed: 7 checks against ${baseUrl}`);
    expect(wrongCommit.code).toBe(1);
    expect(wrongCommit.output).toContain('GET /version: expected gitSha nope, got abc123');
    expect(usage.code).toBe(64);
  });
});
