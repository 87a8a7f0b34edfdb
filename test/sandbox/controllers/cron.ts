/**
 * The five-field cron schedules CronJobs use (minute hour day-of-month
 * month day-of-week), with lists, ranges, steps, names and the @macros.
 * Times are evaluated in UTC, the controller's default time zone.
 */
export interface CronSchedule {
  /** The first time strictly after `after` that matches, or undefined within ~4 years. */
  next(after: Date): Date | undefined;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  min: number;
  max: number;
  names?: string[];
  nameBase?: number;
}
const FIELDS: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { min: 0, max: 7, names: DAYS, nameBase: 0 },
];
const LABELS = ['minute', 'hour', 'day of month', 'month', 'day of week'];

export function parseCron(expr: string): CronSchedule {
  let text = expr.trim();
  const tz = /^(CRON_)?TZ=\S+\s+/.exec(text);
  if (tz) text = text.slice(tz[0].length);
  text = MACROS[text.toLowerCase()] ?? text;
  const parts = text.split(/\s+/);
  if (parts.length !== 5) throw new Error(`invalid cron schedule "${expr}": expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const sets = parts.map((p, i) => parseField(p, FIELDS[i], LABELS[i], expr));
  if (sets[4].has(7)) sets[4].add(0);
  const domStar = parts[2] === '*' || parts[2] === '?';
  const dowStar = parts[4] === '*' || parts[4] === '?';
  const [minutes, hours, doms, months, dows] = sets;
  const dayMatches = (d: Date): boolean => {
    const dom = doms.has(d.getUTCDate());
    const dow = dows.has(d.getUTCDay());
    // Standard cron: when both day fields are restricted, either may match.
    if (!domStar && !dowStar) return dom || dow;
    return dom && dow;
  };
  return {
    next(after: Date): Date | undefined {
      const t = new Date(after.getTime());
      t.setUTCSeconds(0, 0);
      t.setUTCMinutes(t.getUTCMinutes() + 1);
      const limit = after.getTime() + 4 * 366 * 24 * 3600 * 1000;
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!dayMatches(t)) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!hours.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
          continue;
        }
        if (!minutes.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
          continue;
        }
        return t;
      }
      return undefined;
    },
  };
}

function parseField(text: string, f: Field, label: string, expr: string): Set<number> {
  const out = new Set<number>();
  const bad = (why: string): Error => new Error(`invalid cron schedule "${expr}": ${label} field "${text}": ${why}`);
  const value = (s: string): number => {
    const lower = s.toLowerCase();
    if (f.names) {
      const i = f.names.indexOf(lower);
      if (i >= 0) return i + (f.nameBase ?? 0);
    }
    if (!/^\d+$/.test(s)) throw bad(`"${s}" is not a number`);
    const n = Number(s);
    if (n < f.min || n > f.max) throw bad(`${n} is outside ${f.min}-${f.max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad(`step "${stepText}" must be a positive integer`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = f.min;
      hi = f.max === 7 ? 6 : f.max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      lo = value(a);
      hi = value(b);
      if (lo > hi) throw bad(`range ${lo}-${hi} is reversed`);
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}
