/**
 * The resource types the server serves: one table for the built-in kinds
 * (group, versions, plural, kind, scope, short names, categories,
 * subresources and the etcd key layout kube-apiserver uses for each), plus
 * the kinds that CustomResourceDefinitions add at run time.
 */
import type { KObject, ResourceKey } from '../contract';

export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path';

export interface KindInfo {
  group: string;
  /** Served versions, preferred first. The first is also the stored form. */
  versions: string[];
  resource: string;
  kind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: string[];
  /** Key under the storage prefix: "pods", "services/specs", "minions", "GROUP/RESOURCE" for CRs. */
  etcdPath: string;
  /** Storage identity; kinds served by two groups (events) share one. */
  storageKey: string;
  /** Whether metadata.generation is kept and bumped on spec changes. */
  generation: boolean;
  /** False for review kinds that are computed, never stored. */
  stored: boolean;
  nameRule: NameRule;
  /** For custom resources: the defining CRD. */
  crd?: KObject;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NS_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const CREATE_ONLY = ['create'];

interface Row {
  g: string;
  v: string[];
  r: string;
  k: string;
  ns: boolean;
  short?: string[];
  cat?: string[];
  sub?: string[];
  etcd?: string;
  gen?: boolean;
  verbs?: string[];
  stored?: boolean;
  name?: NameRule;
  storageKey?: string;
}

const ROWS: Row[] = [
  // core
  { g: '', v: ['v1'], r: 'configmaps', k: 'ConfigMap', ns: true, short: ['cm'] },
  { g: '', v: ['v1'], r: 'endpoints', k: 'Endpoints', ns: true, short: ['ep'], etcd: 'services/endpoints' },
  { g: '', v: ['v1'], r: 'events', k: 'Event', ns: true, short: ['ev'] },
  { g: '', v: ['v1'], r: 'limitranges', k: 'LimitRange', ns: true, short: ['limits'] },
  { g: '', v: ['v1'], r: 'namespaces', k: 'Namespace', ns: false, short: ['ns'], sub: ['finalize', 'status'], verbs: NS_VERBS, name: 'label' },
  { g: '', v: ['v1'], r: 'nodes', k: 'Node', ns: false, short: ['no'], sub: ['status'], etcd: 'minions' },
  { g: '', v: ['v1'], r: 'persistentvolumeclaims', k: 'PersistentVolumeClaim', ns: true, short: ['pvc'], sub: ['status'] },
  { g: '', v: ['v1'], r: 'persistentvolumes', k: 'PersistentVolume', ns: false, short: ['pv'], sub: ['status'] },
  { g: '', v: ['v1'], r: 'pods', k: 'Pod', ns: true, short: ['po'], cat: ['all'], sub: ['exec', 'log', 'status'] },
  { g: '', v: ['v1'], r: 'podtemplates', k: 'PodTemplate', ns: true },
  { g: '', v: ['v1'], r: 'replicationcontrollers', k: 'ReplicationController', ns: true, short: ['rc'], cat: ['all'], sub: ['scale', 'status'], etcd: 'controllers', gen: true },
  { g: '', v: ['v1'], r: 'resourcequotas', k: 'ResourceQuota', ns: true, short: ['quota'], sub: ['status'] },
  { g: '', v: ['v1'], r: 'secrets', k: 'Secret', ns: true },
  { g: '', v: ['v1'], r: 'serviceaccounts', k: 'ServiceAccount', ns: true, short: ['sa'], sub: ['token'] },
  { g: '', v: ['v1'], r: 'services', k: 'Service', ns: true, short: ['svc'], cat: ['all'], sub: ['status'], etcd: 'services/specs', name: 'dns1035' },
  // apps
  { g: 'apps', v: ['v1'], r: 'controllerrevisions', k: 'ControllerRevision', ns: true },
  { g: 'apps', v: ['v1'], r: 'daemonsets', k: 'DaemonSet', ns: true, short: ['ds'], cat: ['all'], sub: ['status'], gen: true },
  { g: 'apps', v: ['v1'], r: 'deployments', k: 'Deployment', ns: true, short: ['deploy'], cat: ['all'], sub: ['scale', 'status'], gen: true },
  { g: 'apps', v: ['v1'], r: 'replicasets', k: 'ReplicaSet', ns: true, short: ['rs'], cat: ['all'], sub: ['scale', 'status'], gen: true },
  { g: 'apps', v: ['v1'], r: 'statefulsets', k: 'StatefulSet', ns: true, short: ['sts'], cat: ['all'], sub: ['scale', 'status'], gen: true },
  // autoscaling
  { g: 'autoscaling', v: ['v2', 'v1'], r: 'horizontalpodautoscalers', k: 'HorizontalPodAutoscaler', ns: true, short: ['hpa'], cat: ['all'], sub: ['status'] },
  // batch
  { g: 'batch', v: ['v1'], r: 'cronjobs', k: 'CronJob', ns: true, short: ['cj'], cat: ['all'], sub: ['status'], gen: true },
  { g: 'batch', v: ['v1'], r: 'jobs', k: 'Job', ns: true, cat: ['all'], sub: ['status'], gen: true },
  // networking
  { g: 'networking.k8s.io', v: ['v1'], r: 'ingressclasses', k: 'IngressClass', ns: false },
  { g: 'networking.k8s.io', v: ['v1'], r: 'ingresses', k: 'Ingress', ns: true, short: ['ing'], sub: ['status'], etcd: 'ingress', gen: true },
  { g: 'networking.k8s.io', v: ['v1'], r: 'networkpolicies', k: 'NetworkPolicy', ns: true, short: ['netpol'], gen: true },
  { g: 'discovery.k8s.io', v: ['v1'], r: 'endpointslices', k: 'EndpointSlice', ns: true },
  // rbac
  { g: 'rbac.authorization.k8s.io', v: ['v1'], r: 'clusterrolebindings', k: 'ClusterRoleBinding', ns: false, name: 'path' },
  { g: 'rbac.authorization.k8s.io', v: ['v1'], r: 'clusterroles', k: 'ClusterRole', ns: false, name: 'path' },
  { g: 'rbac.authorization.k8s.io', v: ['v1'], r: 'rolebindings', k: 'RoleBinding', ns: true, name: 'path' },
  { g: 'rbac.authorization.k8s.io', v: ['v1'], r: 'roles', k: 'Role', ns: true, name: 'path' },
  // storage
  { g: 'storage.k8s.io', v: ['v1'], r: 'csidrivers', k: 'CSIDriver', ns: false },
  { g: 'storage.k8s.io', v: ['v1'], r: 'csinodes', k: 'CSINode', ns: false },
  { g: 'storage.k8s.io', v: ['v1'], r: 'storageclasses', k: 'StorageClass', ns: false, short: ['sc'] },
  { g: 'storage.k8s.io', v: ['v1'], r: 'volumeattachments', k: 'VolumeAttachment', ns: false, sub: ['status'] },
  // policy, coordination, scheduling, events
  { g: 'policy', v: ['v1'], r: 'poddisruptionbudgets', k: 'PodDisruptionBudget', ns: true, short: ['pdb'], sub: ['status'], gen: true },
  { g: 'coordination.k8s.io', v: ['v1'], r: 'leases', k: 'Lease', ns: true },
  { g: 'scheduling.k8s.io', v: ['v1'], r: 'priorityclasses', k: 'PriorityClass', ns: false, short: ['pc'] },
  { g: 'events.k8s.io', v: ['v1'], r: 'events', k: 'Event', ns: true, short: ['ev'], storageKey: '/events', etcd: 'events' },
  // extension points
  { g: 'apiextensions.k8s.io', v: ['v1'], r: 'customresourcedefinitions', k: 'CustomResourceDefinition', ns: false, short: ['crd', 'crds'], cat: ['api-extensions'], sub: ['status'], etcd: 'apiextensions.k8s.io/customresourcedefinitions', gen: true },
  { g: 'apiregistration.k8s.io', v: ['v1'], r: 'apiservices', k: 'APIService', ns: false, cat: ['api-extensions'], sub: ['status'], etcd: 'apiregistration.k8s.io/apiservices' },
  // computed reviews
  { g: 'authorization.k8s.io', v: ['v1'], r: 'localsubjectaccessreviews', k: 'LocalSubjectAccessReview', ns: true, verbs: CREATE_ONLY, stored: false },
  { g: 'authorization.k8s.io', v: ['v1'], r: 'selfsubjectaccessreviews', k: 'SelfSubjectAccessReview', ns: false, verbs: CREATE_ONLY, stored: false },
  { g: 'authorization.k8s.io', v: ['v1'], r: 'selfsubjectrulesreviews', k: 'SelfSubjectRulesReview', ns: false, verbs: CREATE_ONLY, stored: false },
  { g: 'authorization.k8s.io', v: ['v1'], r: 'subjectaccessreviews', k: 'SubjectAccessReview', ns: false, verbs: CREATE_ONLY, stored: false },
  { g: 'authentication.k8s.io', v: ['v1'], r: 'selfsubjectreviews', k: 'SelfSubjectReview', ns: false, verbs: CREATE_ONLY, stored: false },
];

function fromRow(row: Row): KindInfo {
  return {
    group: row.g,
    versions: row.v,
    resource: row.r,
    kind: row.k,
    singular: row.k.toLowerCase(),
    namespaced: row.ns,
    shortNames: row.short ?? [],
    categories: row.cat ?? [],
    verbs: row.verbs ?? ALL_VERBS,
    subresources: row.sub ?? [],
    etcdPath: row.etcd ?? row.r,
    storageKey: row.storageKey ?? `${row.g}/${row.r}`,
    generation: row.gen ?? false,
    stored: row.stored ?? true,
    nameRule: row.name ?? 'subdomain',
  };
}

export function keyString(key: ResourceKey): string {
  return `${key.group}/${key.resource}`;
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** The served kinds; CRDs add and remove entries while the server runs. */
export class KindRegistry {
  private readonly byResource = new Map<string, KindInfo>();
  private generationCounter = 0;

  constructor() {
    for (const row of ROWS) this.add(fromRow(row));
  }

  /** Bumped on every change, so discovery documents can be cached. */
  get generationNumber(): number {
    return this.generationCounter;
  }

  add(info: KindInfo): void {
    this.byResource.set(`${info.group}/${info.resource}`, info);
    this.generationCounter++;
  }

  remove(group: string, resource: string): void {
    if (this.byResource.delete(`${group}/${resource}`)) this.generationCounter++;
  }

  get(key: ResourceKey): KindInfo | undefined {
    return this.byResource.get(keyString(key));
  }

  require(key: ResourceKey): KindInfo {
    const info = this.get(key);
    if (!info) throw new Error(`the server does not serve ${key.resource}${key.group ? '.' + key.group : ''}`);
    return info;
  }

  byKind(group: string, version: string, kind: string): KindInfo | undefined {
    for (const info of this.byResource.values()) {
      if (info.group === group && info.kind === kind && info.versions.includes(version)) return info;
    }
    return undefined;
  }

  all(): KindInfo[] {
    return [...this.byResource.values()];
  }

  /** Kinds sharing a storage key (core and events.k8s.io Events). */
  sharing(storageKey: string): KindInfo[] {
    return this.all().filter((k) => k.storageKey === storageKey);
  }

  /** Group → versions (preferred first), in the order discovery lists them. */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const info of this.byResource.values()) {
      if (!info.group) continue;
      const vs = out.get(info.group) ?? [];
      for (const v of info.versions) if (!vs.includes(v)) vs.push(v);
      out.set(info.group, vs);
    }
    for (const [g, vs] of out) out.set(g, sortVersions(vs));
    return out;
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first. */
export function sortVersions(vs: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    const stage = m[2] === 'alpha' ? 2 : m[2] === 'beta' ? 1 : 0;
    return [stage, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  return [...vs].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
    return a.localeCompare(b);
  });
}

/** KindInfo for a CustomResourceDefinition, or undefined when it serves nothing. */
export function kindFromCrd(crd: KObject): KindInfo | undefined {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const versions: any[] = (spec.versions ?? []).filter((v: any) => v.served !== false);
  if (!spec.group || !names.plural || !names.kind || versions.length === 0) return undefined;
  const storage = versions.find((v) => v.storage) ?? versions[0];
  const ordered = sortVersions(versions.map((v) => v.name));
  // The stored form is the storage version; discovery lists by priority.
  const vs = [storage.name, ...ordered.filter((v) => v !== storage.name)];
  const sub: string[] = [];
  if (storage.subresources?.status) sub.push('status');
  if (storage.subresources?.scale) sub.push('scale');
  return {
    group: spec.group,
    versions: vs,
    resource: names.plural,
    kind: names.kind,
    singular: names.singular ?? names.kind.toLowerCase(),
    namespaced: spec.scope !== 'Cluster',
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    verbs: ALL_VERBS,
    subresources: sub,
    etcdPath: `${spec.group}/${names.plural}`,
    storageKey: `${spec.group}/${names.plural}`,
    generation: true,
    stored: true,
    nameRule: 'subdomain',
    crd,
  };
}

/** The version a CRD-served version entry describes (schema, printer columns). */
export function crdVersion(info: KindInfo, version: string): any {
  return (info.crd?.spec?.versions ?? []).find((v: any) => v.name === version);
}
