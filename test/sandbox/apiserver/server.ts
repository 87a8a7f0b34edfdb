/**
 * A Kubernetes API server for sandbox clusters: HTTPS with bearer tokens,
 * RBAC, discovery, the built-in kinds and CRDs, watch, patch and
 * server-side apply, garbage collection and namespace deletion, stored in
 * memory or in etcd under kube-apiserver's key layout. Bootstrap objects
 * (namespaces, the `kubernetes` Service, RBAC for users `admin` and
 * `restricted`) are described in bootstrap.ts.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { ExecHandler, ExecRequest, KObject, ObjectApi } from '../contract';
import { bootstrap } from './bootstrap';
import { CrdController } from './crds';
import * as errors from './errors';
import { ApiError } from './errors';
import { GarbageCollector } from './gc';
import { authenticate, authorize, handle, parseResourcePath, type HttpContext } from './http';
import { KindRegistry, kindFromCrd } from './kinds';
import { NamespaceLifecycle } from './namespaces';
import { Authorizer } from './rbac';
import { NamespaceDefaults } from './serviceaccounts';
import { TokenIssuer } from './tokens';
import { Registry } from './registry';
import { EtcdBackend, MemoryBackend, ObjectStore } from './store';

export interface ApiServerOptions {
  /** Cluster name, used in messages. */
  name: string;
  /** etcd endpoint URL, e.g. http://127.0.0.1:2379; prefix defaults to '/registry'. */
  storage: 'memory' | { etcd: string; prefix?: string };
  /** PEM. */
  tls: { cert: string; key: string };
  /** Bearer token → identity. */
  tokens: Record<string, { user: string; groups: string[] }>;
  host?: string;
  /** 0 or undefined: a free port. */
  port?: number;
  /**
   * The cluster CA (PEM). When given, the server itself fills every namespace
   * with the `default` ServiceAccount and the kube-root-ca.crt ConfigMap;
   * leave it out when controllers of the composing cluster do that.
   */
  caCert?: string;
}

