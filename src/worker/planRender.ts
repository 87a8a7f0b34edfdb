import { PLAN_ACTIONS, type PlanAction, type PlanItem, type PlanVolume, type RestorePlan, type RestoreRecordEntry, type RestoreResult } from '../engine/restore/types';
import { formatBytes, formatDuration, formatTime, table } from './output';

/**
 * How the command line shows a restore plan and what a restore did: the
 * table a person reviews before confirming, the unified diffs, the lines of
 * the record and the verify summary. Pure functions of the plan: the plan
 * never holds Secret values, so nothing here can print one.
 */

/** ANSI colours, used only when the output is a terminal. */
const COLOUR = {
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  bold: '\x1b[1m',
  reset: '\x1b[0m',
} as const;

export interface RenderOptions {
  /** Colour the output (a terminal); plain text otherwise. */
  color?: boolean;
}

function paint(text: string, colour: keyof typeof COLOUR, options: RenderOptions): string {
  return options.color ? `${COLOUR[colour]}${text}${COLOUR.reset}` : text;
}

/** "Deployment shop/web", "Namespace shop": how an object is named everywhere in the output. */
export function objectLabel(o: { kind: string; namespace?: string; name: string }): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

function qualifiedName(o: { namespace?: string; name: string }): string {
  return o.namespace ? `${o.namespace}/${o.name}` : o.name;
}

/** The line naming the target: what a person must read before confirming. */
export function targetLine(plan: RestorePlan, options: RenderOptions = {}): string {
  const t = plan.target;
  const line = `target: context ${t.context} (cluster ${t.cluster}, ${t.server})`;
  return t.production ? `${line}  ${paint('*** PRODUCTION ***', 'red', options)}` : line;
}

/** "3 create, 1 update, 12 unchanged": the actions present, in PLAN_ACTIONS order; "nothing to restore" for an empty plan. */
export function countsLine(counts: Record<PlanAction, number>): string {
  const parts = PLAN_ACTIONS.filter((a) => (counts[a] ?? 0) > 0).map((a) => `${counts[a]} ${a}`);
  return parts.length ? parts.join(', ') : 'nothing to restore';
}

/** What the NOTE column says: the server's message first (why a conflict or an invalid object), then the profile's notes. */
function noteOf(item: PlanItem): string {
  const notes = [...(item.message ? [item.message] : []), ...(item.notes ?? [])];
  if (item.source && (item.source.namespace !== item.namespace || item.source.name !== item.name) && !notes.some((n) => n.includes('→'))) {
    notes.push(`from ${qualifiedName(item.source)}`);
  }
  return notes.join('; ');
}

const ACTION_COLOUR: Record<PlanAction, keyof typeof COLOUR | undefined> = {
  create: 'green',
  update: 'yellow',
  unchanged: undefined,
  conflict: 'red',
  forbidden: 'red',
  invalid: 'red',
};

function volumeRow(v: PlanVolume): string[] {
  const moved = v.source.namespace !== v.namespace || v.source.pvc !== v.pvc ? `from ${v.source.namespace}/${v.source.pvc}` : '';
  const size = `${v.files} file(s), ${formatBytes(v.bytes)}`;
  return [v.action, `${v.namespace}/${v.pvc}`, size, [moved, v.storageClass ? `class ${v.storageClass}` : '', v.message ?? ''].filter(Boolean).join('; ')];
}

/**
 * The plan as a person reviews it: the target (marked when production), the
 * snapshot and profile, counts per action, one row per object in restore
 * order, the volumes with their sizes, and the warnings.
 */
