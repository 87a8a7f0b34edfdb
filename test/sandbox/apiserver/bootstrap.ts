/**
 * Objects every cluster starts with, created by the server when missing:
 *
 * - Namespaces default, kube-system, kube-public, kube-node-lease, and the
 *   `kubernetes` Service (10.96.0.1:443) with its Endpoints in default.
 * - RBAC: ClusterRole cluster-admin (every verb on everything) bound to
 *   group system:masters and to user `admin`; ClusterRole
 *   `sandbox:read-all-but-secrets` (get/list/watch on every resource of
 *   every API group except Secrets; groups that CRDs add later are added
 *   to it while it keeps its autoupdate annotation) bound to user
 *   `restricted`; system:discovery and system:basic-user (discovery paths,
 *   self access/rules reviews) bound to group system:authenticated, so every
 *   authenticated user can run `kubectl auth can-i`.
 * - The VolumeSnapshot CRDs (snapshot.storage.k8s.io/v1), as a cluster with
 *   the CSI snapshot controller installed has them.
 *
 * These are ordinary stored objects: authorization reads them on every
 * request, so editing them or adding bindings changes access at once.
 */
import type { KObject } from '../contract';
import { isApiError } from './errors';
import type { KindRegistry } from './kinds';
import type { Registry } from './registry';

const RBAC = 'rbac.authorization.k8s.io/v1';
const READ = ['get', 'list', 'watch'];
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

function clusterRole(name: string, rules: unknown[]): KObject {
  return { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name, labels: BOOTSTRAP_LABELS, annotations: AUTOUPDATE }, rules };
}

function clusterRoleBinding(name: string, role: string, subjects: { kind: string; name: string }[]): KObject {
  return {
    apiVersion: RBAC,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: BOOTSTRAP_LABELS, annotations: AUTOUPDATE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects.map((s) => ({ apiGroup: 'rbac.authorization.k8s.io', ...s })),
  };
}

