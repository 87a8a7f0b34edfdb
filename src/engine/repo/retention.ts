import type { SnapshotSummary } from './snapshot';

/**
 * Which snapshots a retention policy keeps. Snapshots are grouped by
 * (cluster, scope) so a policy never lets one kind of capture push out
 * another; within a group, each rule keeps the newest snapshot of each of
 * its N most recent periods (UTC calendar periods, ISO weeks).
 */

export interface RetentionPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
}

export interface RetentionDecision {
  snapshot: SnapshotSummary;
  /** Why it is kept ("daily 2026-11-20"), or why it goes. */
  reasons: string[];
}

export interface RetentionResult {
  keep: RetentionDecision[];
  forget: RetentionDecision[];
}

type Rule = Exclude<keyof RetentionPolicy, never>;

const RULES: Array<{ rule: Rule; bucket: (d: Date) => string }> = [
  { rule: 'last', bucket: () => '' },
  { rule: 'hourly', bucket: (d) => d.toISOString().slice(0, 13).replace('T', ' ') + 'h' },
  { rule: 'daily', bucket: (d) => d.toISOString().slice(0, 10) },
  { rule: 'weekly', bucket: isoWeek },
  { rule: 'monthly', bucket: (d) => d.toISOString().slice(0, 7) },
  { rule: 'yearly', bucket: (d) => d.toISOString().slice(0, 4) },
];

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** Key-order independent JSON, so equal scopes group together however they were written. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function groupKey(s: Pick<SnapshotSummary, 'cluster' | 'scope'>): string {
  return `${s.cluster}\u0000${stableJson(s.scope ?? {})}`;
}

export function describePolicy(policy: RetentionPolicy): string {
  return RULES.filter(({ rule }) => (policy[rule] ?? 0) > 0)
    .map(({ rule }) => `keep-${rule} ${policy[rule]}`)
    .join(', ');
}

export function isEmptyPolicy(policy: RetentionPolicy): boolean {
  return RULES.every(({ rule }) => !policy[rule]);
}

export function applyRetention(snapshots: SnapshotSummary[], policy: RetentionPolicy): RetentionResult {
  for (const { rule } of RULES) {
    const n = policy[rule];
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) {
      throw new Error(`keep-${rule} must be a whole number ≥ 0, got ${n}`);
    }
  }
  if (isEmptyPolicy(policy)) {
    throw new Error('a retention policy needs at least one rule (keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly)');
  }
  const groups = new Map<string, SnapshotSummary[]>();
  for (const s of snapshots) {
    const k = groupKey(s);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(s);
  }
  const keep: RetentionDecision[] = [];
  const forget: RetentionDecision[] = [];
  for (const group of groups.values()) {
    const newestFirst = [...group].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : a.id < b.id ? 1 : -1));
    const reasons = new Map<string, string[]>(newestFirst.map((s) => [s.id, []]));
    for (const { rule, bucket } of RULES) {
      const limit = policy[rule] ?? 0;
      let kept = 0;
      let last: string | undefined;
      for (const s of newestFirst) {
        if (kept >= limit) break;
        const b = rule === 'last' ? s.id : bucket(new Date(s.time));
        if (b === last) continue;
        last = b;
        kept++;
        reasons.get(s.id)!.push(rule === 'last' ? `last ${kept}` : `${rule} ${b}`);
      }
    }
    for (const s of newestFirst) {
      const r = reasons.get(s.id)!;
      if (r.length > 0) keep.push({ snapshot: s, reasons: r });
      else forget.push({ snapshot: s, reasons: [`not kept by ${describePolicy(policy)}`] });
    }
  }
  const byTime = (a: RetentionDecision, b: RetentionDecision): number => (a.snapshot.time < b.snapshot.time ? -1 : a.snapshot.time > b.snapshot.time ? 1 : 0);
  return { keep: keep.sort(byTime), forget: forget.sort(byTime) };
}
