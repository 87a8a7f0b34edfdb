/**
 * What a capture leaves out although it is in scope: whole resources the
 * cluster rebuilds or computes, objects the user excluded, and objects a
 * captured controller recreates. Pure functions over discovery results and
 * listed objects.
 */
import type { ApiResource, KObject } from '../kube/types';
import { groupKind, isTaggedFalse } from './closure';
import { VELERO_EXCLUDE_LABEL } from './types';

/** Resources the cluster rebuilds on its own, or that hold nothing to restore. Keyed "group/resource". */
const SKIPPED_RESOURCES: Record<string, string> = {
  '/events': 'events are a record of the past, not state',
  'events.k8s.io/events': 'events are a record of the past, not state',
  '/endpoints': 'endpoints are rebuilt from Services',
  'discovery.k8s.io/endpointslices': 'endpoint slices are rebuilt from Services',
  'coordination.k8s.io/leases': 'leases are renewed by their holders',
  '/componentstatuses': 'component statuses are computed by the API server',
  '/bindings': 'bindings are a create-only request',
  '/nodes': 'nodes register themselves',
  'storage.k8s.io/csinodes': 'CSI nodes are written by kubelets',
  'storage.k8s.io/volumeattachments': 'volume attachments are made by the attach controller',
  'authentication.k8s.io/tokenreviews': 'reviews are computed per request',
  'authentication.k8s.io/selfsubjectreviews': 'reviews are computed per request',
  'authorization.k8s.io/selfsubjectaccessreviews': 'reviews are computed per request',
  'authorization.k8s.io/selfsubjectrulesreviews': 'reviews are computed per request',
  'authorization.k8s.io/localsubjectaccessreviews': 'reviews are computed per request',
  'authorization.k8s.io/subjectaccessreviews': 'reviews are computed per request',
};

/** Why a served resource is never captured, or undefined when it is captured. */
export function resourceSkipReason(r: Pick<ApiResource, 'group' | 'resource' | 'verbs'>): string | undefined {
  if (!r.verbs.includes('list')) return `${r.resource} cannot be listed`;
  // metrics.k8s.io and the like serve live measurements, never stored objects.
  if (r.group === 'metrics.k8s.io') return 'metrics are measured live';
  return SKIPPED_RESOURCES[`${r.group}/${r.resource}`];
}

/**
 * Why the user asked for an object to be left out, or undefined: annotated
 * `lifeboat.dev/backup: "false"`, labelled `velero.io/exclude-from-backup=true`,
 * or in a Namespace annotated `"false"`.
 */
export function exclusionReason(obj: KObject, falseNamespaces: ReadonlySet<string>): string | undefined {
  if (isTaggedFalse(obj)) return 'annotated lifeboat.dev/backup: "false"';
  if (obj.metadata.labels?.[VELERO_EXCLUDE_LABEL] === 'true') return `labelled ${VELERO_EXCLUDE_LABEL}=true`;
  const ns = obj.metadata.namespace;
  if (ns && falseNamespaces.has(ns)) return `in namespace ${ns}, annotated lifeboat.dev/backup: "false"`;
  return undefined;
}

/** Namespace names whose Namespace object is annotated `"false"`. */
export function falseNamespacesOf(namespaces: KObject[]): Set<string> {
  return new Set(namespaces.filter(isTaggedFalse).map((n) => n.metadata.name));
}

/** Why an object, though listed, is made anew by the cluster, or undefined. */
export function rebuiltReason(obj: KObject): string | undefined {
  const gk = groupKind(obj);
  // The token controller mints these for every ServiceAccount that needs one; a restored copy would carry a stale token.
  if (gk === '/Secret' && obj.type === 'kubernetes.io/service-account-token') return 'service account token, minted by the cluster';
  // The root CA publisher writes this into every namespace, with the target cluster's own CA.
  if (gk === '/ConfigMap' && obj.metadata.name === 'kube-root-ca.crt') return "the cluster's CA bundle, published into every namespace";
  if (gk === 'apiregistration.k8s.io/APIService' && obj.metadata.labels?.['kube-aggregator.kubernetes.io/automanaged']) return 'registered by the API server itself';
  return undefined;
}

const REBUILT_BY_CONTROLLER = new Set(['/Pod', 'apps/ReplicaSet']);

export interface Skipped<T> {
  item: T;
  reason: string;
}

export interface SkipResult<T> {
  /** What is stored. */
  kept: T[];
  /** In scope and not excluded by the user, but rebuilt by a captured controller: where hooks run and volumes are mounted. */
  rebuilt: T[];
  skipped: Skipped<T>[];
}

/**
 * Applies the object-level skip rules to what a scope selected. Pods and
 * ReplicaSets are dropped when their controller is among the selected (even
 * when that controller is itself dropped for the same reason: a Deployment's
 * ReplicaSet's Pods go with the ReplicaSet).
 */
export function applySkipRules<T extends { object: KObject }>(items: T[], falseNamespaces: ReadonlySet<string> = new Set()): SkipResult<T> {
  const skipped: Skipped<T>[] = [];
  const candidates: T[] = [];
  for (const item of items) {
    const reason = exclusionReason(item.object, falseNamespaces) ?? rebuiltReason(item.object);
    if (reason) skipped.push({ item, reason });
    else candidates.push(item);
  }
  const selectedUids = new Set(candidates.map((i) => i.object.metadata.uid).filter((u): u is string => !!u));
  const kept: T[] = [];
  const rebuilt: T[] = [];
  for (const item of candidates) {
    const o = item.object;
    const controller = o.metadata.ownerReferences?.find((r) => r.controller);
    if (controller && REBUILT_BY_CONTROLLER.has(groupKind(o)) && selectedUids.has(controller.uid)) {
      rebuilt.push(item);
      skipped.push({ item, reason: `rebuilt by ${controller.kind} ${controller.name}` });
    } else kept.push(item);
  }
  return { kept, rebuilt, skipped };
}
