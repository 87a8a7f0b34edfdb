/**
 * One authenticated connection to an API server: the kubeconfig's TLS and
 * credentials applied afresh to every request (exec-plugin and OIDC tokens
 * expire and are refreshed by client-node), at most `parallelism` requests
 * at once, retries for what is safe to retry, and failures turned into
 * KubeApiError / KubeUnreachableError that name the context and the call.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeUnreachableError } from './types';
import { Semaphore } from './semaphore';
import { backoffMs, defaultRetryPolicy, isRetryable, sleep, type RetryPolicy } from './retry';

/** What a call was about, for error messages: "cannot list secrets in namespace "shop"". */
export interface CallTarget {
  verb: string;
  /** kubectl-style resource name ("deployments.apps"), or a path for raw calls. */
  resource: string;
  name?: string;
  namespace?: string;
}

export interface Call {
  method: string;
  path: string;
  query?: Record<string, string | string[] | undefined>;
  body?: Buffer | string;
  contentType?: string;
  /** Safe to send twice: reads, deletes, dry runs, access reviews. */
  idempotent: boolean;
  target: CallTarget;
  signal?: AbortSignal;
  /** Silence on the connection after which the call fails with ETIMEDOUT (default one minute). */
  idleTimeoutMs?: number;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Options for https.request / new WebSocket: TLS material and headers, as the kubeconfig says. */
export type ConnectOptions = https.RequestOptions & { headers: http.OutgoingHttpHeaders };

const USER_AGENT = 'lifeboat';
const REQUEST_IDLE_TIMEOUT_MS = 60_000;
const FREE_SOCKET_TIMEOUT_MS = 30_000;

export class Transport {
  private readonly semaphore: Semaphore;
  private readonly agents = new Map<string, http.Agent>();
  private readonly isHttps: boolean;

  constructor(
    private readonly kc: KubeConfig,
    readonly context: string,
    readonly server: string,
    readonly parallelism: number,
    private readonly retry: RetryPolicy = defaultRetryPolicy,
  ) {
    this.semaphore = new Semaphore(parallelism);
    this.isHttps = new URL(server).protocol === 'https:';
  }

  /** Waits for a request slot; call the returned function when done. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    return this.semaphore.acquire(signal);
  }

  /**
   * TLS options and auth headers for one request. client-node builds a new
   * agent every time; unless a proxy is configured it is swapped for a
   * keep-alive agent shared by requests with the same TLS material.
   */
  async connectOptions(forWebSocket = false): Promise<ConnectOptions> {
    const opts: https.RequestOptions = { headers: {} };
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw new CredentialsError(`${this.context}: cannot get credentials from the kubeconfig: ${(err as Error).message}`);
    }
    const headers = (opts.headers ?? {}) as http.OutgoingHttpHeaders;
    headers['user-agent'] = USER_AGENT;
    const proxied = Boolean(this.kc.getCurrentCluster()?.proxyUrl);
    if (!proxied) {
      delete opts.agent;
      if (!forWebSocket) opts.agent = this.agentFor(opts);
    }
    return { ...opts, headers };
  }

  private agentFor(opts: https.RequestOptions): http.Agent {
    const h = createHash('sha256');
    for (const part of [opts.ca, opts.cert, opts.key, opts.pfx, opts.passphrase, opts.servername, String(opts.rejectUnauthorized)]) {
      h.update(part === undefined ? '-' : Buffer.isBuffer(part) ? part : String(part));
      h.update('\0');
    }
    const key = h.digest('hex');
    let agent = this.agents.get(key);
    if (!agent) {
      // Idle connections are closed well before servers and load balancers close them (minutes), so a
      // write rarely meets a connection the server is closing, which could not be safely sent again.
      const common = { keepAlive: true, maxSockets: this.parallelism * 2, timeout: FREE_SOCKET_TIMEOUT_MS };
      agent = this.isHttps
        ? new https.Agent({ ...common, ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase, servername: opts.servername, rejectUnauthorized: opts.rejectUnauthorized })
        : new http.Agent(common);
      // Credentials rotate rarely. An agent left behind is not destroyed (a call may still use it):
      // its idle connections time out and it is collected.
      if (this.agents.size >= 8) this.agents.delete(this.agents.keys().next().value!);
      this.agents.set(key, agent);
    }
    return agent;
  }

