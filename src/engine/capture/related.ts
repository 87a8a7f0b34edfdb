/**
 * Cluster-scoped objects that captured namespaced objects cannot be
 * restored without: their Namespace, the PersistentVolumes bound to their
 * claims and those volumes' StorageClasses, the CRDs defining their kinds,
 * ClusterRoles their RoleBindings name, and ClusterRoleBindings granting
 * their ServiceAccounts rights (with the ClusterRoles those name).
 */
import type { KObject } from '../kube/types';
import { bindsServiceAccount, groupKind, groupOf } from './closure';

/** The cluster-scoped resources `relatedObjects` may need, as "group/resource". */
export type RelatedResource =
  | '/namespaces'
  | '/persistentvolumes'
  | 'storage.k8s.io/storageclasses'
  | 'apiextensions.k8s.io/customresourcedefinitions'
  | 'rbac.authorization.k8s.io/clusterroles'
  | 'rbac.authorization.k8s.io/clusterrolebindings';

export type ClusterLists = Partial<Record<RelatedResource, KObject[]>>;

/** Groups served by Kubernetes itself: a kind in one of them has no CRD. */
function isBuiltInGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

/** Which cluster-scoped lists are worth fetching for these captured objects. */
export function relatedResourcesNeeded(captured: KObject[]): RelatedResource[] {
  const needed = new Set<RelatedResource>();
  for (const o of captured) {
    if (o.metadata.namespace) needed.add('/namespaces');
    const gk = groupKind(o);
    if (gk === '/PersistentVolumeClaim' || gk === '/PersistentVolume') {
      needed.add('/persistentvolumes');
      needed.add('storage.k8s.io/storageclasses');
    }
    if (gk === 'rbac.authorization.k8s.io/RoleBinding' || gk === 'rbac.authorization.k8s.io/ClusterRoleBinding') needed.add('rbac.authorization.k8s.io/clusterroles');
    if (gk === '/ServiceAccount') {
      needed.add('rbac.authorization.k8s.io/clusterrolebindings');
      needed.add('rbac.authorization.k8s.io/clusterroles');
    }
    if (!isBuiltInGroup(groupOf(o.apiVersion))) needed.add('apiextensions.k8s.io/customresourcedefinitions');
  }
  return [...needed];
}

/** The StorageClass a claim or volume names: the field, or the beta annotation Kubernetes still honours. */
export function storageClassOf(o: KObject): string | undefined {
  return o.spec?.storageClassName ?? o.metadata.annotations?.['volume.beta.kubernetes.io/storage-class'];
}

/**
 * The related cluster-scoped objects found in `lists` (a list the user may
 * not read is simply absent). `namespaces` adds Namespaces that are
 * captured although no object in them is (an empty namespace in scope).
 */
export function relatedObjects(captured: KObject[], lists: ClusterLists, namespaces: Iterable<string> = []): KObject[] {
  const byName = (key: RelatedResource): Map<string, KObject> => new Map((lists[key] ?? []).map((o) => [o.metadata.name, o]));
  const index = {
    '/namespaces': byName('/namespaces'),
    '/persistentvolumes': byName('/persistentvolumes'),
    'storage.k8s.io/storageclasses': byName('storage.k8s.io/storageclasses'),
    'apiextensions.k8s.io/customresourcedefinitions': byName('apiextensions.k8s.io/customresourcedefinitions'),
    'rbac.authorization.k8s.io/clusterroles': byName('rbac.authorization.k8s.io/clusterroles'),
    'rbac.authorization.k8s.io/clusterrolebindings': byName('rbac.authorization.k8s.io/clusterrolebindings'),
  } satisfies Record<RelatedResource, Map<string, KObject>>;
  const out = new Set<KObject>();
  const take = (key: RelatedResource, name: unknown): KObject | undefined => {
    if (typeof name !== 'string') return undefined;
    const o = index[key].get(name);
    if (o) out.add(o);
    return o;
  };

  for (const ns of namespaces) take('/namespaces', ns);
  // CRDs are named <plural>.<group>; the captured object gives its group and kind, so match on those.
  const crdByGroupKind = new Map<string, KObject>();
  for (const crd of lists['apiextensions.k8s.io/customresourcedefinitions'] ?? []) crdByGroupKind.set(`${crd.spec?.group}/${crd.spec?.names?.kind}`, crd);

  for (const o of captured) {
    if (o.metadata.namespace) take('/namespaces', o.metadata.namespace);
    const gk = groupKind(o);
    const crd = crdByGroupKind.get(gk);
    if (crd) out.add(crd);
    switch (gk) {
      case '/PersistentVolumeClaim': {
        const pv = take('/persistentvolumes', o.spec?.volumeName);
        take('storage.k8s.io/storageclasses', storageClassOf(o));
        if (pv) take('storage.k8s.io/storageclasses', storageClassOf(pv));
        break;
      }
      case '/PersistentVolume':
        take('storage.k8s.io/storageclasses', storageClassOf(o));
        break;
      case 'rbac.authorization.k8s.io/RoleBinding':
      case 'rbac.authorization.k8s.io/ClusterRoleBinding':
        if (o.roleRef?.kind === 'ClusterRole') take('rbac.authorization.k8s.io/clusterroles', o.roleRef.name);
        break;
      case '/ServiceAccount':
        for (const crb of lists['rbac.authorization.k8s.io/clusterrolebindings'] ?? []) {
          if (!bindsServiceAccount(crb, o.metadata.namespace ?? '', o.metadata.name)) continue;
          out.add(crb);
          if (crb.roleRef?.kind === 'ClusterRole') take('rbac.authorization.k8s.io/clusterroles', crb.roleRef.name);
        }
        break;
    }
  }
  return [...out];
}
