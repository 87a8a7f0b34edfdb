/**
 * FAULT INJECTION DEVICE (a deliberate stand-in, not a mock of the API server).
 *
 * A loopback HTTP front that forwards every request unchanged to a real
 * sandbox API server over HTTPS, except those matching an injected rule. It
 * exists for what a healthy server cannot be made to do on demand:
 * answer 429 with Retry-After or 503, or drop the connection after doing
 * the work but before the answer arrives. It also counts requests in
 * flight, to check the client's parallelism bound.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export type Fault = { status: 429 | 500 | 503; retryAfter?: string } | { reset: 'before-response' } | { delayMs: number };

export interface FaultRule {
  method?: string;
  pathIncludes?: string;
  times: number;
  fault: Fault;
}

export interface FaultFront {
  /** http://127.0.0.1:PORT */
  url: string;
  inject(rule: FaultRule): void;
  /** Requests seen per method and path (without query); each entry is one arrival. */
  seen(): { method: string; path: string; at: number }[];
  /** Cuts every open connection (a network blip). */
  dropConnections(): void;
  /** Query strings of the requests seen, in order. */
  queries(): string[];
  /** Most requests in flight at once since the last reset. */
  maxInFlight(): number;
  reset(): void;
  stop(): Promise<void>;
}

export async function startFaultFront(upstream: string, caCert: string): Promise<FaultFront> {
  const rules: { rule: FaultRule; left: number }[] = [];
  let seen: { method: string; path: string; at: number }[] = [];
  let queries: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const sockets = new Set<Socket>();
  const agent = new https.Agent({ ca: caCert, keepAlive: true });

  const take = (req: http.IncomingMessage): Fault | undefined => {
    for (const entry of rules) {
      if (entry.left <= 0) continue;
      if (entry.rule.method && entry.rule.method !== req.method) continue;
      if (entry.rule.pathIncludes && !(req.url ?? '').includes(entry.rule.pathIncludes)) continue;
      entry.left--;
      return entry.rule.fault;
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0], at: Date.now() });
    queries.push((req.url ?? '').split('?')[1] ?? '');
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    const fault = take(req);
    if (fault && 'status' in fault) {
      req.resume();
      const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'injected fault', reason: fault.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', code: fault.status });
      res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
      res.end(body);
      return;
    }
    const forward = (): void => {
      const up = https.request(new URL(req.url ?? '/', upstream), { method: req.method, headers: { ...req.headers, host: new URL(upstream).host }, agent }, (upRes) => {
        if (fault && 'reset' in fault) {
          // The server did the work; the client never hears of it.
          upRes.resume();
          upRes.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => req.socket.destroy());
      req.pipe(up);
    };
    if (fault && 'delayMs' in fault) setTimeout(forward, fault.delayMs);
    else forward();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    inject: (rule) => rules.push({ rule, left: rule.times }),
    seen: () => [...seen],
    maxInFlight: () => maxInFlight,
    queries: () => [...queries],
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    reset: () => {
      rules.length = 0;
      seen = [];
      queries = [];
      maxInFlight = inFlight;
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
