import { describe, expect, it } from 'vitest';
import { type Baseline, baselineFrom, type Gauge, judge, noiseOf, noiseTable, toleranceFor, verdictTable } from '../../bench/gate.ts';
import type { LoadSettings, Measurement } from '../../bench/measure.ts';

const LOAD: LoadSettings = { connections: 32, warmup: 1, slice: 1.5, slices: 5 };

function measurement(scenario: string, ratio: number, cpuRatio: number | undefined, failures = 0, appRps = 3000): Measurement {
  return {
    scenario,
    ratio,
    ...(cpuRatio === undefined ? {} : { cpuRatio }),
    responseBytes: 9400,
    app: { rps: appRps, p50_ms: 8, p90_ms: 12, p99_ms: 20, failures },
    bare: { rps: appRps / ratio, p50_ms: 1, p90_ms: 2, p99_ms: 4, failures: 0 },
  };
}

function gauge(ratio: number, tolerance: number): Gauge {
  return { ratio, tolerance, noise: noiseOf([ratio]) };
}

/** A baseline with the given rps and CPU ratios and tolerances. */
function baselineOf(scenarios: Record<string, { throughput: Gauge; cpu: Gauge }>): Baseline {
  const base = baselineFrom([Object.keys(scenarios).map((name) => measurement(name, 1, 1))], LOAD, new Date('2026-12-03T10:00:00Z'));
  return { ...base, scenarios: Object.fromEntries(Object.entries(scenarios).map(([name, gauges]) => [name, { ...base.scenarios[name]!, ...gauges }])) };
}

describe('the performance gate verdict', () => {
  const baseline = baselineOf({
    'list articles (anonymous)': { throughput: gauge(0.3, 0.4), cpu: gauge(0.2, 0.1) },
    feed: { throughput: gauge(0.2, 0.5), cpu: gauge(0.15, 0.2) },
  });

  it('fails a CPU ratio more than its tolerance below the baseline, and passes one within it', () => {
    const verdicts = judge(baseline, [measurement('list articles (anonymous)', 0.3, 0.17), measurement('feed', 0.2, 0.13)]);

    expect(verdicts.map((verdict) => [verdict.scenario, verdict.passed, verdict.reason])).toEqual([
      ['list articles (anonymous)', false, 'REGRESSION: CPU ratio more than 10 % below the baseline'],
      ['feed', true, 'within tolerance'],
    ]);
    expect(verdicts[0]!.checks[1]!.change).toBeCloseTo(-0.15, 10);
  });

  it('fails an rps ratio more than its own, wider, tolerance below the baseline', () => {
    const [verdict] = judge(baseline, [measurement('list articles (anonymous)', 0.17, 0.2), measurement('feed', 0.2, 0.15)]);

    expect(verdict).toMatchObject({ passed: false, reason: 'REGRESSION: rps ratio more than 40 % below the baseline' });
  });

  it('passes ratios exactly at the allowed drop, and fails just below it', () => {
    expect(judge(baseline, [measurement('list articles (anonymous)', 0.18, 0.18), measurement('feed', 0.1, 0.12)]).map((verdict) => verdict.passed)).toEqual([true, true]);
    expect(judge(baseline, [measurement('list articles (anonymous)', 0.18, 0.1799), measurement('feed', 0.0999, 0.12)]).map((verdict) => verdict.passed)).toEqual([false, false]);
  });

  it('passes a faster run and says the baseline wants refreshing when both ratios rose beyond their tolerance', () => {
    const [faster, rpsJumpOnly] = judge(baseline, [measurement('list articles (anonymous)', 0.43, 0.23), measurement('feed', 0.31, 0.15)]);

    expect(faster).toMatchObject({ passed: true, reason: 'faster than the baseline: refresh it' });
    expect(rpsJumpOnly).toMatchObject({ passed: true, reason: 'within tolerance' });
  });

  it('fails a scenario not measured, one without a CPU figure, or one whose responses failed however fast they came', () => {
    const verdicts = judge(baseline, [measurement('list articles (anonymous)', 0.9, 0.9, 12)]);
    const [withoutCpu] = judge(baseline, [measurement('list articles (anonymous)', 0.3, undefined)]);

    expect(verdicts.map((verdict) => [verdict.passed, verdict.reason])).toEqual([
      [false, '12 failed responses from the app'],
      [false, 'not measured'],
    ]);
    expect(withoutCpu).toMatchObject({ passed: false, reason: 'no CPU ratio measured (the CPU ratio needs Linux /proc)' });
  });

  it('prints baseline against now, one row per scenario', () => {
    const table = verdictTable(judge(baseline, [measurement('list articles (anonymous)', 0.26, 0.17), measurement('feed', 0.21, 0.15)]));

    expect(table.split('\n')).toEqual([
      'scenario                  | rps ratio |   now |  change | allowed | CPU ratio |   now |  change | allowed | verdict',
      '--------------------------|-----------|-------|---------|---------|-----------|-------|---------|---------|--------------------------------------------------------------',
      'list articles (anonymous) |     0.300 | 0.260 | -13.3 % |    40 % |     0.200 | 0.170 | -15.0 % |    10 % | FAIL: REGRESSION: CPU ratio more than 10 % below the baseline',
      'feed                      |     0.200 | 0.210 |  +5.0 % |    50 % |     0.150 | 0.150 |  +0.0 % |    20 % | ok: within tolerance',
    ]);
  });
});

