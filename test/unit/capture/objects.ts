/**
 * In-memory Kubernetes objects for the selection tests: just the fields
 * capture reads, with uids so ownerReferences resolve.
 */
import type { ApiResource, KObject } from '../../../src/engine/kube/types';

let uidCounter = 0;

export function obj(apiVersion: string, kind: string, name: string, namespace?: string, extra: Partial<KObject> & { labels?: Record<string, string>; annotations?: Record<string, string>; owner?: KObject } = {}): KObject {
  const { labels, annotations, owner, ...rest } = extra;
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      ...(namespace ? { namespace } : {}),
      uid: `uid-${++uidCounter}`,
      ...(labels ? { labels } : {}),
      ...(annotations ? { annotations } : {}),
      ...(owner ? { ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid!, controller: true }] } : {}),
    },
    ...rest,
  };
}

export const names = (objects: KObject[]): string[] =>
  objects.map((o) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`).sort();

export function resource(group: string, resourceName: string, kind: string, namespaced: boolean, extra: Partial<ApiResource> = {}): ApiResource {
  return { group, version: 'v1', resource: resourceName, kind, namespaced, verbs: ['get', 'list', 'watch', 'create', 'delete'], ...extra };
}

/** A small discovery result, like a real cluster's (a CRD included). */
export const DISCOVERY: ApiResource[] = [
  resource('', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  resource('', 'secrets', 'Secret', true),
  resource('', 'pods', 'Pod', true, { shortNames: ['po'] }),
  resource('', 'services', 'Service', true, { shortNames: ['svc'] }),
  resource('', 'namespaces', 'Namespace', false, { shortNames: ['ns'] }),
  resource('', 'events', 'Event', true, { shortNames: ['ev'] }),
  resource('events.k8s.io', 'events', 'Event', true, { shortNames: ['ev'] }),
  resource('', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'] }),
  resource('apps', 'deployments', 'Deployment', true, { shortNames: ['deploy'] }),
  resource('apps', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'] }),
  resource('apps', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'] }),
  resource('networking.k8s.io', 'ingresses', 'Ingress', true, { shortNames: ['ing'] }),
  resource('shop.example.com', 'backuppolicies', 'BackupPolicy', true, { version: 'v1alpha1', shortNames: ['bp'] }),
  resource('authorization.k8s.io', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, { verbs: ['create'] }),
];
