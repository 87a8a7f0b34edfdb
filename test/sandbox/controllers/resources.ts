import type { KObject, OwnerReference, ResourceKey } from '../contract';

/** The resource types the simulated controllers read and write. */
export const R = {
  namespaces: { group: '', resource: 'namespaces' },
  nodes: { group: '', resource: 'nodes' },
  pods: { group: '', resource: 'pods' },
  services: { group: '', resource: 'services' },
  endpoints: { group: '', resource: 'endpoints' },
  configmaps: { group: '', resource: 'configmaps' },
  secrets: { group: '', resource: 'secrets' },
  serviceaccounts: { group: '', resource: 'serviceaccounts' },
  pvcs: { group: '', resource: 'persistentvolumeclaims' },
  pvs: { group: '', resource: 'persistentvolumes' },
  replicationcontrollers: { group: '', resource: 'replicationcontrollers' },
  events: { group: '', resource: 'events' },
  deployments: { group: 'apps', resource: 'deployments' },
  replicasets: { group: 'apps', resource: 'replicasets' },
  statefulsets: { group: 'apps', resource: 'statefulsets' },
  daemonsets: { group: 'apps', resource: 'daemonsets' },
  controllerrevisions: { group: 'apps', resource: 'controllerrevisions' },
  jobs: { group: 'batch', resource: 'jobs' },
  cronjobs: { group: 'batch', resource: 'cronjobs' },
  endpointslices: { group: 'discovery.k8s.io', resource: 'endpointslices' },
  storageclasses: { group: 'storage.k8s.io', resource: 'storageclasses' },
  csidrivers: { group: 'storage.k8s.io', resource: 'csidrivers' },
  crds: { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
  volumesnapshots: { group: 'snapshot.storage.k8s.io', resource: 'volumesnapshots' },
  volumesnapshotcontents: { group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotcontents' },
  volumesnapshotclasses: { group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotclasses' },
} satisfies Record<string, ResourceKey>;

export function sameKey(a: ResourceKey, b: ResourceKey): boolean {
  return a.group === b.group && a.resource === b.resource;
}

/** The HTTP status code an ObjectApi error carries, if any. */
export function errorCode(err: unknown): number | undefined {
  const e = err as { status?: { code?: number } | number; code?: number; statusCode?: number } | undefined;
  if (!e) return undefined;
  if (typeof e.status === 'object' && typeof e.status.code === 'number') return e.status.code;
  if (typeof e.status === 'number') return e.status;
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => errorCode(err) === 404;
export const isConflict = (err: unknown): boolean => errorCode(err) === 409;

export function ownerRef(owner: KObject, controller = true): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid ?? '',
    controller,
    blockOwnerDeletion: true,
  };
}

/** The controlling owner reference of an object, if it has one. */
export function controllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller);
}

export function isControlledBy(obj: KObject, owner: KObject): boolean {
  const ref = controllerOf(obj);
  return !!ref && ref.uid === owner.metadata.uid;
}

export function isTerminating(obj: KObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A deep copy, so a change made for an update never leaks into a cached object. */
export function clone<T>(obj: T): T {
  return JSON.parse(JSON.stringify(obj)) as T;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
}

/**
 * Sets a condition, keeping lastTransitionTime when the status does not
 * change, as the real controllers do (kubectl describe shows it).
 */
export function setCondition(conditions: Condition[] | undefined, next: Condition, withUpdateTime = false): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const ts = now();
  const prev = i >= 0 ? list[i] : undefined;
  const merged: Condition = { ...next };
  if (withUpdateTime) {
    const unchanged = prev && prev.status === next.status && prev.reason === next.reason && prev.message === next.message;
    merged.lastUpdateTime = unchanged ? prev.lastUpdateTime ?? ts : ts;
  }
  merged.lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime ?? ts : ts;
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

/** Compares two JSON values structurally, so controllers skip no-op writes. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}