export interface ApiServer {
  /** In-process access, no authentication (controllers use it). */
  readonly api: ObjectApi;
  /** https://HOST:PORT */
  readonly url: string;
  /** Serves pods/exec after authentication, authorization and the pod-exists check. */
  setExecHandler(handler: ExecHandler): void;
  /** Forgets history up to now, as kube-apiserver's periodic etcd compaction does; returns the revision. */
  compact(): Promise<number>;
  /** A bearer token for system:serviceaccount:NAMESPACE:NAME, as TokenRequest issues (valid while the ServiceAccount exists). */
  serviceAccountToken(namespace: string, name: string, expirationSeconds?: number): string;
  /** Resolves once garbage collection, namespace deletion and CRD work queued so far is done. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** kube-apiserver compacts etcd every 5 minutes. */
const COMPACTION_INTERVAL_MS = 5 * 60 * 1000;

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const kinds = new KindRegistry();
  const etcd = options.storage === 'memory' ? undefined : options.storage;
  const prefix = (etcd?.prefix ?? '/registry').replace(/\/+$/, '');
  const store = new ObjectStore(etcd ? new EtcdBackend(etcd.etcd, prefix) : new MemoryBackend(), prefix);
  if (etcd) {
    try {
      await store.load((relativeKey, obj) => resolveKey(kinds, relativeKey, obj));
    } catch (e) {
      await store.close().catch(() => undefined);
      throw new Error(`cluster ${options.name}: cannot read etcd at ${etcd.etcd}: ${(e as Error).message}. Is etcd running there?`);
    }
  }
  const registry = new Registry(kinds, store);
  const crds = new CrdController(registry);
  const gc = new GarbageCollector(registry);
  const namespaces = new NamespaceLifecycle(registry);
  // Without the CA the composing cluster runs its own controllers for namespace content.
  const nsDefaults = options.caCert ? new NamespaceDefaults(registry, options.caCert) : undefined;
  const authorizer = new Authorizer(store);
  const tokenIssuer = new TokenIssuer(registry, options.caCert);
  const host = options.host ?? '127.0.0.1';
  let execHandler: ExecHandler | undefined;
  let address = '';
  const ctx: HttpContext = { registry, authorizer, tokens: options.tokens, tokenIssuer, serverAddress: () => address };

  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    void handle(ctx, req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      const exec = checkExec(ctx, req);
      if (!execHandler) throw errors.internal(`cluster ${options.name} serves no pod exec`);
      execHandler(exec, req, socket, head);
    } catch (e) {
      const err = e instanceof ApiError ? e : errors.internal(String(e));
      const body = JSON.stringify(err.status);
      socket.end(`HTTP/1.1 ${err.statusCode} ${err.status.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
  });
  const sockets = new Set<Duplex>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  address = `${host}:${port}`;
  const url = `https://${host}:${port}`;
  try {
    await bootstrap(registry, { host, port });
  } catch (e) {
    server.close();
    throw e;
  }
  // Like kube-apiserver: each run compacts to the revision the previous run saw, so history spans one to two intervals.
  let seen = store.revision;
  const compaction = setInterval(() => {
    const upTo = seen;
    seen = store.revision;
    void store.compact(upTo).catch(() => undefined);
  }, COMPACTION_INTERVAL_MS);
  compaction.unref();

  return {
    api: registry,
    url,
    setExecHandler(handler: ExecHandler): void {
      execHandler = handler;
    },
    compact: () => store.compact(),
    serviceAccountToken(namespace: string, name: string, expirationSeconds = 3600): string {
      return String(tokenIssuer.tokenRequest(namespace, name, { spec: { expirationSeconds } }).status.token);
    },
    async settled(): Promise<void> {
      for (let i = 0; i < 3; i++) await Promise.all([gc.queue.idle(), namespaces.queue.idle(), crds.queue.idle(), nsDefaults?.queue.idle(), tokenIssuer.queue.idle()]);
    },
    async close(): Promise<void> {
      clearInterval(compaction);
      gc.stop();
      namespaces.stop();
      nsDefaults?.stop();
      tokenIssuer.stop();
      crds.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await store.close();
    },
  };
}

/** Maps an etcd key (below the prefix) back to the kind, namespace and name it holds. */
function resolveKey(kinds: KindRegistry, relativeKey: string, obj: KObject): { storageKey: string; namespace: string; name: string } | undefined {
  if (relativeKey.startsWith('apiextensions.k8s.io/customresourcedefinitions/')) {
    const info = kindFromCrd(obj);
    if (info && !kinds.get({ group: info.group, resource: info.resource })) kinds.add(info);
  }
  let best: { storageKey: string; etcdPath: string; namespaced: boolean } | undefined;
  for (const k of kinds.all()) {
    if (!k.stored) continue;
    if (relativeKey.startsWith(k.etcdPath + '/') && (!best || k.etcdPath.length > best.etcdPath.length)) {
      best = { storageKey: k.storageKey, etcdPath: k.etcdPath, namespaced: k.namespaced };
    }
  }
  if (!best) return undefined;
  const rest = relativeKey.slice(best.etcdPath.length + 1).split('/');
  if (best.namespaced ? rest.length !== 2 : rest.length !== 1) return undefined;
  return best.namespaced ? { storageKey: best.storageKey, namespace: rest[0], name: rest[1] } : { storageKey: best.storageKey, namespace: '', name: rest[0] };
}

function checkExec(ctx: HttpContext, req: IncomingMessage): ExecRequest {
  const url = new URL(req.url ?? '/', 'https://localhost');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const who = authenticate(ctx, req);
  const rr = parseResourcePath(ctx, parts);
  if (!rr || rr.subresource !== 'exec' || rr.info.resource !== 'pods' || rr.info.group !== '') throw errors.pathNotFound();
  authorize(ctx, who, { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: rr.namespace, name: rr.name });
  const pod = ctx.registry.stored(rr.info, rr.namespace, rr.name!);
  if (!pod) throw errors.notFound('', 'pods', rr.name!);
  const q = url.searchParams;
  const containers: string[] = (pod.obj.spec?.containers ?? []).map((c: any) => c.name);
  let container = q.get('container') ?? undefined;
  if (!container) {
    if (containers.length !== 1 && !pod.obj.metadata.annotations?.['kubectl.kubernetes.io/default-container']) {
      throw errors.badRequest(`a container name must be specified for pod ${rr.name}, choose one of: [${containers.join(' ')}]`);
    }
    container = pod.obj.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? containers[0];
  }
  if (!containers.includes(container!) && !(pod.obj.spec?.initContainers ?? []).some((c: any) => c.name === container)) {
    throw errors.badRequest(`container ${container} is not valid for pod ${rr.name}`);
  }
  const command = q.getAll('command');
  if (command.length === 0) throw errors.badRequest('you must specify at least 1 command');
  const flag = (n: string): boolean => q.get(n) === 'true' || q.get(n) === '1';
  return { namespace: rr.namespace!, pod: rr.name!, container, command, stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr'), tty: flag('tty') };
}
