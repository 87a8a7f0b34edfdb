import type { LogRecord } from '../engine/log';
import type { JobProgress } from '../engine/progress';

/**
 * What the extension knows of the jobs it ran through the worker this
 * session: their lifecycle as events, the history the Jobs view shows, and
 * the text of its items and of the status bar. No `vscode` here, so the
 * rules can be tested outside an editor.
 */

export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost';
export type FinishedState = Exclude<JobState, 'running'>;

/** What the worker client reports of a job it runs, in order: started, then any of progress/log/warning, then finished. */
export type JobEvent =
  | { type: 'started'; jobId: string; kind: string; target: string; short: string; title: string; at: number }
  | { type: 'progress'; jobId: string; progress: JobProgress }
  | { type: 'log'; jobId: string; record: LogRecord }
  | { type: 'warning'; jobId: string; message: string }
  | { type: 'finished'; jobId: string; state: FinishedState; message?: string; at: number };

export interface JobRecord {
  id: string;
  /** "capture", "verify", "delete", ... */
  kind: string;
  /** What it works on: "sandbox-prod/shop", or the repository's location. */
  target: string;
  /** The target in a word, for the status bar: "shop", the repository's folder name. */
  short: string;
  title: string;
  state: JobState;
  startedAt: number;
  endedAt?: number;
  /** The latest report while it ran. */
  progress?: JobProgress;
  /** Why it failed or was lost. */
  message?: string;
  warnings: string[];
  /** Its log records, the oldest dropped beyond MAX_LOG_RECORDS. */
  log: LogRecord[];
  /** How many of the oldest records were dropped. */
  logDropped: number;
}

/** Finished jobs kept for the session. */
export const MAX_FINISHED_JOBS = 50;
/** Log records kept per job: a capture of thousands of volumes must not hold the extension host's memory. */
export const MAX_LOG_RECORDS = 5000;

/** The kind of job a worker request method stands for. */
export function jobKind(method: string): string {
  const kinds: Record<string, string> = {
    capture: 'capture',
    'repository/verify': 'verify',
    'repository/init': 'init',
    'snapshots/delete': 'delete',
    'snapshots/list': 'list',
    'snapshots/show': 'show',
    'restore/plan': 'plan',
    'restore/apply': 'restore',
    'restore/file': 'restore file',
    'repository/prune': 'prune',
  };
  return kinds[method] ?? method.split('/').pop() ?? method;
}

interface JobRequestShape {
  repository?: { location?: string };
  request?: { context?: string; scope?: { namespaces?: string[] }; snapshot?: string; to?: { kind?: string; context?: string; namespace?: string; pvc?: string; directory?: string } };
  snapshot?: string;
}

function lastSegment(location: string): string {
  const trimmed = location.replace(/[/\\]+$/, '');
  return trimmed.split(/[/\\]/).pop() || trimmed;
}

/**
 * What a job works on, from its request params: a capture's context and
 * namespaces, else the repository (with the snapshot a delete removes).
 */
export function jobTarget(method: string, params: unknown): { target: string; short: string } {
  const p = (params ?? {}) as JobRequestShape;
  if (method === 'capture' && p.request) {
    const context = p.request.context ?? 'current context';
    const namespaces = p.request.scope?.namespaces ?? [];
    if (namespaces.length === 0) return { target: context, short: context };
    return { target: `${context}/${namespaces.join(',')}`, short: namespaces.join(',') };
  }
  if ((method === 'restore/plan' || method === 'restore/apply') && p.request) {
    const context = p.request.context ?? 'current context';
    return { target: `${(p.request.snapshot ?? '').slice(0, 12)} → ${context}`, short: context };
  }
  if (method === 'restore/file' && p.request?.to) {
    const to = p.request.to;
    const where = to.kind === 'dir' ? (to.directory ?? '') : `${to.context ?? 'current context'}/${to.namespace}/${to.pvc}`;
    return { target: `${(p.request.snapshot ?? '').slice(0, 12)} → ${where}`, short: to.kind === 'dir' ? lastSegment(where) : (to.pvc ?? '') };
  }
  const location = p.repository?.location ?? '';
  const snapshot = p.snapshot ? ` ${p.snapshot.slice(0, 12)}` : '';
  return { target: `${location}${snapshot}`, short: `${lastSegment(location)}${snapshot}` };
}

/**
 * The jobs of the session: running ones, and the last MAX_FINISHED_JOBS
 * finished ones. Events of unknown jobs are ignored, and a finished job
 * stays as it ended.
 */
export class JobHistory {
  private readonly records = new Map<string, JobRecord>();

  constructor(
    private readonly maxFinished = MAX_FINISHED_JOBS,
    private readonly maxLog = MAX_LOG_RECORDS,
  ) {}

  /** Applies an event; returns the job it changed, or undefined when it changed none. */
  apply(event: JobEvent): JobRecord | undefined {
    if (event.type === 'started') {
      if (this.records.has(event.jobId)) return undefined;
      const job: JobRecord = {
        id: event.jobId,
        kind: event.kind,
        target: event.target,
        short: event.short,
        title: event.title,
        state: 'running',
        startedAt: event.at,
        warnings: [],
        log: [],
        logDropped: 0,
      };
      this.records.set(job.id, job);
      return job;
    }
    const job = this.records.get(event.jobId);
    if (!job) return undefined;
    switch (event.type) {
      case 'progress':
        if (job.state !== 'running') return undefined;
        job.progress = event.progress;
        return job;
      case 'log':
        // The worker's last records ("capture finished") may arrive with the answer: kept after the end too.
        job.log.push(event.record);
        if (job.log.length > this.maxLog) {
          const drop = job.log.length - this.maxLog;
          job.log.splice(0, drop);
          job.logDropped += drop;
        }
        return job;
      case 'warning':
        job.warnings.push(event.message);
        return job;
      case 'finished':
        if (job.state !== 'running') return undefined;
        job.state = event.state;
        job.endedAt = event.at;
        if (event.message !== undefined) job.message = event.message;
        this.evict();
        return job;
    }
  }

