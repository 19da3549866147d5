import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/wait.ts';
import { Cluster, type Replacement } from './cluster.ts';
import { acknowledgedWritesMissing, versionsBehind } from './checks.ts';
import { type LoadUser, signUpLoadUser, startLoad } from './load.ts';

const CURRENT = '1.0.0';
const NEXT = '1.1.0';
const WORKERS = 6;
/** Requests the load makes before the roll starts and after it ends, so both edges are covered. */
const REQUESTS_AROUND_THE_ROLL = 150;

let cluster: Cluster;
let users: LoadUser[];

beforeAll(async () => {
  cluster = await Cluster.start({
    replicas: 3,
    version: CURRENT,
    // The limits are per user and address and shared by the replicas: the load must stay under them.
    env: { RATE_LIMIT_MAX: '1000000', SHUTDOWN_DELAY_SECONDS: '2' },
  });
  users = await Promise.all(Array.from({ length: WORKERS }, () => signUpLoadUser(cluster.balancer.url)));
});
afterAll(() => cluster?.stop());

describe('a rolling replacement behind HAProxy', () => {
  it('replaces every replica with the next version under load: no failed request, no lost write', async () => {
    const load = startLoad(cluster.balancer.url, users);
    await eventually(() => load.requests(), (count) => count >= REQUESTS_AROUND_THE_ROLL, { timeoutMs: 30_000, what: 'load warming up' });

    const rollStartedAt = Date.now();
    const requestsBefore = load.requests();
    const replacements: Replacement[] = [];
    for (let index = 0; index < cluster.replicas.length; index += 1) replacements.push(await cluster.replace(index, NEXT));
    const rollEndedAt = Date.now();
    const rollMs = rollEndedAt - rollStartedAt;
    const requestsDuringRoll = load.requests() - requestsBefore;
    await eventually(() => load.requests(), (count) => count >= requestsBefore + requestsDuringRoll + REQUESTS_AROUND_THE_ROLL, { timeoutMs: 30_000, what: 'load after the roll' });
    const report = await load.stop();

    console.log([
      `rolling replacement of ${replacements.length} replicas ${CURRENT} -> ${NEXT} in ${rollMs} ms under load (${WORKERS} workers):`,
      `  requests: ${report.requests} in all, ${requestsDuringRoll} during the roll; failed: ${report.failures.length}`,
      `  latency: max ${report.maxLatencyMsBetween(rollStartedAt, rollEndedAt)} ms during the roll (${report.maxLatencyMs} ms in all), p99 ${report.p99LatencyMs} ms`,
      ...replacements.map((step) => `  ${step.replica}: drained and exited in ${step.drainMs} ms, next version in rotation after ${step.totalMs} ms`),
      `  acknowledged writes: ${report.acknowledgedArticles.length} articles, ${report.acknowledgedComments.length} comments`,
      `  per step: ${JSON.stringify(report.byStep)}`,
    ].join('\n'));

    expect(report.failures).toEqual([]);
    expect(requestsDuringRoll).toBeGreaterThan(100);
    expect(Object.keys(report.byStep)).toHaveLength(10);
    expect(await acknowledgedWritesMissing(cluster.databaseUrl, report)).toEqual({ articles: [], comments: [] });
    expect(await versionsBehind(cluster.balancer.url, 12)).toEqual(new Set([NEXT]));
    expect([...(await cluster.balancer.serverStates()).values()]).toEqual(['UP', 'UP', 'UP']);
  });
});
