import { strict as assert } from 'node:assert';
import { fork, type ChildProcess } from 'node:child_process';
import { ResponseError, type CancellationTokenSource, type MessageConnection } from 'vscode-jsonrpc';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import type { JobProgressParams } from '../../../src/protocol/worker';

/**
 * The worker as the extension runs it: the bundled `lifeboat` forked with an
 * IPC channel and no command, spoken to with vscode-jsonrpc from the test.
 * Every notification and answer is kept, to search them afterwards.
 */

export interface Received {
  method: string;
  params: unknown;
  at: number;
}

export interface Worker {
  child: ChildProcess;
  connection: MessageConnection;
  received: Received[];
  /** Every answer and error the worker sent back, as text, to search for secrets. */
  answers: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  request<R>(method: string, params: unknown, token?: CancellationTokenSource): Promise<R>;
}

export function startWorker(bundle: string): Worker {
  const child = fork(bundle, [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  const received: Received[] = [];
  const answers: string[] = [];
  connection.onNotification((method: string, params: unknown) => received.push({ method, params, at: Date.now() }));
  connection.listen();
  return {
    child,
    connection,
    received,
    answers,
    exited,
    stderr: () => stderr,
    async request<R>(method: string, params: unknown, cts?: CancellationTokenSource): Promise<R> {
      try {
        // A string method spreads extra arguments into positional params: pass the token only when there is one.
        const result = cts ? await connection.sendRequest<R>(method, params, cts.token) : await connection.sendRequest<R>(method, params);
        answers.push(JSON.stringify(result));
        return result;
      } catch (err) {
        answers.push(JSON.stringify({ code: (err as ResponseError<unknown>).code, message: (err as Error).message }));
        throw err;
      }
    },
  };
}

export function progressOf(worker: Worker, jobId: string): Array<JobProgressParams & { at: number }> {
  return worker.received
    .filter((r) => r.method === 'job/progress' && (r.params as JobProgressParams).jobId === jobId)
    .map((r) => ({ ...(r.params as JobProgressParams), at: r.at }));
}

export async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function rejection(promise: Promise<unknown>): Promise<ResponseError<unknown>> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ResponseError, `expected a ResponseError, got ${String(err)}`);
    return err;
  }
  assert.fail('the request was expected to fail');
}