export function renderPlanTable(plan: RestorePlan, options: RenderOptions = {}): string {
  const lines: string[] = [];
  lines.push(targetLine(plan, options));
  lines.push(`snapshot: ${plan.snapshot.id.slice(0, 12)} of ${plan.snapshot.cluster} taken ${formatTime(plan.snapshot.time)}`);
  lines.push(`profile: ${plan.profile}, existing objects: ${plan.policy}`);
  lines.push(`objects: ${countsLine(plan.counts)} (planned in ${formatDuration(plan.durationMs)})`);
  if (plan.items.length > 0) {
    lines.push('');
    const rows = plan.items.map((i) => [i.action, i.kind, qualifiedName(i), noteOf(i)]);
    const rendered = table(['ACTION', 'KIND', 'NAMESPACE/NAME', 'NOTE'], rows).split('\n');
    lines.push(rendered[0]);
    plan.items.forEach((item, n) => {
      const colour = ACTION_COLOUR[item.action];
      lines.push(colour ? paint(rendered[n + 1], colour, options) : rendered[n + 1]);
    });
  }
  if (plan.volumes.length > 0) {
    const bytes = plan.volumes.filter((v) => v.action === 'write').reduce((n, v) => n + v.bytes, 0);
    lines.push('');
    lines.push(`volumes: ${plan.volumes.length}, ${formatBytes(bytes)} to write`);
    lines.push(...table(['ACTION', 'PVC', 'DATA', 'NOTE'], plan.volumes.map(volumeRow)).split('\n').map((l) => `  ${l}`));
  }
  if (plan.warnings.length > 0) {
    lines.push('');
    lines.push(`warnings (${plan.warnings.length}):`);
    for (const w of plan.warnings) lines.push(`  ${paint('warning:', 'yellow', options)} ${w}`);
  }
  return lines.join('\n');
}

function colourDiffLine(line: string, options: RenderOptions): string {
  if (!options.color) return line;
  if (line.startsWith('+++') || line.startsWith('---')) return paint(line, 'bold', options);
  if (line.startsWith('+')) return paint(line, 'green', options);
  if (line.startsWith('-')) return paint(line, 'red', options);
  if (line.startsWith('@@')) return paint(line, 'cyan', options);
  return line;
}

/**
 * The unified diff of every item that would change, each under a header
 * naming the object and its action; items the server refused show their
 * message. Unchanged items are left out.
 */
export function renderPlanDiff(plan: RestorePlan, options: RenderOptions = {}): string {
  const parts: string[] = [targetLine(plan, options)];
  let shown = 0;
  for (const item of plan.items) {
    if (item.action === 'unchanged' && !item.diff) continue;
    if (!item.diff && !item.message) continue;
    shown++;
    parts.push('');
    parts.push(paint(`=== ${item.action} ${objectLabel(item)}`, 'bold', options));
    if (item.message) parts.push(`# ${item.message}`);
    if (item.diff) parts.push(...item.diff.replace(/\n$/, '').split('\n').map((l) => colourDiffLine(l, options)));
  }
  if (shown === 0) parts.push('', 'no differences: every object is as the restore would leave it');
  return parts.join('\n');
}

/** One line of the record of a restore, as it is written. */
export function renderRecordEntry(e: RestoreRecordEntry): string {
  const data = e.outcome === 'data-written' ? ` (${e.files ?? 0} file(s), ${formatBytes(e.bytes ?? 0)})` : '';
  const message = e.message ? `: ${e.message}` : '';
  return `${e.outcome.padEnd(12)} ${objectLabel(e)}${data}${message}`;
}

/**
 * After a restore: what was done (counts per outcome, every failure), and
 * what the verify plan found, naming each object still not as restored.
 */
export function renderRestoreSummary(result: RestoreResult, options: RenderOptions = {}): string {
  const lines: string[] = [];
  const outcomes = new Map<string, number>();
  for (const e of result.record) outcomes.set(e.outcome, (outcomes.get(e.outcome) ?? 0) + 1);
  lines.push(`done: ${[...outcomes].map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing written'}`);
  for (const e of result.record.filter((x) => x.outcome === 'failed')) lines.push(`  ${paint('failed', 'red', options)} ${objectLabel(e)}${e.message ? `: ${e.message}` : ''}`);
  lines.push(`verify: ${countsLine(result.verify.counts)}`);
  const left = result.verify.items.filter((i) => i.action !== 'unchanged');
  for (const i of left) lines.push(`  ${i.action} ${objectLabel(i)}${i.message ? `: ${i.message}` : ''}`);
  const volumesLeft = result.verify.volumes.filter((v) => v.action === 'write');
  for (const v of volumesLeft) lines.push(`  volume ${v.namespace}/${v.pvc}: data not written`);
  for (const w of result.warnings) lines.push(`${paint('warning:', 'yellow', options)} ${w}`);
  lines.push(
    result.complete
      ? paint(`restore into ${result.plan.target.context} complete`, 'green', options)
      : paint(`restore into ${result.plan.target.context} NOT complete: see above; running the same restore again continues it`, 'red', options),
  );
  return lines.join('\n');
}
