/**
 * The KubeClient over Node's https module: JSON requests against one
 * kubeconfig context, discovery, paged lists, writes, watch and exec.
 */
import type { ApiResource, DeleteOptions, ExecOptions, ExecResult, KObject, KubeClient, KubeClientOptions, ListOptions, PatchOptions, PatchType, RequestOptions, WatchEventType, WatchOptions, WriteOptions } from './types';
import { KubeApiError, qualifiedName } from './types';
import { listObjects, withTypeMeta } from './list';
import { loadKubeConfig } from './kubeconfig';
import { Transport, type Call, type CallTarget } from './transport';
import { Discovery } from './discovery';
import { collectionPath, objectPath } from './paths';
import { execInPod } from './exec';
import { watchResource } from './watch';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export async function openKubeClient(options: KubeClientOptions = {}): Promise<KubeClient> {
  const kc = loadKubeConfig(options.kubeconfig, options.context);
  const context = kc.getCurrentContext();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`context "${context}" names a cluster the kubeconfig does not define: fix the context's cluster entry`);
  if (!kc.getCurrentUser()) throw new Error(`context "${context}" names a user the kubeconfig does not define: fix the context's user entry`);
  const transport = new Transport(kc, context, cluster.server, options.parallelism ?? 8);
  return new HttpKubeClient(transport, cluster.name);
}

class HttpKubeClient implements KubeClient {
  readonly context: string;
  readonly server: string;
  private readonly discovery: Discovery;

  constructor(
    private readonly transport: Transport,
    readonly cluster: string,
  ) {
    this.context = transport.context;
    this.server = transport.server;
    this.discovery = new Discovery(transport);
  }

  discover(options: { refresh?: boolean } & RequestOptions = {}): Promise<ApiResource[]> {
    return this.discovery.resources(options);
  }

  resourceFor(apiVersion: string, kind: string, options: RequestOptions = {}): Promise<ApiResource | undefined> {
    return this.discovery.resourceFor(apiVersion, kind, options);
  }

  /** Sends a call and parses its JSON reply. */
  private async json<T>(call: Call): Promise<T> {
    const reply = await this.transport.send(call);
    const text = reply.body.toString('utf8');
    if (!text) return undefined as T;
    const type = String(reply.headers['content-type'] ?? '');
    if (type && !type.includes('json')) return text as T;
    return JSON.parse(text) as T;
  }

  list(resource: ApiResource, options: ListOptions = {}): AsyncIterable<KObject> {
    return listObjects(this.transport, resource, options);
  }

  async listAll(resource: ApiResource, options: ListOptions = {}): Promise<KObject[]> {
    const out: KObject[] = [];
    for await (const o of this.list(resource, options)) out.push(o);
    return out;
  }

