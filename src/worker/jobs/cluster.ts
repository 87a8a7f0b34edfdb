import { existsSync } from 'node:fs';
import { ResponseError } from 'vscode-jsonrpc';
import { TAG_ANNOTATION } from '../../engine/capture/types';
import {
  KubeApiError,
  KubeUnreachableError,
  kubeconfigFiles,
  listContexts,
  openKubeClient,
  type ApiResource,
  type KObject,
  type KubeClient,
} from '../../engine/kube';
import { collectionPath } from '../../engine/kube/paths';
import type { Logger } from '../../engine/log';
import { throwIfCancelled } from '../../engine/progress';
import {
  ClusterErrorCodes,
  type ClusterChangedParams,
  type ClusterContextsParams,
  type ClusterContextsResult,
  type ClusterNamespacesParams,
  type ClusterNamespacesResult,
  type ClusterObject,
  type ClusterObjectGroup,
  type ClusterObjectRef,
  type ClusterObjectsParams,
  type ClusterObjectsResult,
  type ClusterTagParams,
  type ClusterTagResult,
  type ClusterWatchParams,
  type TagValue,
} from '../../protocol/worker';

/**
 * The Clusters view's requests: contexts, namespaces and their workloads,
 * pods and PVCs with tag state, tagging by merge patch, and a watch that
 * tells the client what to refresh. All cluster access stays in the worker.
 */

/** What a cluster request gets from the server: its cancellation, its log, and a way to notify the client. */
export interface ClusterRequestContext {
  signal: AbortSignal;
  log: Logger;
  notifyChanged(params: ClusterChangedParams): void;
}

/** A view waits for its answer: a cluster that does not answer within this long is reported unreachable. */
const ANSWER_TIMEOUT_MS = 30_000;
/** Changes of one namespace's group within this window become one notification. */
const COALESCE_MS = 250;

function core(resource: string, kind: string, namespaced = true): ApiResource {
  return { group: '', version: 'v1', resource, kind, namespaced, verbs: [] };
}
function group(group: string, version: string, resource: string, kind: string): ApiResource {
  return { group, version, resource, kind, namespaced: true, verbs: [] };
}

// Stable built-in resources: naming them saves a discovery round trip per view expansion.
const NAMESPACES = core('namespaces', 'Namespace', false);
const PODS = core('pods', 'Pod');
const PVCS = core('persistentvolumeclaims', 'PersistentVolumeClaim');
const WORKLOADS = [
  group('apps', 'v1', 'deployments', 'Deployment'),
  group('apps', 'v1', 'statefulsets', 'StatefulSet'),
  group('apps', 'v1', 'daemonsets', 'DaemonSet'),
  group('batch', 'v1', 'cronjobs', 'CronJob'),
];
const BY_KIND = new Map<string, ApiResource>([NAMESPACES, PODS, PVCS, ...WORKLOADS].map((r) => [r.kind, r]));
const GROUPS: Record<ClusterObjectGroup, ApiResource[]> = { workloads: WORKLOADS, pods: [PODS], pvcs: [PVCS] };

function tagOf(obj: KObject): TagValue | undefined {
  const v = obj.metadata.annotations?.[TAG_ANNOTATION];
  return v === 'true' || v === 'false' ? v : undefined;
}

/** Turns a cluster's failure into the error the view shows: unreachable clusters get their own code. */
function clusterError(err: unknown, context: string, timedOut: boolean): unknown {
  if (timedOut) {
    return new ResponseError(ClusterErrorCodes.unreachable, `${context}: the API server did not answer within ${ANSWER_TIMEOUT_MS / 1000}s; check that the cluster is running and reachable`);
  }
  if (err instanceof KubeUnreachableError) return new ResponseError(ClusterErrorCodes.unreachable, err.message);
  return err;
}