  get(jobId: string): JobRecord | undefined {
    return this.records.get(jobId);
  }

  /** Running jobs first (oldest first), then finished ones, newest first. */
  jobs(): JobRecord[] {
    const all = [...this.records.values()];
    const running = all.filter((j) => j.state === 'running');
    const finished = all.filter((j) => j.state !== 'running').sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0));
    return [...running, ...finished];
  }

  /** Running jobs, oldest first. */
  running(): JobRecord[] {
    return [...this.records.values()].filter((j) => j.state === 'running');
  }

  private evict(): void {
    const finished = [...this.records.values()].filter((j) => j.state !== 'running').sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    for (const j of finished.slice(0, Math.max(0, finished.length - this.maxFinished))) this.records.delete(j.id);
  }
}

/** Percent done of a progress report, from bytes when their total is known, else items. */
export function percentOf(p: JobProgress): number | undefined {
  if (p.bytesTotal && p.bytesDone !== undefined) return Math.min(100, (100 * p.bytesDone) / p.bytesTotal);
  if (p.itemsTotal && p.itemsDone !== undefined) return Math.min(100, (100 * p.itemsDone) / p.itemsTotal);
  return undefined;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** One line of progress: "volumes: shop/data-db-0, 120.0 MiB of 1.0 GiB, 40.0 MiB/s, 25s left". */
export function describeProgress(p: JobProgress): string {
  const parts: string[] = [p.current ? `${p.phase}: ${p.current}` : p.phase];
  if (p.bytesDone !== undefined) parts.push(p.bytesTotal ? `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}` : formatBytes(p.bytesDone));
  else if (p.itemsDone !== undefined) parts.push(p.itemsTotal ? `${p.itemsDone} of ${p.itemsTotal}` : `${p.itemsDone}`);
  if (p.rate) parts.push(`${formatBytes(p.rate)}/s`);
  if (p.etaSeconds !== undefined) parts.push(`${p.etaSeconds}s left`);
  return parts.join(', ');
}

/** "0.4s", "12s", "3m 05s", "1h 02m". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Local wall-clock time "14:02:09". */
export function formatClock(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

const STATE_WORDS: Record<JobState, string> = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  lost: 'lost (the worker stopped)',
};

/** The job's label in the Jobs view: "capture sandbox-prod/shop". */
export function jobLabel(job: JobRecord): string {
  return job.target ? `${job.kind} ${job.target}` : job.kind;
}

/**
 * The Jobs view's description of a job: its latest progress while it runs,
 * else how it ended; then when it started and how long it ran.
 */
export function describeJob(job: JobRecord, now: number): string {
  const duration = formatDuration((job.endedAt ?? now) - job.startedAt);
  const when = `${formatClock(job.startedAt)}, ${duration}`;
  if (job.state === 'running') return `${job.progress ? describeProgress(job.progress) : 'starting'} · ${when}`;
  const state = (job.state === 'failed' || job.state === 'lost') && job.message ? `${job.state}: ${job.message}` : STATE_WORDS[job.state];
  const warnings = job.warnings.length ? ` · ${job.warnings.length} warning${job.warnings.length === 1 ? '' : 's'}` : '';
  return `${state}${warnings} · ${when}`;
}

/** The status bar's text while jobs run: "$(sync~spin) Lifeboat: capture shop 42%"; undefined when none runs. */
export function statusBarText(running: ReadonlyArray<Pick<JobRecord, 'kind' | 'short' | 'progress'>>): string | undefined {
  if (running.length === 0) return undefined;
  const first = running[0];
  const pct = first.progress ? percentOf(first.progress) : undefined;
  const more = running.length > 1 ? ` (+${running.length - 1})` : '';
  return `$(sync~spin) Lifeboat: ${first.kind}${first.short ? ` ${first.short}` : ''}${pct !== undefined ? ` ${Math.floor(pct)}%` : ''}${more}`;
}

/** The text of a job's log document: a header, then one line per record. */
export function jobLogText(job: JobRecord, now: number): string {
  const lines = [
    `# ${job.title}`,
    `# ${jobLabel(job)}: ${describeJob(job, now)}`,
    `# started ${new Date(job.startedAt).toISOString()}${job.endedAt ? `, ended ${new Date(job.endedAt).toISOString()}` : ''}`,
  ];
  if (job.message) lines.push(`# ${job.message}`);
  for (const w of job.warnings) lines.push(`# warning: ${w}`);
  if (job.logDropped) lines.push(`# ${job.logDropped} earlier records dropped (at most ${job.log.length} are kept)`);
  for (const r of job.log) {
    const fields = r.fields && Object.keys(r.fields).length ? ` ${JSON.stringify(r.fields)}` : '';
    lines.push(`${r.time} ${r.level.toUpperCase().padEnd(5)} ${r.message}${fields}`);
  }
  return `${lines.join('\n')}\n`;
}
