import { spawn, type ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';
import type { ExecRequest } from '../contract';
import type { ExecHandlerOptions } from './handler';
import { exitStatus } from './status';

/**
 * pods/exec over SPDY/3.1, the transport kubectl used before WebSocket
 * (1.29 and older; newer ones fall back to it). The client opens one
 * stream per channel, always in the order error, stdin, stdout, stderr,
 * resize (each only when requested), so a stream's role is known from its
 * position without reading its compressed headers. Our replies carry empty
 * header blocks, compressed without the SPDY dictionary, which a zlib
 * reader given the dictionary accepts all the same.
 */
const PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

const TYPE_SYN_STREAM = 1;
const TYPE_SYN_REPLY = 2;
const TYPE_RST_STREAM = 3;
const TYPE_PING = 6;
const TYPE_GOAWAY = 7;
const FLAG_FIN = 0x01;
const MAX_DATA = 16 * 1024;

type Role = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(8 + payload.length);
  out.writeUInt16BE(0x8003, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  payload.copy(out, 8);
  return out;
}

function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const out = Buffer.alloc(8 + data.length);
  out.writeUInt32BE(streamId & 0x7fffffff, 0);
  out.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  data.copy(out, 8);
  return out;
}

export function serveSpdy(options: ExecHandlerOptions, req: IncomingMessage, socket: Duplex, head: Buffer, request: ExecRequest, args: string[], live: Set<ChildProcess>): void {
  const offered = String(req.headers['x-stream-protocol-version'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const protocol = PROTOCOLS.find((p) => offered.includes(p)) ?? 'channel.k8s.io';
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      (offered.length ? `X-Stream-Protocol-Version: ${protocol}\r\n` : '') +
      '\r\n',
  );

  const roles: Role[] = ['error'];
  if (request.stdin) roles.push('stdin');
  if (request.stdout) roles.push('stdout');
  if (request.stderr && !request.tty) roles.push('stderr');
  if (request.tty) roles.push('resize');
  const streams = new Map<Role, number>();
  const byId = new Map<number, Role>();
  // Header blocks share one zlib stream per direction for the whole connection.
  const compressor = zlib.createDeflate();
  let compressed: Buffer[] = [];
  compressor.on('data', (c: Buffer) => compressed.push(c));
  let replyChain: Promise<void> = Promise.resolve();
  const emptyHeaderBlock = (): Promise<Buffer> =>
    new Promise((resolve) => {
      compressor.write(Buffer.alloc(4));
      compressor.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const out = Buffer.concat(compressed);
        compressed = [];
        resolve(out);
      });
    });

  let child: ChildProcess | undefined;
  let exited = false;
  let closed = false;
  let pending: Buffer = Buffer.alloc(0);
  const outputs: NodeJS.ReadableStream[] = [];
  let paused = false;
  const send = (buf: Buffer): void => {
    if (closed) return;
    if (!socket.write(buf) && !paused) {
      paused = true;
      for (const o of outputs) o.pause();
      socket.once('drain', () => {
        paused = false;
        for (const o of outputs) o.resume();
      });
    }
  };
  const sendData = (role: Role, data: Buffer, fin = false): void => {
    const id = streams.get(role);
    if (id === undefined) return;
    for (let off = 0; off < data.length; off += MAX_DATA) {
      const piece = data.subarray(off, off + MAX_DATA);
      send(dataFrame(id, fin && off + MAX_DATA >= data.length ? FLAG_FIN : 0, piece));
    }
    if (fin && data.length === 0) send(dataFrame(id, FLAG_FIN, Buffer.alloc(0)));
  };
  const shutdown = (): void => {
    if (closed) return;
    closed = true;
    compressor.close();
    if (!exited) child?.kill('SIGKILL');
    socket.destroy();
  };

  const start = (): void => {
    try {
      child = spawn(options.bwrap ?? 'bwrap', args, { stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    } catch (err) {
      sendData('error', Buffer.from(`exec failed: ${(err as Error).message}`), true);
      socket.end();
      return;
    }
    live.add(child);
    outputs.push(child.stdout!, child.stderr!);
    child.stdin?.on('error', () => undefined);
    child.stdout!.on('data', (d: Buffer) => sendData('stdout', d));
    child.stderr!.on('data', (d: Buffer) => sendData(request.tty ? 'stdout' : 'stderr', d));
    child.on('error', (err) => {
      exited = true;
      live.delete(child!);
      const message = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'bwrap (bubblewrap) is not installed: run `bash scripts/setup.sh`' : err.message;
      sendData('error', Buffer.from(`exec failed: ${message}`), true);
      socket.end();
    });
    child.on('close', (code, signal) => {
      if (exited) return;
      exited = true;
      live.delete(child!);
      sendData('stdout', Buffer.alloc(0), true);
      sendData('stderr', Buffer.alloc(0), true);
      sendData('error', Buffer.from(exitStatus(protocol, request.command, code, signal) ?? ''), true);
      const goaway = Buffer.alloc(8);
      send(controlFrame(TYPE_GOAWAY, 0, goaway));
      socket.end();
    });
  };

  const onFrame = (frame: Buffer): void => {
    const control = (frame[0] & 0x80) !== 0;
    const flags = frame[4];
    const payload = frame.subarray(8);
    if (!control) {
      const id = frame.readUInt32BE(0) & 0x7fffffff;
      const role = byId.get(id);
      if (role === 'stdin' && child?.stdin && !child.stdin.writableEnded) {
        if (payload.length && !child.stdin.write(payload)) {
          socket.pause();
          child.stdin.once('drain', () => socket.resume());
        }
        if (flags & FLAG_FIN) child.stdin.end();
      }
      return;
    }
    const type = frame.readUInt16BE(2);
    if (type === TYPE_SYN_STREAM) {
      const id = payload.readUInt32BE(0) & 0x7fffffff;
      const role = roles[streams.size];
      if (role) {
        streams.set(role, id);
        byId.set(id, role);
      }
      const ready = streams.size === roles.length;
      replyChain = replyChain.then(async () => {
        const reply = Buffer.concat([Buffer.alloc(4), await emptyHeaderBlock()]);
        reply.writeUInt32BE(id, 0);
        send(controlFrame(TYPE_SYN_REPLY, 0, reply));
        if (ready && !child) start();
      });
    } else if (type === TYPE_PING) {
      send(frame);
    } else if (type === TYPE_RST_STREAM || type === TYPE_GOAWAY) {
      if (type === TYPE_GOAWAY || byId.get(payload.readUInt32BE(0) & 0x7fffffff) === 'error') shutdown();
    }
  };

  const onData = (chunk: Buffer): void => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const length = pending.readUInt32BE(4) & 0xffffff;
      if (pending.length < 8 + length) break;
      onFrame(pending.subarray(0, 8 + length));
      pending = pending.subarray(8 + length);
    }
  };
  socket.on('data', onData);
  if (head.length) onData(head);
  socket.on('close', shutdown);
  socket.on('error', shutdown);
}