  url(path: string, query?: Call['query']): URL {
    // Appended, not resolved: a server URL with a path prefix (behind a proxy) keeps it.
    const u = new URL(this.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) u.searchParams.append(k, one);
    }
    return u;
  }

  /** Sends a call and reads the whole reply, retrying as the policy allows; non-2xx replies become KubeApiError. */
  async send(call: Call): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      const last = attempt + 1 >= this.retry.attempts;
      let reply: Reply;
      try {
        const release = await this.acquire(call.signal);
        try {
          reply = await this.once(call);
        } finally {
          release();
        }
      } catch (err) {
        if (call.signal?.aborted) throw call.signal.reason;
        const code = (err as NodeJS.ErrnoException).code;
        if (!last && isRetryable({ code }, call.idempotent)) {
          await sleep(backoffMs(this.retry, attempt), call.signal);
          continue;
        }
        throw this.unreachable(err as NodeJS.ErrnoException, call);
      }
      if (reply.status >= 200 && reply.status < 300) return reply;
      if (!last && isRetryable({ status: reply.status }, call.idempotent)) {
        await sleep(backoffMs(this.retry, attempt, reply.headers['retry-after']), call.signal);
        continue;
      }
      throw this.apiError(call.target, reply.status, reply.body);
    }
  }

  /** Sends a call and hands back the response stream once 2xx headers arrive (watch). The caller consumes or destroys it. */
  async open(call: Call): Promise<http.IncomingMessage> {
    const release = await this.acquire(call.signal);
    let res: http.IncomingMessage;
    try {
      res = await this.start(call);
    } catch (err) {
      if (call.signal?.aborted) throw call.signal.reason;
      throw this.unreachable(err as NodeJS.ErrnoException);
    } finally {
      // A watch holds its connection for minutes; only establishing it counts against parallelism.
      release();
    }
    if (res.statusCode! >= 200 && res.statusCode! < 300) return res;
    const body = await readAll(res);
    throw this.apiError(call.target, res.statusCode!, body);
  }

  private async once(call: Call): Promise<Reply> {
    const res = await this.start(call);
    const body = await readAll(res);
    return { status: res.statusCode ?? 0, headers: res.headers, body };
  }

  private async start(call: Call): Promise<http.IncomingMessage> {
    const opts = await this.connectOptions();
    const u = this.url(call.path, call.query);
    const headers: http.OutgoingHttpHeaders = { ...(opts.headers as http.OutgoingHttpHeaders), accept: 'application/json' };
    let body: Buffer | undefined;
    if (call.body !== undefined) {
      body = Buffer.isBuffer(call.body) ? call.body : Buffer.from(call.body);
      headers['content-type'] = call.contentType ?? 'application/json';
      headers['content-length'] = body.length;
    }
    return new Promise((resolve, reject) => {
      const mod = this.isHttps ? https : http;
      const req = mod.request(u, { ...opts, method: call.method, headers, signal: call.signal }, resolve);
      req.on('error', reject);
      // A server that stops answering would otherwise hold the call forever; ETIMEDOUT is retried for idempotent calls.
      req.setTimeout(call.idleTimeoutMs ?? REQUEST_IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer for ${Math.round((call.idleTimeoutMs ?? REQUEST_IDLE_TIMEOUT_MS) / 1000)} s`), { code: 'ETIMEDOUT' })));
      req.end(body);
    });
  }

  apiError(target: CallTarget, status: number, body: Buffer): KubeApiError {
    let parsed: { kind?: string; message?: string; reason?: string } | undefined;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const isStatus = parsed?.kind === 'Status';
    const reason = (isStatus && parsed?.reason) || reasonForStatus(status);
    const serverMessage = isStatus && parsed?.message ? parsed.message : body.toString('utf8').slice(0, 300).trim() || http.STATUS_CODES[status] || `HTTP ${status}`;
    const hint = status === 401 ? ' (the credentials were rejected: refresh them in the kubeconfig, e.g. log in again)' : status === 403 ? ' (ask for RBAC permission, or use a context that has it)' : '';
    return new KubeApiError(`${this.context}: cannot ${describe(target)}: ${reason}: ${serverMessage}${hint}`, status, reason, this.context, isStatus ? parsed : undefined);
  }

  unreachable(err: NodeJS.ErrnoException, call?: Pick<Call, 'target' | 'idempotent'>): Error {
    if (err instanceof KubeApiError || err instanceof KubeUnreachableError || err instanceof CredentialsError) return err;
    const code = err.code ?? '';
    if (call && (code === 'ECONNRESET' || code === 'EPIPE')) {
      // The request may have reached the server: for a write, its outcome is unknown.
      const unknown = call.idempotent ? '' : '; it may or may not have taken effect: look before trying again';
      return new KubeUnreachableError(`${this.context}: the connection to the API server at ${this.server} was cut (${code}) during "${describe(call.target)}"${unknown}`, this.context, this.server);
    }
    const tls = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code) || /certificate/i.test(err.message);
    const check = tls
      ? "check the cluster's certificate-authority in the kubeconfig and that the server address is the cluster's"
      : 'check that the cluster is running and that its server address in the kubeconfig is reachable from here (VPN, proxy, firewall)';
    return new KubeUnreachableError(`${this.context}: cannot reach the API server at ${this.server}${code ? ` (${code})` : ''}: ${err.message}; ${check}`, this.context, this.server);
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

/** The kubeconfig's credentials could not be produced (an exec plugin or auth provider failed): not a network problem. */
export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

export function describe(t: CallTarget): string {
  const what = t.name !== undefined ? `${t.resource} "${t.name}"` : t.resource;
  const where = t.namespace ? ` in namespace "${t.namespace}"` : '';
  return `${t.verb} ${what}${where}`;
}

function reasonForStatus(status: number): string {
  const reasons: Record<number, string> = { 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Expired', 415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout' };
  return reasons[status] ?? 'Unknown';
}

export function readAll(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('aborted', () => reject(Object.assign(new Error('the response was cut off'), { code: 'ECONNRESET' })));
  });
}
