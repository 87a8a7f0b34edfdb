/**
 * What a restore would change in one object, as a unified diff of YAML.
 * Both sides are normalised first — status and the metadata the server
 * owns (uid, resourceVersion, managedFields, ...) say nothing about what a
 * restore writes and differ on every object — and printed with a stable key
 * order, so two equal objects print the same text whatever order the server
 * returned their fields in.
 */
import { stringify } from 'yaml';
import type { KObject } from '../kube/types';

/** metadata fields the API server sets and a restore never writes. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'managedFields', 'creationTimestamp', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/** Annotations controllers write on the objects they manage: they differ between clusters and no restore sets them. */
const SERVER_ANNOTATIONS = [
  'deployment.kubernetes.io/revision',
  'deprecated.daemonset.template.generation',
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'pv.kubernetes.io/provisioned-by',
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/selected-node',
  'endpoints.kubernetes.io/last-change-trigger-time',
  'control-plane.alpha.kubernetes.io/leader',
];

/**
 * A copy of the object without status and server-managed metadata, and
 * without empty label and annotation maps (absent and empty mean the same).
 */
export function normaliseForDiff(obj: KObject): KObject {
  const copy: KObject = { ...obj, metadata: { ...obj.metadata } };
  delete copy.status;
  for (const f of SERVER_METADATA) delete copy.metadata[f];
  if (copy.metadata.annotations) {
    const annotations = { ...copy.metadata.annotations };
    for (const a of SERVER_ANNOTATIONS) delete annotations[a];
    copy.metadata.annotations = annotations;
    if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  }
  if (copy.metadata.labels && Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  return copy;
}

/** Keys printed first, in this order, where they appear; the rest follow sorted. */
const LEADING_KEYS = ['apiVersion', 'kind', 'metadata', 'name', 'namespace', 'spec'];

function keyRank(k: string): number {
  const i = LEADING_KEYS.indexOf(k);
  return i < 0 ? LEADING_KEYS.length : i;
}

/** A deep copy whose object keys are in a stable order: apiVersion, kind, metadata, name, namespace, spec, then the rest by name. */
export function stableOrder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stableOrder);
  if (!value || typeof value !== 'object') return value;
  const keys = Object.keys(value).sort((a, b) => keyRank(a) - keyRank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = stableOrder(v);
  }
  return out;
}

/** The object as YAML with stable key order (not normalised: call normaliseForDiff first when that is wanted). */
export function toYaml(obj: unknown): string {
  return stringify(stableOrder(obj), { lineWidth: 0 });
}

/** Whether two objects are the same once normalised. */
export function sameObject(a: KObject, b: KObject): boolean {
  return toYaml(normaliseForDiff(a)) === toYaml(normaliseForDiff(b));
}

/** One line of an edit script: kept, removed from the old side, or added from the new. */
export interface DiffLine {
  op: ' ' | '-' | '+';
  text: string;
}

/**
 * Beyond this many differing lines the search stops and the rest of the
 * differing middle is shown as replaced: the search keeps one frontier per
 * step, so two unrelated documents of thousands of lines would otherwise
 * cost quadratic memory.
 */
const MAX_EDIT_DISTANCE = 2000;

/**
 * The shortest edit script between two line lists (Myers' O(ND) algorithm),
 * as kept, removed and added lines in order. The common head and tail are
 * taken out first, so the search only sees the lines that differ.
 */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const out: DiffLine[] = a.slice(0, head).map((text) => ({ op: ' ', text }));
  out.push(...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail)));
  out.push(...a.slice(a.length - tail).map((text): DiffLine => ({ op: ' ', text })));
  return out;
}

/** The edit script of the differing middle: Myers' search, or all removed then all added when it is too far apart. */
function middle(a: string[], b: string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const replaced = (): DiffLine[] => [...a.map((text): DiffLine => ({ op: '-', text })), ...b.map((text): DiffLine => ({ op: '+', text }))];
  if (n === 0 || m === 0) return replaced();
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d]: the frontier before step d, diagonals -d..d (indexed k + d), kept to walk back.
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[k - 1 + offset] < v[k + 1 + offset]) ? v[k + 1 + offset] : v[k - 1 + offset] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[k + offset] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  if (!found) return replaced();
  const out: DiffLine[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const vd = trace[d];
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[k - 1 + d] < vd[k + 1 + d]) ? k + 1 : k - 1;
    const prevX = vd[prevK + d];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      out.push({ op: ' ', text: a[--x] });
      y--;
    }
    if (x === prevX) out.push({ op: '+', text: b[--y] });
    else out.push({ op: '-', text: a[--x] });
  }
  while (x > 0 && y > 0) {
    out.push({ op: ' ', text: a[--x] });
    y--;
  }
  return out.reverse();
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function range(start: number, count: number): string {
  // As diff(1) prints it: an empty range names the line before it.
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

/**
 * A unified diff of two texts with `context` lines around each change,
 * headed by `--- oldLabel` and `+++ newLabel`; "" when they are equal.
 */
export function unifiedDiff(oldText: string, newText: string, labels: { old: string; new: string }, context = 3): string {
  const script = diffLines(splitLines(oldText), splitLines(newText));
  if (!script.some((l) => l.op !== ' ')) return '';
  // Line numbers on each side before each script entry.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 0;
  let nn = 0;
  for (const l of script) {
    oldAt.push(o);
    newAt.push(nn);
    if (l.op !== '+') o++;
    if (l.op !== '-') nn++;
  }
  const out = [`--- ${labels.old}`, `+++ ${labels.new}`];
  let i = 0;
  while (i < script.length) {
    if (script[i].op === ' ') {
      i++;
      continue;
    }
    // A hunk: from `context` kept lines before this change to `context` after the last change within 2*context of the next.
    const start = Math.max(0, i - context);
    let end = i;
    let j = i;
    while (j < script.length) {
      if (script[j].op !== ' ') {
        end = j;
        j++;
        continue;
      }
      let run = 0;
      while (j + run < script.length && script[j + run].op === ' ') run++;
      if (j + run >= script.length || run > 2 * context) break;
      j += run;
    }
    const stop = Math.min(script.length, end + 1 + context);
    const lines = script.slice(start, stop);
    const oldCount = lines.filter((l) => l.op !== '+').length;
    const newCount = lines.filter((l) => l.op !== '-').length;
    out.push(`@@ -${range(oldAt[start], oldCount)} +${range(newAt[start], newCount)} @@`);
    for (const l of lines) out.push(l.op + l.text);
    i = stop;
  }
  return out.join('\n') + '\n';
}