/** Read access to every resource served now except Secrets (RBAC has no "except", so it is spelled out). */
function readAllButSecrets(kinds: KindRegistry): unknown[] {
  const core = kinds
    .all()
    .filter((k) => k.group === '' && k.resource !== 'secrets' && k.verbs.includes('get'))
    .flatMap((k) => [k.resource, ...k.subresources.filter((s) => s === 'status' || s === 'scale' || s === 'log').map((s) => `${k.resource}/${s}`)])
    .sort();
  const groups = [...kinds.groups().keys()].filter((g) => g !== 'authorization.k8s.io' && g !== 'authentication.k8s.io').sort();
  return [
    { apiGroups: [''], resources: core, verbs: READ },
    { apiGroups: groups, resources: ['*'], verbs: READ },
    { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
  ];
}

function snapshotCrd(plural: string, kind: string, scope: 'Namespaced' | 'Cluster', shortNames: string[], columns: unknown[], status: boolean): KObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.snapshot.storage.k8s.io`, annotations: { 'api-approved.kubernetes.io': 'https://github.com/kubernetes-csi/external-snapshotter/pull/814' } },
    spec: {
      group: 'snapshot.storage.k8s.io',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames },
      scope,
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          additionalPrinterColumns: columns,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          ...(status ? { subresources: { status: {} } } : {}),
        },
      ],
    },
  };
}

const SNAPSHOT_CRDS = [
  snapshotCrd('volumesnapshotclasses', 'VolumeSnapshotClass', 'Cluster', ['vsclass', 'vsclasses'], [
    { jsonPath: '.driver', name: 'Driver', type: 'string' },
    { jsonPath: '.deletionPolicy', name: 'DeletionPolicy', type: 'string', description: 'Determines whether a VolumeSnapshotContent created through the VolumeSnapshotClass should be deleted when its bound VolumeSnapshot is deleted.' },
    { jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' },
  ], false),
  snapshotCrd('volumesnapshotcontents', 'VolumeSnapshotContent', 'Cluster', ['vsc', 'vscs'], [
    { jsonPath: '.status.readyToUse', name: 'ReadyToUse', type: 'boolean', description: 'Indicates if the snapshot is ready to be used to restore a volume.' },
    { jsonPath: '.status.restoreSize', name: 'RestoreSize', type: 'integer', description: 'Represents the complete size of the snapshot in bytes' },
    { jsonPath: '.spec.deletionPolicy', name: 'DeletionPolicy', type: 'string' },
    { jsonPath: '.spec.driver', name: 'Driver', type: 'string' },
    { jsonPath: '.spec.volumeSnapshotClassName', name: 'VolumeSnapshotClass', type: 'string' },
    { jsonPath: '.spec.volumeSnapshotRef.name', name: 'VolumeSnapshot', type: 'string' },
    { jsonPath: '.spec.volumeSnapshotRef.namespace', name: 'VolumeSnapshotNamespace', type: 'string' },
    { jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' },
  ], true),
  snapshotCrd('volumesnapshots', 'VolumeSnapshot', 'Namespaced', ['vs'], [
    { jsonPath: '.status.readyToUse', name: 'ReadyToUse', type: 'boolean' },
    { jsonPath: '.spec.source.persistentVolumeClaimName', name: 'SourcePVC', type: 'string' },
    { jsonPath: '.spec.source.volumeSnapshotContentName', name: 'SourceSnapshotContent', type: 'string' },
    { jsonPath: '.status.restoreSize', name: 'RestoreSize', type: 'string' },
    { jsonPath: '.spec.volumeSnapshotClassName', name: 'SnapshotClass', type: 'string' },
    { jsonPath: '.status.boundVolumeSnapshotContentName', name: 'SnapshotContent', type: 'string' },
    { jsonPath: '.status.creationTime', name: 'CreationTime', type: 'date' },
    { jsonPath: '.metadata.creationTimestamp', name: 'Age', type: 'date' },
  ], true),
];

export const READER_ROLE = 'sandbox:read-all-but-secrets';

/** Adds `group` to the reader role's read rule, unless someone took the role over (autoupdate removed). */
export async function readerCoversGroup(registry: Registry, group: string): Promise<void> {
  const key = { group: 'rbac.authorization.k8s.io', resource: 'clusterroles' };
  const role = await registry.get(key, undefined, READER_ROLE);
  if (!role || role.metadata.annotations?.['rbac.authorization.kubernetes.io/autoupdate'] !== 'true') return;
  const rules: any[] = role.rules ?? [];
  const rule = rules.find((r) => (r.resources ?? []).includes('*') && !(r.apiGroups ?? []).includes(''));
  if (!rule || rule.apiGroups.includes(group)) return;
  rule.apiGroups = [...rule.apiGroups, group].sort();
  await registry.update(key, role, { fieldManager: 'kube-apiserver' });
}

async function ensure(registry: Registry, group: string, resource: string, obj: KObject): Promise<void> {
  try {
    await registry.create({ group, resource }, obj, { fieldManager: 'kube-apiserver' });
  } catch (e) {
    if (!(isApiError(e) && e.status.reason === 'AlreadyExists')) throw e;
  }
}

export async function bootstrap(registry: Registry, apiserverAddress: { host: string; port: number }): Promise<void> {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await ensure(registry, '', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  await ensure(registry, '', 'services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: apiserverAddress.port }], type: 'ClusterIP', sessionAffinity: 'None' },
  });
  await ensure(registry, '', 'endpoints', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: apiserverAddress.host }], ports: [{ name: 'https', port: apiserverAddress.port, protocol: 'TCP' }] }],
  });
  for (const crd of SNAPSHOT_CRDS) await ensure(registry, 'apiextensions.k8s.io', 'customresourcedefinitions', crd);
  const crb = 'rbac.authorization.k8s.io';
  await ensure(registry, crb, 'clusterroles', clusterRole('cluster-admin', [
    { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    { nonResourceURLs: ['*'], verbs: ['*'] },
  ]));
  await ensure(registry, crb, 'clusterroles', clusterRole('system:discovery', [
    { nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], verbs: ['get'] },
  ]));
  await ensure(registry, crb, 'clusterroles', clusterRole('system:basic-user', [
    { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
  ]));
  await ensure(registry, crb, 'clusterroles', clusterRole(READER_ROLE, readAllButSecrets(registry.kinds)));
  // Groups of CRDs stored before this start (etcd) are covered as well.
  for (const g of registry.kinds.groups().keys()) if (g !== 'authorization.k8s.io' && g !== 'authentication.k8s.io') await readerCoversGroup(registry, g);
  await ensure(registry, crb, 'clusterrolebindings', clusterRoleBinding('cluster-admin', 'cluster-admin', [{ kind: 'Group', name: 'system:masters' }]));
  await ensure(registry, crb, 'clusterrolebindings', clusterRoleBinding('sandbox:admin', 'cluster-admin', [{ kind: 'User', name: 'admin' }]));
  await ensure(registry, crb, 'clusterrolebindings', clusterRoleBinding('sandbox:restricted', READER_ROLE, [{ kind: 'User', name: 'restricted' }]));
  await ensure(registry, crb, 'clusterrolebindings', clusterRoleBinding('system:discovery', 'system:discovery', [{ kind: 'Group', name: 'system:authenticated' }]));
  await ensure(registry, crb, 'clusterrolebindings', clusterRoleBinding('system:basic-user', 'system:basic-user', [{ kind: 'Group', name: 'system:authenticated' }]));
  await ensure(registry, 'scheduling.k8s.io', 'priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-cluster-critical' }, value: 2000000000, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' });
  await ensure(registry, 'scheduling.k8s.io', 'priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'system-node-critical' }, value: 2000001000, description: 'Used for system critical pods that must not be moved from their current node.' });
}
