import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BareServer, recordResponse, startBareServer } from '../../bench/bare-http.ts';
import { cpuSecondsOf, measureAgainstBare } from '../../bench/measure.ts';
import { scenarioNamed } from '../../bench/scenarios.ts';
import { createListeningTestApp, type TestApp } from '../helpers/app.ts';

describe('bare node:http serving the app\'s own response', () => {
  let running: TestApp & { baseUrl: string };
  let workDir: string;
  const bareServers: BareServer[] = [];

  beforeAll(async () => {
    running = await createListeningTestApp({ env: { RATE_LIMIT_MAX: '1000000' } });
    workDir = mkdtempSync(join(tmpdir(), 'shipshape-bare-test-'));
  });
  afterAll(async () => {
    await Promise.all(bareServers.map((server) => server.stop()));
    await running.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  async function bareFor(recorded: Parameters<typeof startBareServer>[0]): Promise<BareServer> {
    const server = await startBareServer(recorded, workDir);
    bareServers.push(server);
    return server;
  }

  it('answers with the same status, body bytes and headers as the app did', async () => {
    const fromApp = await fetch(`${running.baseUrl}/api/tags`);
    const appBody = await fromApp.text();

    const recorded = await recordResponse(running.baseUrl, { method: 'GET', path: '/api/tags' });
    const bare = await bareFor(recorded);
    const fromBare = await fetch(`${bare.url}/anything/at/all`, { method: 'POST', body: '{"ignored":true}' });

    expect(fromBare.status).toBe(200);
    expect(await fromBare.text()).toBe(appBody);
    expect(appBody).toBe('{"tags":[]}');
    for (const name of ['content-type', 'content-length', 'x-content-type-options', 'cache-control']) expect(fromBare.headers.get(name), name).toBe(fromApp.headers.get(name));
    expect(Object.keys(recorded.headers)).not.toContain('date');
  });

  it('records the request setupRequest builds, as autocannon would send it first', async () => {
    const recorded = await recordResponse(running.baseUrl, { method: 'GET', setupRequest: (request) => ({ ...request, path: '/api/articles/no-such-article' }) });
    const bare = await bareFor(recorded);
    const fromBare = await fetch(bare.url);

    expect(recorded.status).toBe(404);
    expect(fromBare.status).toBe(404);
    expect(await fromBare.json()).toEqual({ errors: { article: ['not found'] } });
  });

  it('measures a scenario on both, and gives the ratio of their throughputs', async () => {
    const measured = await measureAgainstBare({ url: running.baseUrl, pid: process.pid }, scenarioNamed('list articles (anonymous)'), { users: [], slugs: [] }, { connections: 2, warmup: 0, slice: 1, slices: 1 });

    expect(measured.app.failures).toBe(0);
    expect(measured.bare.failures).toBe(0);
    expect(measured.app.rps).toBeGreaterThan(0);
    expect(measured.ratio).toBeCloseTo(measured.app.rps / measured.bare.rps, 2);
    expect(measured.responseBytes).toBe('{"articles":[],"articlesCount":0}'.length);
    // The app runs in this process here, so its CPU time includes the load generator's.
    expect(measured.app.cpu_us_per_request).toBeGreaterThan(0);
    expect(measured.bare.cpu_us_per_request).toBeGreaterThan(0);
    expect(measured.cpuRatio).toBeCloseTo(measured.bare.cpu_us_per_request! / measured.app.cpu_us_per_request!, 2);
  });

  it('reads a process\'s CPU time from /proc, and nothing for a process that is gone', () => {
    const before = cpuSecondsOf(process.pid)!;
    const runtimeBefore = process.cpuUsage();
    const runtimeSpent = () => {
      const { user, system } = process.cpuUsage(runtimeBefore);
      return (user + system) / 1e6;
    };
    while (runtimeSpent() < 0.2) Math.sqrt(Math.random());

    // /proc counts in 10 ms ticks and every thread; Node's own count is the reference.
    expect(cpuSecondsOf(process.pid)! - before).toBeGreaterThanOrEqual(runtimeSpent() - 0.03);
    expect(cpuSecondsOf(2 ** 22 + 1)).toBeUndefined();
  });
});
