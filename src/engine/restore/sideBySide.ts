import { diffLines } from './diff';

/**
 * The rows of a side-by-side view of two texts, from the planner's own
 * line diff (./diff), so the plan panel shows exactly the changes the
 * plan's unified diffs list.
 */

/** One row: the same line on both sides, a changed pair, or a line on one side only. */
export interface SideBySideRow {
  kind: 'same' | 'changed' | 'removed' | 'added';
  /** 1-based line numbers and text, absent on the side the line is not in. */
  left?: { line: number; text: string };
  right?: { line: number; text: string };
}

function lines(text: string): string[] {
  if (text === '') return [];
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

/**
 * Rows aligning two texts line by line: unchanged lines side by side, and
 * in each run of changes the removed lines paired with the added ones (the
 * longer side's extra lines face an empty cell).
 */
export function sideBySide(oldText: string, newText: string): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  const script = diffLines(lines(oldText), lines(newText));
  let left = 0;
  let right = 0;
  let i = 0;
  while (i < script.length) {
    if (script[i].op === ' ') {
      const text = script[i].text;
      rows.push({ kind: 'same', left: { line: ++left, text }, right: { line: ++right, text } });
      i++;
      continue;
    }
    const removed: string[] = [];
    const added: string[] = [];
    while (i < script.length && script[i].op !== ' ') {
      (script[i].op === '-' ? removed : added).push(script[i].text);
      i++;
    }
    for (let j = 0; j < Math.max(removed.length, added.length); j++) {
      const r = j < removed.length ? { line: ++left, text: removed[j] } : undefined;
      const a = j < added.length ? { line: ++right, text: added[j] } : undefined;
      rows.push({ kind: r && a ? 'changed' : r ? 'removed' : 'added', ...(r ? { left: r } : {}), ...(a ? { right: a } : {}) });
    }
  }
  return rows;
}