/** Runs `body` with a client of the context, bounded by the answer timeout, closing the client after. */
async function withCluster<T>(params: { kubeconfig?: string; context: string }, signal: AbortSignal, body: (client: KubeClient, signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  const bounded = AbortSignal.any([signal, timeout]);
  let client: KubeClient | undefined;
  try {
    client = await openKubeClient({ kubeconfig: params.kubeconfig, context: params.context });
    return await body(client, bounded);
  } catch (err) {
    throw clusterError(err, params.context, timeout.aborted && !signal.aborted);
  } finally {
    client?.close();
  }
}

export async function clusterContexts(params: ClusterContextsParams): Promise<ClusterContextsResult> {
  const files = kubeconfigFiles(params.kubeconfig);
  if (!files.some((f) => existsSync(f))) {
    throw new ResponseError(
      ClusterErrorCodes.noKubeconfig,
      `no kubeconfig found (looked at ${files.join(', ')}): point $KUBECONFIG at one, or set lifeboat.kubeconfig`,
    );
  }
  const contexts = listContexts(params.kubeconfig).map((c) => ({
    name: c.name,
    cluster: c.cluster,
    server: c.server,
    current: c.current,
    ...(c.namespace ? { namespace: c.namespace } : {}),
  }));
  // Stable sort: the current context first, the rest in kubeconfig order.
  contexts.sort((a, b) => Number(b.current) - Number(a.current));
  return { contexts };
}

export async function clusterNamespaces(params: ClusterNamespacesParams, ctx: ClusterRequestContext): Promise<ClusterNamespacesResult> {
  return withCluster(params, ctx.signal, async (client, signal) => {
    const items = await client.listAll(NAMESPACES, { signal, pageSize: 500 });
    const namespaces = items
      .map((ns) => ({ name: ns.metadata.name, status: String(ns.status?.phase ?? 'Active'), ...(tagOf(ns) ? { tag: tagOf(ns) } : {}) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { namespaces };
  });
}

function podStatus(pod: KObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const statuses: Array<{ ready?: boolean; state?: { waiting?: { reason?: string } } }> = pod.status?.containerStatuses ?? [];
  const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
  const total = (pod.spec?.containers ?? []).length;
  const ready = statuses.filter((s) => s.ready).length;
  return `${waiting ?? pod.status?.phase ?? 'Unknown'} ${ready}/${total}`;
}

function pvcStatus(pvc: KObject): string {
  const size = pvc.status?.capacity?.storage ?? pvc.spec?.resources?.requests?.storage;
  const sc = pvc.spec?.storageClassName;
  return [pvc.status?.phase ?? 'Pending', size, sc ? `(${sc})` : undefined].filter(Boolean).join(' ');
}

function workloadStatus(obj: KObject): string {
  switch (obj.kind) {
    case 'DaemonSet':
      return `${obj.status?.numberReady ?? 0}/${obj.status?.desiredNumberScheduled ?? 0} ready`;
    case 'CronJob':
      return `${obj.spec?.schedule ?? ''}${obj.spec?.suspend ? ' (suspended)' : ''}`;
    default:
      return `${obj.status?.readyReplicas ?? 0}/${obj.spec?.replicas ?? 1} ready`;
  }
}

function statusOf(obj: KObject): string {
  if (obj.kind === 'Pod') return podStatus(obj);
  if (obj.kind === 'PersistentVolumeClaim') return pvcStatus(obj);
  return workloadStatus(obj);
}

export async function clusterObjects(params: ClusterObjectsParams, ctx: ClusterRequestContext): Promise<ClusterObjectsResult> {
  return withCluster(params, ctx.signal, async (client, signal) => {
    const items: ClusterObject[] = [];
    for (const resource of GROUPS[params.what]) {
      let objects: KObject[];
      try {
        objects = await client.listAll(resource, { namespace: params.namespace, signal, pageSize: 500 });
      } catch (err) {
        // A cluster without CronJobs v1 (older than 1.21) still lists its other workloads.
        if (err instanceof KubeApiError && err.status === 404 && params.what === 'workloads') continue;
        throw err;
      }
      for (const o of objects) {
        const tag = tagOf(o);
        items.push({ kind: resource.kind, name: o.metadata.name, namespace: params.namespace, ...(tag ? { tag } : {}), status: statusOf(o) });
      }
    }
    items.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
    return { items };
  });
}

function describeRef(ref: ClusterObjectRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

export async function clusterTag(params: ClusterTagParams, ctx: ClusterRequestContext): Promise<ClusterTagResult> {
  return withCluster(params, ctx.signal, async (client, signal) => {
    // A merge patch with null deletes the key; no resourceVersion, so no conflict with controllers writing status.
    const patch = { metadata: { annotations: { [TAG_ANNOTATION]: params.value } } };
    const results: ClusterTagResult['results'] = [];
    for (const ref of params.refs) {
      const resource = BY_KIND.get(ref.kind)!;
      try {
        await client.patch(resource, ref.name, ref.namespace, patch, 'merge', { signal, fieldManager: 'lifeboat' });
        results.push({ ref, ok: true });
        ctx.log.log('info', `${params.value === null ? 'untagged' : `tagged ${params.value}`}: ${describeRef(ref)}`, { context: params.context });
      } catch (err) {
        if (signal.aborted) throw err;
        let message = err instanceof Error ? err.message : String(err);
        if (err instanceof KubeApiError && err.status === 404) message = `${describeRef(ref)} no longer exists in ${params.context}; refresh the view`;
        else if (err instanceof KubeApiError && err.status === 403) message = `${params.context}: not allowed to change ${describeRef(ref)} (${err.message}); use a context that may patch it`;
        results.push({ ref, ok: false, message });
      }
    }
    return { results };
  });
}

/**
 * Watches namespaces, pods, PVCs and workloads of the whole cluster until
 * the signal aborts, sending one coalesced `cluster/changed` per namespace
 * and group. Each watch starts from the collection's current version (a
 * one-item list), so subscribing does not replay every existing object.
 */
export async function clusterWatch(params: ClusterWatchParams, ctx: ClusterRequestContext): Promise<void> {
  const client = await openKubeClient({ kubeconfig: params.kubeconfig, context: params.context }).catch((err: unknown) => {
    throw clusterError(err, params.context, false);
  });
  // One watch failing for good ends them all: the client hears of it and may subscribe again.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const pending = new Map<string, NodeJS.Timeout>();
  const changed = (what: ClusterChangedParams['what'], namespace?: string): void => {
    const key = `${what}\0${namespace ?? ''}`;
    if (pending.has(key)) return;
    pending.set(
      key,
      setTimeout(() => {
        pending.delete(key);
        if (!ctx.signal.aborted) ctx.notifyChanged({ context: params.context, what, ...(namespace ? { namespace } : {}) });
      }, COALESCE_MS),
    );
  };
  const groupOf = (r: ApiResource): ClusterChangedParams['what'] => (r === NAMESPACES ? 'namespaces' : r === PODS ? 'pods' : r === PVCS ? 'pvcs' : 'workloads');

  const watchOne = async (resource: ApiResource): Promise<void> => {
    let version: string | undefined;
    try {
      const list = await client.request<{ metadata?: { resourceVersion?: string } }>('GET', collectionPath(resource), { query: { limit: '1' }, signal });
      version = list?.metadata?.resourceVersion;
    } catch (err) {
      if (signal.aborted) return;
      // A kind the cluster does not serve, or the user may not list, is simply not watched.
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 403)) {
        ctx.log.log('info', `${params.context}: not watching ${resource.resource}: ${err.message}`);
        return;
      }
      throw clusterError(err, params.context, false);
    }
    const what = groupOf(resource);
    try {
      await client.watch(resource, { resourceVersion: version, signal }, (type, obj) => {
        if (type === 'BOOKMARK') return;
        changed(what, what === 'namespaces' ? undefined : obj.metadata.namespace);
      });
    } catch (err) {
      stop.abort();
      throw err;
    }
  };

  try {
    await Promise.all([NAMESPACES, PODS, PVCS, ...WORKLOADS].map(watchOne));
    // The watches end quietly when cancelled; the client is answered "cancelled" as for any request.
    throwIfCancelled(ctx.signal);
  } catch (err) {
    stop.abort();
    throw clusterError(err, params.context, false);
  } finally {
    for (const t of pending.values()) clearTimeout(t);
    client.close();
  }
}