describe('the tolerance, chosen from measured noise', () => {
  it('is twice the largest drop below the median, rounded up to a percent, above a floor per ratio', () => {
    const noise = noiseOf([0.3, 0.27, 0.31, 0.29, 0.3]);

    expect(noise.median).toBe(0.3);
    expect(noise.maxDrop).toBeCloseTo(0.1, 10);
    expect(noise.spread).toBeCloseTo(0.1333, 4);
    expect(toleranceFor(noise, 'cpu')).toBe(0.2);
    expect(toleranceFor(noiseOf([0.3, 0.21, 0.31]), 'throughput')).toBe(0.6);
  });

  it('is never below 15 % for the CPU ratio and 30 % for the rps ratio, however quiet the recording was', () => {
    expect(toleranceFor(noiseOf([0.3, 0.299, 0.301]), 'cpu')).toBe(0.15);
    expect(toleranceFor(noiseOf([0.3, 0.27, 0.31]), 'throughput')).toBe(0.3);
  });

  it('is recorded in the baseline per ratio, with the median of the runs and each run\'s ratio', () => {
    const runs = [
      [measurement('feed', 0.2, 0.1, 0, 1500), measurement('comments', 0.4, 0.3)],
      [measurement('feed', 0.18, 0.11, 0, 1400), measurement('comments', 0.41, 0.3)],
      [measurement('feed', 0.21, 0.1, 0, 1600), measurement('comments', 0.39, 0.3)],
    ];

    const baseline = baselineFrom(runs, LOAD, new Date('2026-12-03T10:00:00Z'));

    expect(baseline.scenarios.feed).toMatchObject({ rps: 1500, throughput: { ratio: 0.2, tolerance: 0.3, noise: { ratios: [0.2, 0.18, 0.21], maxDrop: 0.1 } }, cpu: { ratio: 0.1, tolerance: 0.15 } });
    expect(baseline.scenarios.comments).toMatchObject({ throughput: { ratio: 0.4, tolerance: 0.3 }, cpu: { ratio: 0.3, tolerance: 0.15 } });
    expect(baseline.recorded).toMatchObject({ at: '2026-12-03T10:00:00.000Z', runs: 3, load: LOAD });
    expect(noiseTable(baseline).split('\n').slice(2, 4)).toEqual([
      'feed     | rps ratio |  0.200 0.180 0.210 |  0.200 |   10.0 % | 15.0 % | 30 %',
      'feed     | CPU ratio |  0.100 0.110 0.100 |  0.100 |    0.0 % | 10.0 % | 15 %',
    ]);
  });

  it('records no CPU ratio when a run had none (no /proc), and refuses runs with failed responses', () => {
    expect(baselineFrom([[measurement('feed', 0.2, undefined)], [measurement('feed', 0.2, 0.1)]], LOAD).scenarios.feed?.cpu).toBeUndefined();
    expect(() => baselineFrom([[measurement('feed', 0.2, 0.1)], [measurement('feed', 0.2, 0.1, 3)]], LOAD)).toThrow('feed: failed responses while recording the baseline');
  });
});
