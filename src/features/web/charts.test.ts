import { describe, expect, it } from 'vitest';
import { chartStart, countByWeek, startOfWeek, weeklyChart } from './charts.ts';

// Thursday 3 December 2026, mid-morning UTC.
const NOW = new Date('2026-12-03T08:15:00Z');

describe('weekly charts', () => {
  it('starts weeks on Monday, UTC', () => {
    expect(startOfWeek(NOW).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(startOfWeek(new Date('2026-11-30T00:00:00Z')).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(startOfWeek(new Date('2026-12-06T23:59:59Z')).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(chartStart(NOW, 3).toISOString()).toBe('2026-11-16T00:00:00.000Z');
  });

  it('counts events into their weeks, oldest first, ignoring events outside the range', () => {
    const events = ['2026-11-15T23:59:59Z', '2026-11-16T00:00:00Z', '2026-11-29T12:00:00Z', '2026-12-01T09:00:00Z', '2026-12-03T08:00:00Z'].map((text) => new Date(text));
    expect(countByWeek(events, NOW, 3)).toEqual([
      { weekOf: '2026-11-16', label: '16 Nov', count: 1 },
      { weekOf: '2026-11-23', label: '23 Nov', count: 1 },
      { weekOf: '2026-11-30', label: '30 Nov', count: 2 },
    ]);
  });

  it('scales the tallest bar to the box, keeps a stub for empty weeks, and names the busiest week', () => {
    const chart = weeklyChart([
      { weekOf: '2026-11-16', label: '16 Nov', count: 0 },
      { weekOf: '2026-11-23', label: '23 Nov', count: 4 },
      { weekOf: '2026-11-30', label: '30 Nov', count: 2 },
    ]);
    const [empty, tallest, half] = chart.bars;
    expect(tallest!.y + tallest!.height).toBe(chart.baseline);
    expect(half!.height).toBe(Math.round(tallest!.height / 2));
    expect(empty!.height).toBe(1);
    expect(chart.total).toBe(6);
    expect(chart.busiest?.label).toBe('23 Nov');
    expect(weeklyChart([{ weekOf: '2026-11-30', label: '30 Nov', count: 0 }]).busiest).toBeUndefined();
  });
});