  async get(resource: ApiResource, name: string, namespace?: string, options: RequestOptions = {}): Promise<KObject | undefined> {
    try {
      const obj = await this.json<KObject>({ method: 'GET', path: objectPath(resource, name, namespace), idempotent: true, target: { verb: 'get', resource: qualifiedName(resource), name, namespace }, signal: options.signal });
      return withTypeMeta(obj, resource);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  create(resource: ApiResource, obj: KObject, options: WriteOptions = {}): Promise<KObject> {
    const namespace = this.namespaceOf(resource, obj, 'create');
    return this.json<KObject>({
      method: 'POST',
      path: collectionPath(resource, namespace),
      query: writeQuery(options),
      body: JSON.stringify(obj),
      idempotent: Boolean(options.dryRun),
      target: { verb: 'create', resource: qualifiedName(resource), name: obj.metadata?.name ?? obj.metadata?.generateName, namespace },
      signal: options.signal,
    });
  }

  replace(resource: ApiResource, obj: KObject, options: WriteOptions = {}): Promise<KObject> {
    const namespace = this.namespaceOf(resource, obj, 'replace');
    const name = obj.metadata?.name;
    return this.json<KObject>({
      method: 'PUT',
      path: objectPath(resource, name, namespace),
      query: writeQuery(options),
      body: JSON.stringify(obj),
      // A replace carries the resourceVersion it read, or overwrites with the same content: sending it twice is harmless.
      idempotent: true,
      target: { verb: 'replace', resource: qualifiedName(resource), name, namespace },
      signal: options.signal,
    });
  }

  patch(resource: ApiResource, name: string, namespace: string | undefined, patch: unknown, type: PatchType, options: PatchOptions = {}): Promise<KObject> {
    const target: CallTarget = { verb: type === 'apply' ? 'apply' : 'patch', resource: qualifiedName(resource) + (options.subresource ? `/${options.subresource}` : ''), name, namespace };
    if (type === 'apply' && !options.fieldManager) throw new Error(`${this.context}: cannot ${target.verb} ${target.resource} "${name}": server-side apply needs a fieldManager`);
    const query = writeQuery(options);
    if (type === 'apply' && options.force) query.force = 'true';
    return this.json<KObject>({
      method: 'PATCH',
      path: objectPath(resource, name, namespace, options.subresource),
      query,
      body: typeof patch === 'string' ? patch : JSON.stringify(patch),
      contentType: PATCH_CONTENT_TYPES[type],
      // Apply and merge patches state an outcome and are safe to repeat; JSON patches (add to a list) may not be.
      idempotent: Boolean(options.dryRun) || type === 'apply',
      target,
      signal: options.signal,
    });
  }

  async delete(resource: ApiResource, name: string, namespace?: string, options: DeleteOptions = {}): Promise<boolean> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    if (options.dryRun) body.dryRun = ['All'];
    try {
      await this.transport.send({
        method: 'DELETE',
        path: objectPath(resource, name, namespace),
        body: JSON.stringify(body),
        idempotent: true,
        target: { verb: 'delete', resource: qualifiedName(resource), name, namespace },
        signal: options.signal,
      });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  watch(resource: ApiResource, options: WatchOptions, onEvent: (type: WatchEventType, obj: KObject) => void): Promise<void> {
    return watchResource(this.transport, resource, options, onEvent);
  }

  async canI(verb: string, resource: ApiResource, namespace?: string, options: RequestOptions = {}): Promise<boolean> {
    const review = await this.json<{ status?: { allowed?: boolean } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: JSON.stringify({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb, group: resource.group, version: resource.version, resource: resource.resource, ...(namespace ? { namespace } : {}) } },
      }),
      // A review only asks; it stores nothing.
      idempotent: true,
      target: { verb: 'review access to', resource: qualifiedName(resource), namespace },
      signal: options.signal,
    });
    return review?.status?.allowed === true;
  }

  exec(namespace: string, pod: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
    return execInPod(this.transport, namespace, pod, command, options);
  }

  request<T = unknown>(method: string, path: string, options: { query?: Record<string, string>; body?: unknown; contentType?: string } & RequestOptions = {}): Promise<T> {
    if (!path.startsWith('/')) throw new Error(`request path must start with "/" (got "${path}")`);
    const upper = method.toUpperCase();
    const body = options.body === undefined ? undefined : typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
    return this.json<T>({
      method: upper,
      path,
      query: options.query,
      body,
      contentType: options.contentType,
      idempotent: upper === 'GET' || upper === 'HEAD' || upper === 'DELETE' || upper === 'PUT',
      target: { verb: upper, resource: path },
      signal: options.signal,
    });
  }

  close(): void {
    this.transport.close();
  }

  private namespaceOf(resource: ApiResource, obj: KObject, verb: string): string | undefined {
    if (!resource.namespaced) return undefined;
    const ns = obj.metadata?.namespace;
    if (!ns) throw new Error(`${this.context}: cannot ${verb} ${qualifiedName(resource)} "${obj.metadata?.name ?? ''}": it is namespaced and metadata.namespace is not set`);
    return ns;
  }
}

function writeQuery(options: WriteOptions): Record<string, string> {
  const q: Record<string, string> = {};
  if (options.dryRun) q.dryRun = 'All';
  if (options.fieldManager) q.fieldManager = options.fieldManager;
  return q;
}
