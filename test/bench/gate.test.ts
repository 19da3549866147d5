import { describe, expect, it } from 'vitest';
import { type Baseline, baselineFrom, judge, noiseOf, noiseTable, toleranceFor, verdictTable } from '../../bench/gate.ts';
import type { LoadSettings, Measurement } from '../../bench/measure.ts';

const LOAD: LoadSettings = { connections: 32, warmup: 1, slice: 2, slices: 3 };

function measurement(scenario: string, ratio: number, failures = 0, appRps = 3000): Measurement {
  return {
    scenario,
    ratio,
    responseBytes: 9400,
    app: { rps: appRps, p50_ms: 8, p90_ms: 12, p99_ms: 20, failures },
    bare: { rps: appRps / ratio, p50_ms: 1, p90_ms: 2, p99_ms: 4, failures: 0 },
  };
}

function baselineOf(scenarios: Record<string, { ratio: number; tolerance: number }>): Baseline {
  const base = baselineFrom([Object.keys(scenarios).map((name) => measurement(name, 1))], LOAD, new Date('2026-12-03T10:00:00Z'));
  return { ...base, scenarios: Object.fromEntries(Object.entries(scenarios).map(([name, figures]) => [name, { ...base.scenarios[name]!, ...figures }])) };
}

describe('the performance gate verdict', () => {
  const baseline = baselineOf({ 'list articles (anonymous)': { ratio: 0.3, tolerance: 0.1 }, feed: { ratio: 0.2, tolerance: 0.25 } });

  it('fails a ratio more than its tolerance below the baseline, and passes one within it', () => {
    const verdicts = judge(baseline, [measurement('list articles (anonymous)', 0.26), measurement('feed', 0.16)]);

    expect(verdicts.map((verdict) => [verdict.scenario, verdict.passed, verdict.reason])).toEqual([
      ['list articles (anonymous)', false, 'REGRESSION: more than 10 % below the baseline'],
      ['feed', true, 'within tolerance'],
    ]);
    expect(verdicts[0]!.change).toBeCloseTo(-0.1333, 4);
  });

  it('passes a ratio exactly at the allowed drop, and fails just below it', () => {
    expect(judge(baseline, [measurement('list articles (anonymous)', 0.27), measurement('feed', 0.15)]).map((verdict) => verdict.passed)).toEqual([true, true]);
    expect(judge(baseline, [measurement('list articles (anonymous)', 0.2699), measurement('feed', 0.1499)]).map((verdict) => verdict.passed)).toEqual([false, false]);
  });

  it('passes a faster run and says the baseline wants refreshing', () => {
    const [faster] = judge(baseline, [measurement('list articles (anonymous)', 0.45), measurement('feed', 0.2)]);

    expect(faster).toMatchObject({ passed: true, reason: 'faster than the baseline: refresh it' });
  });

  it('fails a scenario that was not measured, or whose responses failed however fast they came', () => {
    const verdicts = judge(baseline, [measurement('list articles (anonymous)', 0.9, 12)]);

    expect(verdicts.map((verdict) => [verdict.passed, verdict.reason])).toEqual([
      [false, '12 failed responses from the app'],
      [false, 'not measured'],
    ]);
  });

  it('prints baseline against now, one row per scenario', () => {
    const table = verdictTable(judge(baseline, [measurement('list articles (anonymous)', 0.26), measurement('feed', 0.21)]));

    expect(table.split('\n')).toEqual([
      'scenario                  | baseline |   now |  change | allowed drop | verdict',
      '--------------------------|----------|-------|---------|--------------|----------------------------------------------------',
      'list articles (anonymous) |    0.300 | 0.260 | -13.3 % |         10 % | FAIL: REGRESSION: more than 10 % below the baseline',
      'feed                      |    0.200 | 0.210 |  +5.0 % |         25 % | ok: within tolerance',
    ]);
  });
});

describe('the tolerance, chosen from measured noise', () => {
  it('is twice the largest drop below the median, rounded up to a percent', () => {
    const noise = noiseOf([0.3, 0.27, 0.31, 0.29, 0.3]);

    expect(noise.median).toBe(0.3);
    expect(noise.maxDrop).toBeCloseTo(0.1, 10);
    expect(noise.spread).toBeCloseTo(0.1333, 4);
    expect(toleranceFor(noise)).toBe(0.2);
  });

  it('is never below 10 %, however quiet the recording was', () => {
    expect(toleranceFor(noiseOf([0.3, 0.299, 0.301]))).toBe(0.1);
  });

  it('is recorded in the baseline with the median of the runs and each run\'s ratio', () => {
    const runs = [
      [measurement('feed', 0.2, 0, 1500), measurement('comments', 0.4)],
      [measurement('feed', 0.18, 0, 1400), measurement('comments', 0.41)],
      [measurement('feed', 0.21, 0, 1600), measurement('comments', 0.39)],
    ];

    const baseline = baselineFrom(runs, LOAD, new Date('2026-12-03T10:00:00Z'));

    expect(baseline.scenarios.feed).toMatchObject({ ratio: 0.2, tolerance: 0.2, rps: 1500, noise: { ratios: [0.2, 0.18, 0.21], maxDrop: 0.1 } });
    expect(baseline.scenarios.comments).toMatchObject({ ratio: 0.4, tolerance: 0.1 });
    expect(baseline.recorded).toMatchObject({ at: '2026-12-03T10:00:00.000Z', runs: 3, load: LOAD });
    expect(noiseTable(baseline).split('\n')[2]).toBe('feed     |  0.200 0.180 0.210 |  0.200 |   10.0 % | 15.0 % | 20 %');
  });

  it('refuses to record a baseline from a run with failed responses', () => {
    expect(() => baselineFrom([[measurement('feed', 0.2)], [measurement('feed', 0.2, 3)]], LOAD)).toThrow('feed: failed responses while recording the baseline');
  });
});
