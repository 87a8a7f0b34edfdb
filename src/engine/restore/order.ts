/**
 * The order objects are written to the target, so that what an object needs
 * exists before it: CRDs before their custom resources, Namespaces before
 * what lives in them, StorageClasses and PVs before the PVCs that bind them,
 * ServiceAccounts, Secrets and ConfigMaps before the pods that mount them,
 * and workloads after all of that so their first pods start complete.
 */
import type { KObject } from '../kube/types';

/** Stage names, indexed by the number `stageOf` returns. */
export const RESTORE_STAGES = [
  'CustomResourceDefinitions',
  'Namespaces',
  'StorageClasses',
  'PersistentVolumes',
  'PersistentVolumeClaims',
  'ServiceAccounts',
  'Secrets',
  'ConfigMaps',
  'RBAC',
  'Services',
  'Workloads',
  'Ingresses',
  'Custom resources',
  'Other',
] as const;

/**
 * API groups the Kubernetes API server serves itself. Any other group is a
 * custom resource's (a CRD's or an aggregated API's), including groups under
 * k8s.io that ship as CRDs (snapshot.storage.k8s.io, gateway.networking.k8s.io).
 */
const BUILT_IN_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'extensions',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

/** Whether the group is one the API server serves itself (not a custom resource's). */
export function isBuiltInGroup(group: string): boolean {
  return BUILT_IN_GROUPS.has(group);
}

const STAGE_OF: Record<string, number> = {
  'apiextensions.k8s.io/CustomResourceDefinition': 0,
  '/Namespace': 1,
  'storage.k8s.io/StorageClass': 2,
  '/PersistentVolume': 3,
  '/PersistentVolumeClaim': 4,
  '/ServiceAccount': 5,
  '/Secret': 6,
  '/ConfigMap': 7,
  'rbac.authorization.k8s.io/Role': 8,
  'rbac.authorization.k8s.io/ClusterRole': 8,
  'rbac.authorization.k8s.io/RoleBinding': 8,
  'rbac.authorization.k8s.io/ClusterRoleBinding': 8,
  '/Service': 9,
  'apps/Deployment': 10,
  'apps/StatefulSet': 10,
  'apps/DaemonSet': 10,
  'apps/ReplicaSet': 10,
  'batch/Job': 10,
  'batch/CronJob': 10,
  '/Pod': 10,
  '/ReplicationController': 10,
  // The class first (it is cluster-scoped, so it sorts ahead within the stage), then the Ingresses naming it.
  'networking.k8s.io/IngressClass': 11,
  'networking.k8s.io/Ingress': 11,
  'extensions/Ingress': 11,
};

/** The stage of a kind (see RESTORE_STAGES): lower stages are restored first. */
export function stageOf(group: string, kind: string): number {
  return STAGE_OF[`${group}/${kind}`] ?? (isBuiltInGroup(group) ? 13 : 12);
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Restore order: by stage; within a stage cluster-scoped objects first (a
 * ClusterRole before the RoleBindings naming it), then by namespace, kind
 * and name, so a plan reads the same on every run.
 */
export function compareForRestore(a: { stage: number; object: KObject }, b: { stage: number; object: KObject }): number {
  if (a.stage !== b.stage) return a.stage - b.stage;
  const na = a.object.metadata.namespace;
  const nb = b.object.metadata.namespace;
  if (!na !== !nb) return na ? 1 : -1;
  return compareText(na ?? '', nb ?? '') || compareText(a.object.kind, b.object.kind) || compareText(a.object.metadata.name, b.object.metadata.name);
}
