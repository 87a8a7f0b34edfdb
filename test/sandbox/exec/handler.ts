import { spawn, type ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ExecHandler, ExecRequest, KObject, ObjectApi } from '../contract';
import type { HostDirs } from '../controllers/hostdirs';
import { R } from '../controllers/resources';
import { VolumeUnavailableError, containerEnv, containerMounts } from './mounts';
import { bwrapArgs } from './sandbox';
import { serveSpdy } from './spdy';
import { exitStatus } from './status';

/** The remotecommand channel subprotocols, most capable first. */
const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

/** Output is paused above this many unsent bytes, resumed below the low mark: memory stays flat. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

export interface ExecHandlerOptions {
  api: ObjectApi;
  dirs: HostDirs;
  /** The bwrap binary (bubblewrap). */
  bwrap?: string;
  log?: (message: string) => void;
}

/**
 * pods/exec over WebSocket, as the kubelet serves it through the API
 * server: the command runs as a real process (bubblewrap) that sees the
 * pod's volumes at their mount paths; stdin, stdout and stderr travel on
 * channels 0-2, the exit status on channel 3 as a metav1.Status, and with
 * v5 the client half-closes stdin on channel 255. Clients that upgrade to
 * SPDY/3.1 instead (kubectl 1.29 and older) are served by ./spdy.
 */
export function createExecHandler(options: ExecHandlerOptions): ExecHandler & { close(): void } {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  const live = new Set<ChildProcess>();
  const handler = (request: ExecRequest, req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void prepare(options, request).then(
      (prepared) => {
        if ('error' in prepared) {
          rejectUpgrade(socket, prepared.code, prepared.error);
          return;
        }
        // kubectl before 1.30 (and as a fallback) upgrades to SPDY/3.1 instead of WebSocket.
        if (/^spdy\//i.test(String(req.headers.upgrade ?? ''))) serveSpdy(options, req, socket, head, request, prepared.args, live);
        else wss.handleUpgrade(req, socket, head, (ws) => run(options, ws, request, prepared.args, live));
      },
      (err: unknown) => rejectUpgrade(socket, 500, `exec failed: ${(err as Error)?.message ?? String(err)}`),
    );
  };
  return Object.assign(handler, {
    close() {
      for (const c of live) c.kill('SIGKILL');
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  });
}

type Prepared = { args: string[] } | { error: string; code: number };

async function prepare(options: ExecHandlerOptions, request: ExecRequest): Promise<Prepared> {
  const pod: KObject | undefined = await options.api.get(R.pods, request.namespace, request.pod);
  if (!pod) return { error: `pods "${request.pod}" not found`, code: 404 };
  const containers: any[] = pod.spec?.containers ?? [];
  const name = request.container || pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] || containers[0]?.name;
  const container = containers.find((c) => c.name === name);
  if (!container) return { error: `container ${name} is not valid for pod ${request.pod}`, code: 400 };
  if (pod.status?.phase !== 'Running') return { error: `container not found ("${name}")`, code: 400 };
  if (request.command.length === 0) return { error: 'you must specify at least one command for the container', code: 400 };
  try {
    const mounts = await containerMounts(options.api, options.dirs, pod, container);
    const env = await containerEnv(options.api, pod, container);
    return { args: bwrapArgs({ hostname: pod.spec?.hostname ?? pod.metadata.name, mounts, env, workingDir: container.workingDir, command: request.command }) };
  } catch (err) {
    if (err instanceof VolumeUnavailableError) return { error: `unable to start container process: ${err.message}`, code: 500 };
    throw err;
  }
}

/** An upgrade refused with a Status body, which kubectl prints after "unable to upgrade connection:". */
function rejectUpgrade(socket: Duplex, code: number, message: string): void {
  const reason = code === 404 ? 'NotFound' : code === 400 ? 'BadRequest' : 'InternalError';
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  const text = code === 404 ? 'Not Found' : code === 400 ? 'Bad Request' : 'Internal Server Error';
  socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function frame(channel: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const out = Buffer.allocUnsafe(payload.length + 1);
  out[0] = channel;
  payload.copy(out, 1);
  return out;
}

function run(options: ExecHandlerOptions, ws: WebSocket, request: ExecRequest, args: string[], live: Set<ChildProcess>): void {
  const protocol = ws.protocol || 'channel.k8s.io';
  let child: ChildProcess;
  try {
    child = spawn(options.bwrap ?? 'bwrap', args, { stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  } catch (err) {
    ws.send(frame(ERROR, `exec failed: ${(err as Error).message}`), () => ws.close(1000));
    return;
  }
  live.add(child);
  let exited = false;
  let paused = false;
  const outputs = [child.stdout!, child.stderr!];
  const maybeResume = (): void => {
    if (paused && ws.bufferedAmount < LOW_WATER) {
      paused = false;
      for (const s of outputs) s.resume();
    }
  };
  const forward = (channel: number) => (chunk: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(frame(channel, chunk), { binary: true }, maybeResume);
    if (!paused && ws.bufferedAmount > HIGH_WATER) {
      paused = true;
      for (const s of outputs) s.pause();
    }
  };
  child.stdout!.on('data', request.stdout ? forward(STDOUT) : () => undefined);
  // With a terminal there is no separate stderr: both go to stdout, as through a pty.
  child.stderr!.on('data', request.tty ? forward(STDOUT) : request.stderr ? forward(STDERR) : () => undefined);
  child.stdin?.on('error', () => undefined);
  // A process that stops reading (exits, closes stdin) never drains its
  // stdin: without this the paused socket would never read the client's
  // close frame, and every close would wait out the WebSocket timeout.
  child.stdin?.on('close', () => ws.resume());

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const channel = data[0];
    if (channel === STDIN && child.stdin && !child.stdin.writableEnded) {
      if (!child.stdin.write(data.subarray(1))) {
        ws.pause();
        child.stdin.once('drain', () => ws.resume());
      }
    } else if (channel === CLOSE && data[1] === STDIN) {
      child.stdin?.end();
    } else if (channel === RESIZE) {
      // Terminal size changes have no effect: the process has no terminal.
    }
  });
  ws.on('close', () => {
    if (!exited) child.kill('SIGKILL');
  });
  ws.on('error', () => {
    if (!exited) child.kill('SIGKILL');
  });
  child.on('error', (err) => {
    exited = true;
    live.delete(child);
    const message = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'bwrap (bubblewrap) is not installed: run `bash scripts/setup.sh`' : err.message;
    if (ws.readyState === ws.OPEN) ws.send(frame(ERROR, JSON.stringify({ metadata: {}, status: 'Failure', message: `exec failed: ${message}` })), () => ws.close(1000));
    options.log?.(`exec in ${request.namespace}/${request.pod} failed: ${message}`);
  });
  child.on('close', (code, signal) => {
    if (exited) return;
    exited = true;
    live.delete(child);
    ws.resume();
    if (ws.readyState !== ws.OPEN) return;
    const status = exitStatus(protocol, request.command, code, signal);
    if (status) ws.send(frame(ERROR, status));
    ws.close(1000);
  });
}
