/** Weekly bar charts for the dashboard, drawn on the server as SVG (the pages run no script). */

const DAY_MS = 24 * 60 * 60 * 1000;
const WEEK_MS = 7 * DAY_MS;

/** The chart's drawing box, in SVG user units; the CSS scales it to the page's width. */
const WIDTH = 480;
const HEIGHT = 160;
const AXIS_BOTTOM = 24;
const TOP = 16;

export interface WeekCount {
  /** Monday (UTC) that starts the week, as YYYY-MM-DD. */
  readonly weekOf: string;
  readonly label: string;
  readonly count: number;
}

export interface Bar {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly labelX: number;
  readonly valueY: number;
  readonly week: WeekCount;
}

export interface WeeklyChart {
  readonly weeks: readonly WeekCount[];
  readonly bars: readonly Bar[];
  readonly total: number;
  readonly busiest: WeekCount | undefined;
  readonly width: number;
  readonly height: number;
  readonly baseline: number;
}

/** Monday 00:00 UTC of the week holding `date`. */
export function startOfWeek(date: Date): Date {
  const midnight = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const daysSinceMonday = (new Date(midnight).getUTCDay() + 6) % 7;
  return new Date(midnight - daysSinceMonday * DAY_MS);
}

/** The first day of the `weeks` weeks that end with the week holding `now`. */
export function chartStart(now: Date, weeks: number): Date {
  return new Date(startOfWeek(now).getTime() - (weeks - 1) * WEEK_MS);
}

/** Counts `events` per week for the `weeks` weeks ending with the week holding `now`, oldest first. */
export function countByWeek(events: readonly Date[], now: Date, weeks: number): WeekCount[] {
  const first = chartStart(now, weeks).getTime();
  const counts = new Array<number>(weeks).fill(0);
  for (const event of events) {
    const index = Math.floor((event.getTime() - first) / WEEK_MS);
    if (index >= 0 && index < weeks) counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts.map((count, index) => {
    const start = new Date(first + index * WEEK_MS);
    return {
      weekOf: start.toISOString().slice(0, 10),
      label: start.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' }),
      count,
    };
  });
}

/** Lays the weeks out as bars: the tallest bar fills the box, an empty week keeps a 1-unit stub. */
export function weeklyChart(weeks: readonly WeekCount[]): WeeklyChart {
  const highest = Math.max(1, ...weeks.map((week) => week.count));
  const baseline = HEIGHT - AXIS_BOTTOM;
  const slot = WIDTH / Math.max(1, weeks.length);
  const bars = weeks.map((week, index) => {
    const height = Math.max(1, Math.round((week.count / highest) * (baseline - TOP)));
    const x = Math.round(index * slot + slot * 0.15);
    const width = Math.round(slot * 0.7);
    return { x, y: baseline - height, width, height, labelX: Math.round(x + width / 2), valueY: baseline - height - 4, week };
  });
  const total = weeks.reduce((sum, week) => sum + week.count, 0);
  const busiest = total === 0 ? undefined : weeks.reduce((best, week) => (week.count > best.count ? week : best));
  return { weeks, bars, total, busiest, width: WIDTH, height: HEIGHT, baseline };
}
