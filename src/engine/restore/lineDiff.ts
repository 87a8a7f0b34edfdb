/**
 * Line diffs of two texts: the edit script (Myers' O(ND) algorithm), a
 * unified diff of it, and the rows of a side-by-side view. Pure and free of
 * Node APIs, so the restore planner and the plan panel's browser bundle use
 * the same code and show the same changes.
 */

/** One line of an edit script: kept, only in the old text, or only in the new. */
export interface LineEdit {
  op: 'equal' | 'delete' | 'insert';
  text: string;
  /** 1-based line numbers in the old and the new text (absent on the side the line is not in). */
  oldLine?: number;
  newLine?: number;
}

/**
 * Beyond this many differing lines the search stops and the rest is shown
 * as replaced: two unrelated documents of thousands of lines would
 * otherwise cost quadratic time and memory.
 */
const MAX_EDIT_DISTANCE = 2000;

/** The lines of a text; a final newline does not make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The shortest edit script turning `a` into `b` (deletions before insertions within a change). */
export function diffLines(a: readonly string[], b: readonly string[]): LineEdit[] {
  // Common head and tail cost nothing and shrink the search.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const edits: LineEdit[] = [];
  for (let i = 0; i < head; i++) edits.push({ op: 'equal', text: a[i], oldLine: i + 1, newLine: i + 1 });
  const middle = myers(a.slice(head, a.length - tail), b.slice(head, b.length - tail));
  for (const e of middle) {
    edits.push({
      op: e.op,
      text: e.text,
      ...(e.oldLine !== undefined ? { oldLine: e.oldLine + head } : {}),
      ...(e.newLine !== undefined ? { newLine: e.newLine + head } : {}),
    });
  }
  for (let i = tail; i > 0; i--) {
    edits.push({ op: 'equal', text: a[a.length - i], oldLine: a.length - i + 1, newLine: b.length - i + 1 });
  }
  return edits;
}

function myers(a: readonly string[], b: readonly string[]): LineEdit[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  if (max === 0) return [];
  const offset = max + 1;
  let v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  const limit = Math.min(max, MAX_EDIT_DISTANCE);
  for (let d = 0; d <= limit && found < 0; d++) {
    trace.push(v.slice());
    const next = v;
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      next[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    v = next;
  }
  if (found < 0) return replaceAll(a, b);
  // Walk the trace back from (n, m) to (0, 0), collecting the moves.
  const edits: LineEdit[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const prev = trace[d];
    const k = x - y;
    const down = k === -d || (k !== d && prev[offset + k - 1] < prev[offset + k + 1]);
    const prevK = down ? k + 1 : k - 1;
    const prevX = prev[offset + prevK];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      edits.push({ op: 'equal', text: a[x], oldLine: x + 1, newLine: y + 1 });
    }
    if (down) {
      y--;
      edits.push({ op: 'insert', text: b[y], newLine: y + 1 });
    } else {
      x--;
      edits.push({ op: 'delete', text: a[x], oldLine: x + 1 });
    }
  }
  while (x > 0 && y > 0) {
    x--;
    y--;
    edits.push({ op: 'equal', text: a[x], oldLine: x + 1, newLine: y + 1 });
  }
  return orderChanges(edits.reverse());
}

function replaceAll(a: readonly string[], b: readonly string[]): LineEdit[] {
  return [
    ...a.map((text, i): LineEdit => ({ op: 'delete', text, oldLine: i + 1 })),
    ...b.map((text, i): LineEdit => ({ op: 'insert', text, newLine: i + 1 })),
  ];
}

/** Within each run of changes, deletions first: the conventional reading order of a diff. */
function orderChanges(edits: LineEdit[]): LineEdit[] {
  const out: LineEdit[] = [];
  let run: LineEdit[] = [];
  const flush = (): void => {
    out.push(...run.filter((e) => e.op === 'delete'), ...run.filter((e) => e.op === 'insert'));
    run = [];
  };
  for (const e of edits) {
    if (e.op === 'equal') {
      flush();
      out.push(e);
    } else run.push(e);
  }
  flush();
  return out;
}

