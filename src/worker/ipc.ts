import {
  CancellationToken,
  ErrorCodes as RpcErrorCodes,
  ResponseError,
  type MessageConnection,
  type NotificationType,
} from 'vscode-jsonrpc';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { version } from '../../package.json';
import { logTo, type LogRecord } from '../engine/log';
import { jobController, rateTracker, throttleProgress } from '../engine/progress';
import { describeLocation } from '../engine/storage';
import { InvalidParamsError } from '../protocol/validate';
import {
  ClusterChangedNotification,
  ErrorCodes,
  InitializeRequest,
  JobLogNotification,
  JobProgressNotification,
  JobWarningNotification,
  PROTOCOL_VERSION,
  type InitializeResult,
  type JobParams,
} from '../protocol/worker';
import { validateInitializeParams } from '../protocol/workerParams';
import { clusterRequestKinds, jobKinds, type ClusterRequestKind, type JobKind } from './jobs';
import { isCancellation, redact, redactValue, toResponseError } from './jobs/errors';
import { secretsOf } from './jobs/repository';

/**
 * The worker's side of the protocol in src/protocol/worker.ts: JSON-RPC over
 * the IPC channel of a process forked by the extension. Each job request
 * runs with its own AbortController, tied to the request's cancellation
 * token; progress is throttled per job; logs and errors are scrubbed of the
 * request's secrets. When the parent goes away, running jobs are cancelled
 * and waited for (so mover pods are removed and locks released), then the
 * process exits.
 */

/** Progress notifications per job: at most one per this many ms, plus the last state. */
export const PROGRESS_INTERVAL_MS = 200;
/** How long a shutdown waits for cancelled jobs to clean up before exiting anyway. */
const SHUTDOWN_GRACE_MS = 30_000;

interface RunningJob {
  method: string;
  controller: AbortController;
  done: Promise<unknown>;
}

export class WorkerServer {
  private initialized = false;
  private closing = false;
  private readonly running = new Map<string, RunningJob>();
  /** Cluster requests in flight (watches stay until cancelled), by a serial number. */
  private readonly requests = new Map<number, RunningJob>();
  private requestSerial = 0;

  constructor(private readonly connection: MessageConnection) {
    connection.onRequest(InitializeRequest.method, (...args: unknown[]) => this.initialize(paramsOf(args)));
    for (const job of jobKinds) {
      connection.onRequest(job.method, (...args: unknown[]) => this.runJob(job, paramsOf(args), tokenOf(args)));
    }
    for (const kind of clusterRequestKinds) {
      connection.onRequest(kind.method, (...args: unknown[]) => this.runClusterRequest(kind, paramsOf(args), tokenOf(args)));
    }
  }

  /** Ids of the jobs running now. */
  get jobs(): string[] {
    return [...this.running.keys()];
  }

  private initialize(raw: unknown): InitializeResult {
    const params = validated(() => validateInitializeParams(raw));
    if (params.protocolVersion !== PROTOCOL_VERSION) {
      throw new ResponseError(
        ErrorCodes.usage,
        `this Lifeboat worker (${version}) speaks protocol ${PROTOCOL_VERSION}, the client ${params.protocolVersion}: ` +
          'the worker and the extension come from different Lifeboat versions; reload the window to start a matching worker',
      );
    }
    this.initialized = true;
    this.notify(JobLogNotification, { record: record('info', `worker ${version} ready (protocol ${PROTOCOL_VERSION}, pid ${process.pid})`) });
    return { workerVersion: version, protocolVersion: PROTOCOL_VERSION, pid: process.pid };
  }

  private async runJob(job: JobKind, raw: unknown, token: CancellationToken): Promise<unknown> {
    if (!this.initialized) throw new ResponseError(RpcErrorCodes.ServerNotInitialized, `${job.method} before initialize: send "initialize" first`);
    if (this.closing) throw new ResponseError(ErrorCodes.cancelled, 'the worker is shutting down');
    const params: JobParams = validated(() => job.validate(raw));
    const { jobId } = params;
    if (this.running.has(jobId)) throw new ResponseError(RpcErrorCodes.InvalidParams, `jobId: a job "${jobId}" is already running; use a new id per job`);

    const secrets = secretsOf(params.repository);
    const controller = jobController();
    const onCancel = token.onCancellationRequested(() => controller.abort());
    if (token.isCancellationRequested) controller.abort();

    const sendLog = (r: LogRecord): void => this.notify(JobLogNotification, { jobId, record: redactValue(r, secrets) });
    const log = logTo(sendLog);
    const withRate = rateTracker();
    const progress = throttleProgress((p) => this.notify(JobProgressNotification, { jobId, progress: p }), PROGRESS_INTERVAL_MS);
    const started = Date.now();
    log.log('info', `${job.method} started`, { repository: describeLocation(params.repository.location) });

    const done = job.run(params, {
      signal: controller.signal,
      log,
      onProgress: (p) => progress(withRate(p)),
      warn: (message) => this.notify(JobWarningNotification, { jobId, message: redact(message, secrets) }),
    });
    this.running.set(jobId, { method: job.method, controller, done });
    try {
      const result = await done;
      log.log('info', `${job.method} finished`, { ms: Date.now() - started });
      return result;
    } catch (err) {
      if (isCancellation(err)) log.log('info', `${job.method} cancelled`, { ms: Date.now() - started });
      else log.log('error', `${job.method} failed: ${err instanceof Error ? err.message : String(err)}`, { ms: Date.now() - started });
      throw toResponseError(err, secrets);
    } finally {
      progress.flush();
      onCancel.dispose();
      this.running.delete(jobId);
    }
  }

