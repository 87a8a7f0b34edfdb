import { fork, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { ErrorCodes as RpcErrorCodes, ResponseError, type MessageConnection, type RequestType } from 'vscode-jsonrpc';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import type { JobProgress } from '../engine/progress';
import {
  ClusterChangedNotification,
  ErrorCodes,
  InitializeRequest,
  JobLogNotification,
  JobProgressNotification,
  JobWarningNotification,
  PROTOCOL_VERSION,
  type ClusterChangedParams,
  type InitializeResult,
  type JobParams,
} from '../protocol/worker';
import type { Host } from './host';
import { describeProgress, jobKind, jobTarget, percentOf, statusBarText, type FinishedState, type JobEvent } from './jobs';

export { describeProgress, percentOf } from './jobs';

/**
 * The extension's end of the worker protocol (src/protocol/worker.ts): forks
 * dist/worker.js with an IPC channel, does the initialize handshake, and
 * starts a new worker on the next request when the old one died, telling
 * the user which jobs went with it. Jobs run under VS Code's progress UI
 * (cancellable) and show in the status bar while they run; their
 * lifecycle goes out as JobEvents (onJob) for the Jobs view.
 */

/** A job the client started and has not been answered yet. */
interface RunningJob {
  title: string;
  kind: string;
  short: string;
  progress?: JobProgress;
  warnings: string[];
  /** Cancels the job's request: from the progress notification or cancelJob. */
  cancel: vscode.CancellationTokenSource;
  /** Passes a report on to the job's progress notification. */
  report?: (progress: JobProgress) => void;
}

/** The job's worker died before answering; the user has been told (a warning naming the lost jobs). */
export class WorkerLostError extends Error {
  constructor(title: string) {
    super(`${title}: the worker stopped before the job finished`);
    this.name = 'WorkerLostError';
  }
}

/** A failure of the channel rather than an answer of the worker. */
function isChannelFailure(err: unknown): boolean {
  if (!(err instanceof ResponseError)) return true;
  return err.code === RpcErrorCodes.PendingResponseRejected || err.code === RpcErrorCodes.ConnectionInactive;
}

export interface JobOutcome<R> {
  result: R;
  /** What the worker warned about while the job ran. */
  warnings: string[];
}

export class WorkerClient implements vscode.Disposable {
  private child?: ChildProcess;
  /** Settles when the current child has exited and its lost jobs were reported. */
  private exited?: Promise<void>;
  private connection?: Promise<MessageConnection>;
  private disposed = false;
  private jobSerial = 0;
  /** How the last worker ended ("was killed (SIGKILL)"), for the jobs it took along. */
  private lastExit?: string;
  private readonly jobs = new Map<string, RunningJob>();
  private readonly statusBar: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<ClusterChangedParams>();
  /** A watched cluster changed (see ClusterWatchRequest). */
  readonly onClusterChanged = this.changed.event;
  private readonly restarted = new vscode.EventEmitter<void>();
  /** A new worker replaced one that died: subscriptions must be made again. */
  readonly onRestarted = this.restarted.event;
  private readonly jobEvents = new vscode.EventEmitter<JobEvent>();
  /** A job started, progressed, logged, warned or finished. */
  readonly onJob = this.jobEvents.event;

  constructor(
    private readonly workerPath: string,
    private readonly host: Host,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.statusBar = vscode.window.createStatusBarItem('lifeboat.jobs', vscode.StatusBarAlignment.Left, 10);
    this.statusBar.name = 'Lifeboat Jobs';
    this.statusBar.command = { command: 'lifeboat.jobs.focus', title: 'Show Lifeboat Jobs' };
  }

  /** The worker's connection, forking and initializing one when there is none. */
  private connect(): Promise<MessageConnection> {
    if (this.disposed) return Promise.reject(new Error('Lifeboat is shutting down'));
    this.connection ??= this.start().catch((err: unknown) => {
      this.connection = undefined;
      throw err;
    });
    return this.connection;
  }

  private async start(): Promise<MessageConnection> {
    // execArgv empty: the extension host's own flags (inspector ports, loaders) must not reach the worker.
    const child = fork(this.workerPath, [], { execArgv: [], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child = child;
    child.stdout?.setEncoding('utf8').on('data', (s: string) => this.output.debug(`worker: ${s.trimEnd()}`));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => this.output.warn(`worker: ${s.trimEnd()}`));
    const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    connection.onNotification(JobProgressNotification, ({ jobId, progress }) => {
      const job = this.jobs.get(jobId);
      if (!job) return;
      job.progress = progress;
      job.report?.(progress);
      this.jobEvents.fire({ type: 'progress', jobId, progress });
      this.updateStatusBar();
    });
    connection.onNotification(JobWarningNotification, ({ jobId, message }) => {
      this.jobs.get(jobId)?.warnings.push(message);
      this.jobEvents.fire({ type: 'warning', jobId, message });
      this.output.warn(`${jobId}: ${message}`);
    });
    connection.onNotification(JobLogNotification, ({ jobId, record }) => {
      const line = `${jobId ? `${jobId}: ` : ''}${record.message}`;
      if (record.level === 'error') this.output.error(line);
      else if (record.level === 'warn') this.output.warn(line);
      else if (record.level === 'debug') this.output.debug(line);
      else this.output.info(line);
      if (jobId) this.jobEvents.fire({ type: 'log', jobId, record });
    });
    connection.onNotification(ClusterChangedNotification, (p) => this.changed.fire(p));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.onExit(child, connection, code, signal);
        resolve();
      }),
    );
    connection.listen();
    const info: InitializeResult = await connection.sendRequest(InitializeRequest, { protocolVersion: PROTOCOL_VERSION });
    this.output.info(`worker ${info.workerVersion} started (pid ${info.pid})`);
    return connection;
  }

  private onExit(child: ChildProcess, connection: MessageConnection, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.connection = undefined;
    connection.dispose();
    if (this.disposed) return;
    const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
    this.lastExit = how;
    this.output.error(`worker ${how}`);
    const lost = [...this.jobs.values()].map((j) => j.title);
    this.jobs.clear();
    this.updateStatusBar();
    if (lost.length > 0) {
      void this.host.showWarningMessage(`The Lifeboat worker ${how}; these jobs were lost: ${lost.join('; ')}. Start them again; a new worker starts with the next one.`);
    }
    this.restarted.fire();
  }

  /** The running worker's process id, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Titles of the jobs waiting for their answer, oldest first (the Jobs view and the status bar show them). */
  runningJobs(): string[] {
    return [...this.jobs.values()].map((j) => j.title);
  }

  /** Cancels a running job as its notification's Cancel button does; false when no such job runs. */
  cancelJob(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job) return false;
    job.cancel.cancel();
    return true;
  }

  /** A request that is not a job (cluster requests). */
  async request<P, R>(type: RequestType<P, R, void>, params: P, token?: vscode.CancellationToken): Promise<R> {
    const connection = await this.connect();
    return token ? connection.sendRequest(type, params, token) : connection.sendRequest(type, params);
  }

  /**
   * Runs a job with a cancellable progress notification. Resolves with the
   * result and the job's warnings; rejects with the worker's ResponseError
   * (code `ErrorCodes.cancelled` when the user cancelled).
   */
  async runJob<P extends JobParams, R>(type: RequestType<P, R, void>, params: Omit<P, 'jobId'>, title: string): Promise<JobOutcome<R>> {
    const connection = await this.connect();
    const jobId = `${type.method.replace(/\//g, '-')}-${Date.now().toString(36)}-${++this.jobSerial}`;
    const { target, short } = jobTarget(type.method, params);
    const kind = jobKind(type.method);
    const job: RunningJob = { title, kind, short, warnings: [], cancel: new vscode.CancellationTokenSource() };
    return this.host.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      this.jobs.set(jobId, job);
      this.jobEvents.fire({ type: 'started', jobId, kind, target, short, title, at: Date.now() });
      this.updateStatusBar();
      const onCancel = token.onCancellationRequested(() => job.cancel.cancel());
      if (token.isCancellationRequested) job.cancel.cancel();
      let shown = 0;
      // One handler per method on a connection (a second replaces the first): the one in start() dispatches by job id.
      job.report = (p) => {
        const pct = percentOf(p);
        const increment = pct !== undefined && pct > shown ? pct - shown : undefined;
        if (increment !== undefined) shown = pct!;
        progress.report({ message: describeProgress(p), increment });
      };
      const exited = this.exited;
      let state: FinishedState = 'failed';
      let message: string | undefined;
      try {
        const result = await connection.sendRequest(type, { ...params, jobId } as P, job.cancel.token);
        state = 'succeeded';
        return { result, warnings: job.warnings };
      } catch (err) {
        if (!isChannelFailure(err)) {
          state = isCancelled(err) ? 'cancelled' : 'failed';
          if (state === 'failed') message = err instanceof Error ? err.message : String(err);
          throw err;
        }
        // The channel closes before the process is reported gone: wait for that, so the job is counted among the lost.
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        state = 'lost';
        message = `the worker ${this.lastExit ?? 'stopped'} before the job finished`;
        throw new WorkerLostError(title);
      } finally {
        job.report = undefined;
        onCancel.dispose();
        job.cancel.dispose();
        this.jobs.delete(jobId);
        this.jobEvents.fire({ type: 'finished', jobId, state, message, at: Date.now() });
        this.updateStatusBar();
      }
    });
  }

  private updateStatusBar(): void {
    const jobs = [...this.jobs.values()];
    if (jobs.length === 0) return this.statusBar.hide();
    this.statusBar.text = statusBarText(jobs) ?? '';
    this.statusBar.tooltip = jobs.map((j) => `${j.title}${j.progress ? `: ${describeProgress(j.progress)}` : ''}`).join('\n');
    this.statusBar.show();
  }

  dispose(): void {
    this.disposed = true;
    this.changed.dispose();
    this.restarted.dispose();
    this.jobEvents.dispose();
    this.statusBar.dispose();
    const child = this.child;
    this.child = undefined;
    // SIGTERM: the worker cancels its jobs, removes mover pods and releases locks before exiting.
    child?.kill('SIGTERM');
  }
}

/** True when a request failed because it was cancelled (by the user or a superseded watch). */
export function isCancelled(err: unknown): boolean {
  return err instanceof ResponseError && err.code === ErrorCodes.cancelled;
}
