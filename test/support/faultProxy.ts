/**
 * FAULT INJECTION DEVICE (a deliberate stand-in, not a mock of S3).
 *
 * A loopback HTTP reverse proxy in front of a real S3 server (Ceph RGW) that
 * forwards every request unchanged, except those matching an injected rule.
 * It exists for the failures a healthy local server cannot be made to produce
 * on demand: S3 error answers such as 503 SlowDown or 500 InternalError, and
 * connections that die while a body is being uploaded or after the server
 * has done the work but before its answer arrives, or a server that stops
 * answering. Everything else the
 * client sees comes from the real server behind it.
 *
 * Requests are forwarded with their Host header intact, so SigV4 signatures
 * made for the proxy's address still verify at the server.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { status: 500 | 503; code?: string }
  /**
   * before-response: the request reaches the server and completes there, then
   *   the client's connection is cut before it sees the answer.
   * mid-request: the connection is cut after part of the request body was read;
   *   the server never sees the request.
   * mid-response: the answer is forwarded, then cut after part of its body.
   */
  | { reset: 'before-response' | 'mid-request' | 'mid-response' }
  /** The request is read, then nothing is answered for this long; then the connection is cut. */
  | { stallMs: number };

export interface FaultRule {
  method?: string;
  /** Substring of the request path and query (e.g. "partNumber=", "uploads", a key). */
  pathIncludes?: string;
  /** How many matching requests get the fault. */
  times: number;
  fault: Fault;
}

export interface FaultCounts {
  /** Requests seen, per HTTP method. */
  requests: Record<string, number>;
  /** Faults injected so far. */
  injected: number;
  /** Faults still armed across all rules. */
  armed: number;
}

export interface FaultProxy {
  endpoint: string;
  inject(rule: FaultRule): void;
  /** Drops all armed rules. */
  clear(): void;
  counts(): FaultCounts;
  stop(): Promise<void>;
}

const DEFAULT_CODES: Record<number, string> = { 500: 'InternalError', 503: 'SlowDown' };
const DEFAULT_MESSAGES: Record<string, string> = {
  SlowDown: 'Please reduce your request rate.',
  InternalError: 'We encountered an internal error. Please try again.',
  ServiceUnavailable: 'Service is unable to handle request.',
};

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: { rule: FaultRule; left: number }[] = [];
  const requests: Record<string, number> = {};
  let injected = 0;
  let sequence = 0;
  const sockets = new Set<Socket>();

  const take = (req: http.IncomingMessage): Fault | undefined => {
    for (const entry of rules) {
      if (entry.left <= 0) continue;
      if (entry.rule.method && entry.rule.method.toUpperCase() !== req.method) continue;
      if (entry.rule.pathIncludes && !(req.url ?? '').includes(entry.rule.pathIncludes)) continue;
      entry.left--;
      injected++;
      return entry.rule.fault;
    }
    return undefined;
  };

  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    onResponse?: (upstreamRes: http.IncomingMessage) => boolean,
  ): void => {
    const out = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        if (onResponse && !onResponse(upstreamRes)) return;
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    out.on('error', () => req.socket.destroy());
    req.pipe(out);
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    requests[method] = (requests[method] ?? 0) + 1;
    const fault = take(req);
    if (!fault) return forward(req, res);

    if ('status' in fault) {
      const code = fault.code ?? DEFAULT_CODES[fault.status];
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<Error><Code>${code}</Code><Message>${DEFAULT_MESSAGES[code] ?? code} (injected fault)</Message>` +
        `<RequestId>fault-${++sequence}</RequestId></Error>`;
      // Read the whole request first, as a server would, so the client is not
      // cut off mid-upload and sees the answer.
      req.resume();
      req.on('end', () => {
        res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }

    if ('stallMs' in fault) {
      req.resume();
      const timer = setTimeout(() => req.socket.destroy(), fault.stallMs);
      req.socket.once('close', () => clearTimeout(timer));
      return;
    }

    if (fault.reset === 'mid-request') {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (!declared) return req.socket.destroy();
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= Math.min(declared / 2, 256 * 1024)) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }

    if (fault.reset === 'before-response') {
      forward(req, res, (upstreamRes) => {
        upstreamRes.resume();
        upstreamRes.on('end', () => req.socket.destroy());
        return false;
      });
      return;
    }

    forward(req, res, (upstreamRes) => {
      const declared = Number(upstreamRes.headers['content-length'] ?? 0);
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      if (!declared) {
        req.socket.destroy();
        return false;
      }
      let sent = 0;
      upstreamRes.on('data', (chunk: Buffer) => {
        const room = Math.floor(declared / 2) - sent;
        if (room > 0) res.write(chunk.subarray(0, room));
        sent += chunk.length;
        if (sent >= declared / 2) {
          upstreamRes.destroy();
          req.socket.destroy();
        }
      });
      return false;
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject(rule) {
      if (!(rule.times > 0)) throw new Error(`fault rule needs times ≥ 1, got ${rule.times}`);
      rules.push({ rule, left: rule.times });
    },
    clear() {
      rules.length = 0;
    },
    counts() {
      return { requests: { ...requests }, injected, armed: rules.reduce((n, r) => n + r.left, 0) };
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
