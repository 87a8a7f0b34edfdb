/**
 * Field validation (`fieldValidation=Strict|Warn`), which kubectl 1.32
 * asks for on every write: unknown top-level and metadata fields of
 * built-in kinds are reported as kube-apiserver reports them. Deeper
 * fields are not checked (the server keeps no full schemas).
 */
import type { KObject } from '../contract';
import { badRequest } from './errors';
import type { KindInfo } from './kinds';

const META = new Set(['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields']);

const TOP: Record<string, string[]> = {
  '/configmaps': ['data', 'binaryData', 'immutable'],
  '/secrets': ['data', 'stringData', 'type', 'immutable'],
  '/serviceaccounts': ['secrets', 'imagePullSecrets', 'automountServiceAccountToken'],
  '/endpoints': ['subsets'],
  '/events': ['involvedObject', 'reason', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series', 'action', 'related', 'reportingComponent', 'reportingInstance'],
  '/podtemplates': ['template'],
  'events.k8s.io/events': ['eventTime', 'series', 'reportingController', 'reportingInstance', 'action', 'reason', 'regarding', 'related', 'note', 'type', 'deprecatedSource', 'deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount'],
  'apps/controllerrevisions': ['data', 'revision'],
  'discovery.k8s.io/endpointslices': ['addressType', 'endpoints', 'ports'],
  'rbac.authorization.k8s.io/roles': ['rules'],
  'rbac.authorization.k8s.io/clusterroles': ['rules', 'aggregationRule'],
  'rbac.authorization.k8s.io/rolebindings': ['subjects', 'roleRef'],
  'rbac.authorization.k8s.io/clusterrolebindings': ['subjects', 'roleRef'],
  'storage.k8s.io/storageclasses': ['provisioner', 'parameters', 'reclaimPolicy', 'mountOptions', 'allowVolumeExpansion', 'volumeBindingMode', 'allowedTopologies'],
  'scheduling.k8s.io/priorityclasses': ['value', 'globalDefault', 'description', 'preemptionPolicy'],
};

/** Unknown fields of `obj`, as field paths ("foo", "metadata.bar"). */
export function unknownFields(info: KindInfo, obj: KObject): string[] {
  if (info.crd || !obj || typeof obj !== 'object') return [];
  const allowed = new Set(['apiVersion', 'kind', 'metadata', ...(TOP[`${info.group}/${info.resource}`] ?? ['spec', 'status'])]);
  const out = Object.keys(obj).filter((k) => !allowed.has(k));
  if (obj.metadata && typeof obj.metadata === 'object') for (const k of Object.keys(obj.metadata)) if (!META.has(k)) out.push(`metadata.${k}`);
  return out;
}

/** Throws for Strict, returns warnings for Warn, nothing for Ignore. */
export function checkFields(info: KindInfo, obj: KObject, directive: string | null, version: string): string[] {
  if (!directive || directive === 'Ignore') return [];
  const unknown = unknownFields(info, obj);
  if (unknown.length === 0) return [];
  if (directive === 'Strict') {
    throw badRequest(`${info.kind} in version "${version}" cannot be handled as a ${info.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
  }
  return unknown.map((f) => `unknown field "${f}"`);
}

/** Drops unknown fields, as decoding into the built-in types does. */
export function pruneUnknown(info: KindInfo, obj: KObject): void {
  for (const f of unknownFields(info, obj)) {
    if (f.startsWith('metadata.')) delete (obj.metadata as Record<string, unknown>)[f.slice('metadata.'.length)];
    else delete obj[f];
  }
}
