/**
 * pods/exec over a WebSocket with the remotecommand channel protocol
 * (v5.channel.k8s.io, else v4): each binary message starts with a channel
 * byte — 0 stdin, 1 stdout, 2 stderr, 3 the final metav1.Status, 255
 * close (v5: [255, 0] ends the process's stdin).
 *
 * Output flows with backpressure both ways: when the consumer's write()
 * says stop, the socket is paused until it drains, so TCP flow control
 * holds the data on the server; stdin is only read while the socket's send
 * buffer is small.
 */
import type { Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
import type { ExecOptions, ExecResult } from './types';
import type { Transport } from './transport';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** Unsent stdin bytes above which reading stdin waits for the socket. */
const STDIN_HIGH_WATER = 4 * 1024 * 1024;

export async function execInPod(transport: Transport, namespace: string, pod: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (command.length === 0) throw new Error(`${transport.context}: exec in ${namespace}/${pod}: no command given`);
  const where = `exec in pod "${pod}" in namespace "${namespace}"`;
  const query: Record<string, string | string[]> = { command, stdout: String(Boolean(options.stdout)), stderr: String(Boolean(options.stderr)), stdin: String(Boolean(options.stdin)) };
  if (options.container) query.container = options.container;
  // The server wants stdout or stderr; with neither asked for, stdout is taken and dropped.
  if (!options.stdout && !options.stderr) query.stdout = 'true';
  const url = transport.url(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/exec`, query);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

  const signal = options.signal;
  signal?.throwIfAborted();
  const release = await transport.acquire(signal);
  let connect;
  try {
    connect = await transport.connectOptions(true);
  } catch (err) {
    release();
    throw err;
  }

  return new Promise<ExecResult>((resolve, reject) => {
    const ws = new WebSocket(url, PROTOCOLS, { ...connect, headers: connect.headers as Record<string, string>, perMessageDeflate: false, maxPayload: 0, handshakeTimeout: 30_000 });
    let settled = false;
    let opened = false;
    let status: ExecResult | undefined;
    let timer: NodeJS.Timeout | undefined;
    let pausedBy = 0;

    const finish = (err: unknown, result?: ExecResult): void => {
      if (settled) return;
      settled = true;
      if (!opened) release();
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
        reject(err);
      } else resolve(result!);
    };
    const onAbort = (): void => finish(signal!.reason ?? new Error(`${transport.context}: ${where} was cancelled`));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        const err = new Error(`${transport.context}: ${where} (${command.join(' ')}) timed out after ${options.timeoutMs} ms`);
        err.name = 'TimeoutError';
        finish(err);
      }, options.timeoutMs);
    }

    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish(transport.apiError({ verb: 'exec into', resource: 'pods', name: pod, namespace }, res.statusCode ?? 0, Buffer.concat(chunks))));
      res.on('error', (err) => finish(transport.unreachable(err)));
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (!opened) finish(transport.unreachable(err));
      else finish(new Error(`${transport.context}: ${where}: the connection failed: ${err.message}`));
    });

    const hold = (): void => {
      if (pausedBy++ === 0) ws.pause();
    };
    const unhold = (): void => {
      if (--pausedBy === 0 && !settled) ws.resume();
    };
    const deliver = (out: Writable | undefined, data: Buffer): void => {
      if (!out) return;
      if (!out.write(data)) {
        hold();
        out.once('drain', unhold);
      }
    };
    for (const out of [options.stdout, options.stderr]) {
      out?.once('error', (err) => finish(new Error(`${transport.context}: ${where}: writing the output failed: ${err.message}`)));
    }

    ws.on('open', () => {
      opened = true;
      release();
      if (options.stdin) pumpStdin(ws, options.stdin, ws.protocol === 'v5.channel.k8s.io').catch((err: Error) => finish(new Error(`${transport.context}: ${where}: reading stdin failed: ${err.message}`)));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (settled || !isBinary || data.length === 0) return;
      const payload = data.subarray(1);
      switch (data[0]) {
        case STDOUT:
          return deliver(options.stdout, payload);
        case STDERR:
          return deliver(options.stderr, payload);
        case STATUS:
          // The status is the last message: the streams are complete, so the result need not wait for the close handshake.
          status = parseStatus(payload.toString('utf8'));
          ws.close(1000);
          setTimeout(() => ws.terminate(), 1000).unref();
          // Resolve once the consumers have taken everything written to them, so the caller sees complete output.
          void Promise.all([flushed(options.stdout), flushed(options.stderr)]).then(() => finish(undefined, status));
          return;
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (status) return;
      if (!opened) return;
      const why = reason.length ? `: ${reason.toString('utf8')}` : '';
      finish(new Error(`${transport.context}: ${where}: the connection closed (code ${code}${why}) before the command reported its exit status`));
    });
  });
}

/** metav1.Status on the status channel: Success, or Failure with the exit code among the causes. */
export function parseStatus(text: string): ExecResult {
  let s: { status?: string; message?: string; reason?: string; details?: { causes?: { reason?: string; message?: string }[] } };
  try {
    s = JSON.parse(text);
  } catch {
    // Before v4 the channel carried a bare message on failure.
    return { exitCode: -1, message: text };
  }
  if (s.status === 'Success') return { exitCode: 0 };
  const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
  const exitCode = cause?.message !== undefined && /^\d+$/.test(cause.message) ? Number(cause.message) : -1;
  return { exitCode, message: s.message };
}

/** Resolves when the stream has processed every chunk written to it (or was destroyed). */
async function flushed(out: Writable | undefined): Promise<void> {
  while (out && out.writableLength > 0 && !out.destroyed) {
    // 'drain' only comes after a write() that returned false; below the mark the buffer is polled.
    if (out.writableNeedDrain) await new Promise((resolve) => out.once('drain', resolve).once('close', resolve));
    else await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function pumpStdin(ws: WebSocket, stdin: Readable, canClose: boolean): Promise<void> {
  const prefix = Buffer.from([STDIN]);
  for await (const chunk of stdin) {
    if (ws.readyState !== WebSocket.OPEN) return;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    const sent = new Promise<void>((resolve, reject) => ws.send(Buffer.concat([prefix, data]), { binary: true }, (err) => (err ? reject(err) : resolve())));
    if (ws.bufferedAmount > STDIN_HIGH_WATER) await sent;
    else sent.catch(() => undefined);
  }
  // v4 has no way to end stdin alone; the process sees EOF only when the exec ends.
  if (canClose && ws.readyState === WebSocket.OPEN) ws.send(Buffer.from([CLOSE, STDIN]), { binary: true });
}
