/**
 * API discovery documents: the legacy forms (/api, /api/v1, /apis,
 * /apis/G, /apis/G/V) and aggregated discovery (APIGroupDiscoveryList,
 * apidiscovery.k8s.io v2 and v2beta1), which kubectl 1.32 asks for first.
 */
import type { KindInfo, KindRegistry } from './kinds';
import { apiVersionOf } from './kinds';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4',
  gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335',
  gitTreeState: 'clean',
  buildDate: '2025-04-22T16:02:27Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Group order as kube-apiserver lists built-in groups; CRD groups follow alphabetically. */
const GROUP_ORDER = [
  'apiregistration.k8s.io',
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'apiextensions.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
];

export function orderedGroups(kinds: KindRegistry): [string, string[]][] {
  const groups = kinds.groups();
  const known = GROUP_ORDER.filter((g) => groups.has(g));
  const extra = [...groups.keys()].filter((g) => !GROUP_ORDER.includes(g)).sort();
  return [...known, ...extra].map((g) => [g, groups.get(g)!]);
}

function kindsIn(kinds: KindRegistry, group: string, version: string): KindInfo[] {
  return kinds
    .all()
    .filter((k) => k.group === group && k.versions.includes(version))
    .sort((a, b) => a.resource.localeCompare(b.resource));
}

const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  finalize: ['update'],
  exec: ['create', 'get'],
  token: ['create'],
  log: ['get'],
};

function subresourceKind(k: KindInfo, sub: string, version: string): { group: string; version: string; kind: string } {
  if (sub === 'scale') return { group: 'autoscaling', version: 'v1', kind: 'Scale' };
  if (sub === 'exec') return { group: '', version: 'v1', kind: 'PodExecOptions' };
  if (sub === 'log') return { group: '', version: 'v1', kind: 'Pod' };
  if (sub === 'token') return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
  return { group: k.group, version, kind: k.kind };
}

export function apiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function apiResourceList(kinds: KindRegistry, group: string, version: string): unknown {
  const resources: unknown[] = [];
  for (const k of kindsIn(kinds, group, version)) {
    const r: Record<string, unknown> = { name: k.resource, singularName: k.singular, namespaced: k.namespaced, kind: k.kind, verbs: k.verbs };
    if (k.shortNames.length) r.shortNames = k.shortNames;
    if (k.categories.length) r.categories = k.categories;
    r.storageVersionHash = storageHash(k);
    resources.push(r);
    for (const sub of k.subresources) {
      const sk = subresourceKind(k, sub, version);
      const sr: Record<string, unknown> = { name: `${k.resource}/${sub}`, singularName: '', namespaced: k.namespaced, kind: sk.kind, verbs: SUBRESOURCE_VERBS[sub] ?? ['get'] };
      if (sub === 'scale' || sub === 'token') {
        sr.group = sk.group;
        sr.version = sk.version;
      }
      resources.push(sr);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group, version), resources };
}

function storageHash(k: KindInfo): string {
  let h = 0;
  for (const ch of `${k.group}/${k.versions[0]}/${k.kind}`) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return Buffer.from(h.toString(16).padStart(8, '0')).toString('base64').slice(0, 11) + '=';
}

function groupObject(group: string, versions: string[]): unknown {
  return {
    name: group,
    versions: versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${group}/${versions[0]}`, version: versions[0] },
  };
}

export function apiGroupList(kinds: KindRegistry): unknown {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: orderedGroups(kinds).map(([g, vs]) => groupObject(g, vs)) };
}

export function apiGroup(kinds: KindRegistry, group: string): unknown | undefined {
  const vs = kinds.groups().get(group);
  if (!vs) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...(groupObject(group, vs) as object) };
}

function discoveryResource(k: KindInfo, version: string): unknown {
  const r: Record<string, unknown> = {
    resource: k.resource,
    responseKind: { group: k.group, version, kind: k.kind },
    scope: k.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: k.singular,
    verbs: k.verbs,
  };
  if (k.shortNames.length) r.shortNames = k.shortNames;
  if (k.categories.length) r.categories = k.categories;
  if (k.subresources.length) {
    r.subresources = k.subresources.map((sub) => ({ subresource: sub, responseKind: subresourceKind(k, sub, version), verbs: SUBRESOURCE_VERBS[sub] ?? ['get'] }));
  }
  return r;
}

function discoveryGroup(kinds: KindRegistry, group: string, versions: string[]): unknown {
  return {
    metadata: { name: group, creationTimestamp: null },
    versions: versions.map((v) => ({ version: v, resources: kindsIn(kinds, group, v).map((k) => discoveryResource(k, v)), freshness: 'Current' })),
  };
}

/** Aggregated discovery for /api (core only) or /apis (every named group). */
export function aggregated(kinds: KindRegistry, legacy: boolean, apiVersion: string): unknown {
  const items = legacy ? [discoveryGroup(kinds, '', ['v1'])] : orderedGroups(kinds).map(([g, vs]) => discoveryGroup(kinds, g, vs));
  return { kind: 'APIGroupDiscoveryList', apiVersion, metadata: {}, items };
}
