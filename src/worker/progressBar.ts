import type { JobProgress } from '../engine/progress';
import { formatBytes, formatDuration } from './output';

/**
 * The command line's view of a job's progress, on stderr (stdout stays for
 * results). On a terminal: one line redrawn in place, with a bar, the phase,
 * the current item, counts, bytes, rate and ETA, fitted to the terminal's
 * width. Elsewhere (CI logs, pipes): a plain line at most every few seconds
 * and at each phase change, since redraws would fill a log file.
 */

/** How done the job is, 0..1, from bytes when their total is known, else from items; undefined when neither total is. */
export function fractionDone(p: JobProgress): number | undefined {
  if (p.bytesTotal !== undefined && p.bytesTotal > 0) return clamp01((p.bytesDone ?? 0) / p.bytesTotal);
  if (p.itemsTotal !== undefined && p.itemsTotal > 0) return clamp01((p.itemsDone ?? 0) / p.itemsTotal);
  return undefined;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, Number.isFinite(x) ? x : 0));
}

function items(p: JobProgress): string | undefined {
  if (p.itemsTotal !== undefined) return `${p.itemsDone ?? 0}/${p.itemsTotal}`;
  return p.itemsDone !== undefined ? String(p.itemsDone) : undefined;
}

function bytes(p: JobProgress, joiner: string): string | undefined {
  if (p.bytesDone === undefined) return undefined;
  return p.bytesTotal !== undefined ? `${formatBytes(p.bytesDone)}${joiner}${formatBytes(p.bytesTotal)}` : formatBytes(p.bytesDone);
}

function rate(p: JobProgress): string | undefined {
  return p.rate !== undefined && p.rate > 0 ? `${formatBytes(Math.round(p.rate))}/s` : undefined;
}

function eta(p: JobProgress): string | undefined {
  if (p.etaSeconds === undefined || !Number.isFinite(p.etaSeconds) || p.etaSeconds < 0) return undefined;
  return p.etaSeconds < 1 ? '<1 s' : formatDuration(Math.round(p.etaSeconds) * 1000);
}

function bar(fraction: number, cells: number): string {
  const full = Math.round(fraction * cells);
  return `[${'#'.repeat(full)}${'-'.repeat(cells - full)}]`;
}

/** Keeps the end of a long item name ("…/data-db-0"): the end is what tells items apart. */
function shortenStart(text: string, max: number): string {
  if (text.length <= max) return text;
  return max <= 1 ? '…'.slice(0, max) : '…' + text.slice(text.length - max + 1);
}

/**
 * The terminal line for `p`, at most `width` characters. When everything
 * does not fit, the current item is shortened first, then the bar, rate,
 * ETA and bytes are left out, in that order.
 */
export function renderProgressLine(p: JobProgress, width: number): string {
  const fraction = fractionDone(p);
  const cells = Math.max(10, Math.min(30, Math.floor(width / 5)));
  type Part = { key: string; text: string };
  const parts: Part[] = [];
  if (fraction !== undefined) {
    parts.push({ key: 'bar', text: bar(fraction, cells) });
    parts.push({ key: 'percent', text: `${Math.floor(fraction * 100)}%`.padStart(4) });
  }
  parts.push({ key: 'phase', text: p.phase });
  const rest: Array<Part | undefined> = [
    items(p) === undefined ? undefined : { key: 'items', text: items(p)! },
    bytes(p, '/') === undefined ? undefined : { key: 'bytes', text: bytes(p, '/')! },
    rate(p) === undefined ? undefined : { key: 'rate', text: rate(p)! },
    eta(p) === undefined ? undefined : { key: 'eta', text: `ETA ${eta(p)}` },
  ];
  parts.push(...rest.filter((x): x is Part => x !== undefined));
  const gap = '  ';
  const length = (list: Part[]): number => list.reduce((n, x) => n + x.text.length, 0) + gap.length * Math.max(0, list.length - 1);
  for (const drop of ['bar', 'rate', 'eta', 'bytes', 'percent', 'items']) {
    if (length(parts) <= width) break;
    const i = parts.findIndex((x) => x.key === drop);
    if (i >= 0) parts.splice(i, 1);
  }
  if (p.current) {
    const room = width - length(parts) - gap.length;
    if (room >= 8) {
      const at = parts.findIndex((x) => x.key === 'phase') + 1;
      parts.splice(at, 0, { key: 'current', text: shortenStart(p.current, room) });
    }
  }
  // The percent is padded to stay put beside the bar; without the bar the padding is noise.
  const line = parts.map((x) => x.text).join(gap).trimStart();
  return line.length <= width ? line : line.slice(0, Math.max(0, width));
}

/** The plain line for logs: every known value, in words. */
export function renderProgressText(p: JobProgress): string {
  const fields: string[] = [];
  if (p.current) fields.push(p.current);
  const count = items(p);
  if (count !== undefined) fields.push(`${count} items`);
  const size = bytes(p, ' of ');
  const fraction = fractionDone(p);
  if (size !== undefined) fields.push(size);
  if (fraction !== undefined) fields.push(`${Math.floor(fraction * 100)}%`);
  const r = rate(p);
  if (r) fields.push(r);
  const e = eta(p);
  if (e) fields.push(`about ${e} left`);
  return fields.length ? `${p.phase}: ${fields.join(', ')}` : p.phase;
}

/** Where the display writes: process.stderr, or any stream with the same terminal fields. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressDisplay {
  update(progress: JobProgress): void;
  /** Takes the redrawn line off the terminal so a message can be written; the next update draws it again. */
  clear(): void;
  /** Shows the last state for good (the terminal line stays, ended by a newline). */
  done(): void;
}

export interface ProgressDisplayOptions {
  /** Terminal redraws at most this often (default 100 ms). */
  redrawMs?: number;
  /** Plain lines at most this often within a phase (default 5 s). */
  plainMs?: number;
  now?: () => number;
}

export function progressDisplay(stream: ProgressStream = process.stderr, options: ProgressDisplayOptions = {}): ProgressDisplay {
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const minGap = tty ? (options.redrawMs ?? 100) : (options.plainMs ?? 5000);
  let latest: JobProgress | undefined;
  let shown: JobProgress | undefined;
  let shownAt = -Infinity;
  let onScreen = false;

  const show = (p: JobProgress): void => {
    if (tty) {
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      stream.write(`\r${renderProgressLine(p, width)}\x1b[K`);
      onScreen = true;
    } else {
      stream.write(`${renderProgressText(p)}\n`);
    }
    shown = p;
    shownAt = now();
  };

  return {
    update(p) {
      latest = p;
      const phaseChanged = shown === undefined || shown.phase !== p.phase;
      if (phaseChanged || now() - shownAt >= minGap || (tty && !onScreen)) show(p);
    },
    clear() {
      if (tty && onScreen) {
        stream.write('\r\x1b[K');
        onScreen = false;
      }
    },
    done() {
      if (latest && (latest !== shown || (tty && !onScreen))) show(latest);
      if (tty && onScreen) {
        stream.write('\n');
        onScreen = false;
      }
    },
  };
}