  /** A cluster request: no repository, so no secrets to scrub; cancelled like a job, and stopped on shutdown. */
  private async runClusterRequest(kind: ClusterRequestKind, raw: unknown, token: CancellationToken): Promise<unknown> {
    if (!this.initialized) throw new ResponseError(RpcErrorCodes.ServerNotInitialized, `${kind.method} before initialize: send "initialize" first`);
    if (this.closing) throw new ResponseError(ErrorCodes.cancelled, 'the worker is shutting down');
    const params = validated(() => kind.validate(raw));
    const controller = jobController();
    const onCancel = token.onCancellationRequested(() => controller.abort());
    if (token.isCancellationRequested) controller.abort();
    const log = logTo((r) => this.notify(JobLogNotification, { record: r }));
    const serial = ++this.requestSerial;
    const done = kind.run(params, { signal: controller.signal, log, notifyChanged: (p) => this.notify(ClusterChangedNotification, p) });
    this.requests.set(serial, { method: kind.method, controller, done });
    try {
      return await done;
    } catch (err) {
      throw toResponseError(err, []);
    } finally {
      onCancel.dispose();
      this.requests.delete(serial);
    }
  }

  /**
   * Cancels every running job and waits for them to clean up (at most
   * `graceMs`). Later job requests are refused.
   */
  async shutdown(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    this.closing = true;
    const jobs = [...this.running.values(), ...this.requests.values()];
    for (const j of jobs) j.controller.abort();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled(jobs.map((j) => j.done)), timeout]);
    if (timer) clearTimeout(timer);
  }

  private notify<P>(type: NotificationType<P>, params: P): void {
    if (process.connected === false) return;
    // A rejected send means the parent is gone; the disconnect handler shuts down.
    this.connection.sendNotification(type, params).catch(() => undefined);
  }
}

function record(level: LogRecord['level'], message: string): LogRecord {
  return { level, message, time: new Date().toISOString() };
}

/**
 * vscode-jsonrpc calls a handler registered by method name with the params
 * object and the token, or with positional params spread before the token.
 * Positional params are not part of this protocol: they reach the validator
 * as an array and are refused there.
 */
function paramsOf(args: unknown[]): unknown {
  const given = args.slice(0, -1);
  return given.length === 1 ? given[0] : given.length === 0 ? undefined : given;
}

function tokenOf(args: unknown[]): CancellationToken {
  const last = args[args.length - 1];
  return CancellationToken.is(last) ? last : CancellationToken.None;
}

function validated<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof InvalidParamsError) throw new ResponseError(RpcErrorCodes.InvalidParams, err.message);
    throw err;
  }
}

/**
 * Serves the protocol on this process's IPC channel until the parent
 * disconnects (or sends SIGTERM), then cancels running jobs, waits for
 * their cleanup, and exits.
 */
export function serveIpc(): void {
  const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
  const server = new WorkerServer(connection);
  let exiting = false;
  const exit = (why: string): void => {
    if (exiting) return;
    exiting = true;
    const running = server.jobs.length;
    if (running > 0) process.stderr.write(`lifeboat worker: ${why}; cancelling ${running} running job(s)\n`);
    void server
      .shutdown()
      // Answers to the cancelled jobs are still in the IPC channel when a signal (not a disconnect) stopped us; give them a moment to leave.
      .then(() => (process.connected ? new Promise((resolve) => setTimeout(resolve, 100)) : undefined))
      .finally(() => {
        connection.dispose();
        process.exit(0);
      });
  };
  process.on('disconnect', () => exit('parent disconnected'));
  connection.onClose(() => exit('connection closed'));
  // The extension host stops its worker with a signal on shutdown: clean up the same way.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => exit(`${signal} received`));
  connection.listen();
}
