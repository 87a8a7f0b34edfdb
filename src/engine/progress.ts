import { setMaxListeners } from 'node:events';

/**
 * Progress of a long job, the same shape in the CLI's progress bar, the
 * worker's notifications and VS Code's progress UI.
 */
export interface JobProgress {
  /** "discover", "resources", "volumes", "etcd", "commit", ... */
  phase: string;
  /** What is being worked on now: "shop/data-db-0". */
  current?: string;
  itemsDone?: number;
  itemsTotal?: number;
  bytesDone?: number;
  /** Unknown (undefined) while a volume's size is not known yet. */
  bytesTotal?: number;
  /** Bytes per second over the last few seconds. */
  rate?: number;
  etaSeconds?: number;
}

export type ProgressListener = (progress: JobProgress) => void;

/** Thrown when a job's AbortSignal fires; callers clean up and report "cancelled". */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/**
 * The controller of one job. Its signal is shared by every request the job
 * has waiting at once (hundreds, in the client's semaphore during a plan of
 * thousands of objects), each adding an abort listener it removes when
 * done, so the usual limit of ten listeners would only warn about nothing.
 */
export function jobController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/**
 * Fills in `rate` (bytes per second) and `etaSeconds` from the progress
 * reports of one job, over a sliding window so a stall or a burst shows
 * within seconds. Values the job computed itself are kept. The ETA comes
 * from bytes when the total is known, else from items.
 */
export function rateTracker(windowMs = 5000, now: () => number = Date.now): (progress: JobProgress) => JobProgress {
  const samples: Array<{ at: number; bytes: number; items: number }> = [];
  let phase: string | undefined;
  return (progress) => {
    const at = now();
    // A new phase counts different things: its rate starts afresh.
    if (progress.phase !== phase) samples.length = 0;
    phase = progress.phase;
    samples.push({ at, bytes: progress.bytesDone ?? 0, items: progress.itemsDone ?? 0 });
    while (samples.length > 2 && samples[1].at <= at - windowMs) samples.shift();
    const first = samples[0];
    const seconds = (at - first.at) / 1000;
    if (seconds < 0.5) return progress;
    const out = { ...progress };
    const byteRate = (out.bytesDone ?? 0) > first.bytes ? ((out.bytesDone ?? 0) - first.bytes) / seconds : 0;
    if (out.rate === undefined && out.bytesDone !== undefined) out.rate = Math.round(byteRate);
    if (out.etaSeconds === undefined) {
      const itemRate = ((out.itemsDone ?? 0) - first.items) / seconds;
      if (out.bytesTotal !== undefined && out.bytesDone !== undefined && byteRate > 0) {
        out.etaSeconds = Math.max(0, Math.round((out.bytesTotal - out.bytesDone) / byteRate));
      } else if (out.itemsTotal !== undefined && itemRate > 0) {
        out.etaSeconds = Math.max(0, Math.round((out.itemsTotal - (out.itemsDone ?? 0)) / itemRate));
      }
    }
    return out;
  };
}

/** A progress listener that passes on at most one report per interval; see throttleProgress. */
export interface ThrottledProgress {
  (progress: JobProgress): void;
  /** Passes on the newest report now if it has not been, and stops the timer: call when the job ends. */
  flush(): void;
}

/**
 * Limits how often reports reach `listener` (a notification across a
 * process boundary, a redraw): the first report goes at once, later ones at
 * most every `intervalMs`, always the newest, and `flush` delivers the last
 * state so the receiver never ends on a stale one.
 */
export function throttleProgress(listener: ProgressListener, intervalMs = 200): ThrottledProgress {
  let pending: JobProgress | undefined;
  let lastSent = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const send = (): void => {
    timer = undefined;
    if (!pending) return;
    const p = pending;
    pending = undefined;
    lastSent = Date.now();
    listener(p);
  };
  const throttled = ((progress: JobProgress) => {
    pending = progress;
    if (timer) return;
    const wait = lastSent + intervalMs - Date.now();
    if (wait <= 0) send();
    else {
      timer = setTimeout(send, wait);
      timer.unref?.();
    }
  }) as ThrottledProgress;
  throttled.flush = () => {
    if (timer) clearTimeout(timer);
    send();
  };
  return throttled;
}