/**
 * A unified diff ("--- old", "+++ new", "@@ -l,n +l,n @@" hunks) with
 * `context` unchanged lines around each change; "" when the texts are equal.
 */
export function unifiedDiff(oldText: string, newText: string, options: { oldLabel?: string; newLabel?: string; context?: number } = {}): string {
  const edits = diffLines(splitLines(oldText), splitLines(newText));
  if (edits.every((e) => e.op === 'equal')) return '';
  const context = options.context ?? 3;
  const lines = [`--- ${options.oldLabel ?? 'old'}`, `+++ ${options.newLabel ?? 'new'}`];
  let i = 0;
  while (i < edits.length) {
    if (edits[i].op === 'equal') {
      i++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change within reach.
    const start = Math.max(0, i - context);
    let end = i;
    for (let j = i; j < edits.length; j++) {
      if (edits[j].op !== 'equal') end = j;
      else if (j - end > 2 * context) break;
    }
    const stop = Math.min(edits.length, end + context + 1);
    const hunk = edits.slice(start, stop);
    const oldCount = hunk.filter((e) => e.op !== 'insert').length;
    const newCount = hunk.filter((e) => e.op !== 'delete').length;
    const oldStart = firstLine(edits, start, 'oldLine');
    const newStart = firstLine(edits, start, 'newLine');
    lines.push(`@@ -${oldCount ? oldStart : oldStart - 1},${oldCount} +${newCount ? newStart : newStart - 1},${newCount} @@`);
    for (const e of hunk) lines.push(`${e.op === 'equal' ? ' ' : e.op === 'delete' ? '-' : '+'}${e.text}`);
    i = stop;
  }
  return lines.join('\n') + '\n';
}

/** The line number a hunk starting at edit `index` begins at, on one side. */
function firstLine(edits: LineEdit[], index: number, side: 'oldLine' | 'newLine'): number {
  for (let j = index; j < edits.length; j++) {
    const n = edits[j][side];
    if (n !== undefined) return n;
  }
  let last = 0;
  for (let j = index - 1; j >= 0; j--) {
    const n = edits[j][side];
    if (n !== undefined) {
      last = n;
      break;
    }
  }
  return last + 1;
}

/** One row of a side-by-side view: the same line on both sides, a changed pair, or a line on one side only. */
export interface SideBySideRow {
  kind: 'same' | 'changed' | 'removed' | 'added';
  left?: { line: number; text: string };
  right?: { line: number; text: string };
}

/**
 * Rows aligning two texts line by line: unchanged lines side by side, and
 * in each run of changes the deleted lines paired with the inserted ones
 * (the longer side's extra lines face an empty cell).
 */
export function sideBySide(oldText: string, newText: string): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  const edits = diffLines(splitLines(oldText), splitLines(newText));
  let i = 0;
  while (i < edits.length) {
    const e = edits[i];
    if (e.op === 'equal') {
      rows.push({ kind: 'same', left: { line: e.oldLine!, text: e.text }, right: { line: e.newLine!, text: e.text } });
      i++;
      continue;
    }
    const deleted: LineEdit[] = [];
    const inserted: LineEdit[] = [];
    while (i < edits.length && edits[i].op !== 'equal') {
      (edits[i].op === 'delete' ? deleted : inserted).push(edits[i]);
      i++;
    }
    for (let j = 0; j < Math.max(deleted.length, inserted.length); j++) {
      const d = deleted[j];
      const n = inserted[j];
      rows.push({
        kind: d && n ? 'changed' : d ? 'removed' : 'added',
        ...(d ? { left: { line: d.oldLine!, text: d.text } } : {}),
        ...(n ? { right: { line: n.newLine!, text: n.text } } : {}),
      });
    }
  }
  return rows;
}
