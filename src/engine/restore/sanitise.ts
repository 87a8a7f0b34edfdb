/**
 * What of a captured object belongs to the source cluster only, and which
 * captured objects the target rebuilds on its own. Runs on the SOURCE
 * object, before any profile: the result is the object as a user would have
 * written it, which server-side apply on the target then completes.
 */
import type { KObject } from '../kube/types';
import { groupKind } from '../capture/closure';
import { rebuiltReason } from '../capture/skip';

/** Kinds the cluster keeps up by itself; a restored copy would be stale at once or fight the controller. Keyed "group/Kind". */
const REBUILT_KINDS: Record<string, string> = {
  '/Event': 'events are a record of the past, not state',
  'events.k8s.io/Event': 'events are a record of the past, not state',
  '/Endpoints': 'endpoints are rebuilt from Services',
  'coordination.k8s.io/Lease': 'leases are renewed by their holders',
};

/** Kinds whose controller-owned instances are made again by the controller restored with them (revisions: by StatefulSets and DaemonSets from their template). */
const CONTROLLED_KINDS = new Set(['/Pod', 'apps/ReplicaSet', 'batch/Job', 'apps/ControllerRevision']);

/** Controllers that write EndpointSlices from Services (and from selector-less Services' Endpoints). */
const SLICE_CONTROLLERS = new Set(['endpointslice-controller.k8s.io', 'endpointslicemirroring-controller.k8s.io']);

/** Set on PVs a provisioner created for a claim: the claim, restored, gets a new one from the target's provisioner. */
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';

/**
 * Why an object is not restored at all, or undefined when it is: kinds the
 * cluster maintains, controller-owned Pods, ReplicaSets, Jobs and
 * ControllerRevisions, endpoint slices of Services, service account token
 * Secrets, the published CA bundle, dynamically provisioned PVs.
 */
export function skipReason(obj: KObject): string | undefined {
  const gk = groupKind(obj);
  const fixed = REBUILT_KINDS[gk] ?? rebuiltReason(obj);
  if (fixed) return fixed;
  const controller = obj.metadata.ownerReferences?.find((r) => r.controller);
  if (controller && CONTROLLED_KINDS.has(gk)) return `rebuilt by its controller, ${controller.kind} ${controller.name}`;
  // Slices a controller keeps are rebuilt from their Service; slices a user wrote (for a Service without selector) are state.
  if (gk === 'discovery.k8s.io/EndpointSlice' && (SLICE_CONTROLLERS.has(obj.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] ?? '') || controller?.kind === 'Service')) {
    return 'endpoint slices are rebuilt from Services';
  }
  if (gk === '/PersistentVolume' && obj.metadata.annotations?.[PROVISIONED_BY]) {
    return `dynamically provisioned by ${obj.metadata.annotations[PROVISIONED_BY]}: its claim gets a new volume from the target's provisioner`;
  }
  return undefined;
}

export interface SanitiseContext {
  /** Whether an object of the same restore (source identity) is restored: owner references to anything else are removed. */
  isRestored(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): boolean;
  /** Whether the PV of this name is restored: a PVC bound to a PV that is not keeps no volumeName, so it is provisioned anew. */
  pvRestored(name: string): boolean;
}

/** Metadata the API server assigns; a restored object gets its own. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'managedFields', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'];

/** Annotations written by controllers, not users; kept, they would be restored stale and then rewritten (never "unchanged"). */
const CONTROLLER_ANNOTATIONS = ['deployment.kubernetes.io/revision'];

/** PVC annotations of the binding and provisioning on the source; the target's controllers write their own. */
const PVC_BINDING_ANNOTATIONS = [
  'pv.kubernetes.io/bind-completed',
  'pv.kubernetes.io/bound-by-controller',
  'volume.beta.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/storage-provisioner',
  'volume.kubernetes.io/selected-node',
];

/** Labels the Job controller sets from the Job's uid; the server makes them again from the new uid and refuses old ones that no longer match. */
const JOB_UID_LABELS = ['controller-uid', 'batch.kubernetes.io/controller-uid'];

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function deleteKeys(map: Record<string, unknown> | undefined, keys: string[]): void {
  if (map) for (const k of keys) delete map[k];
}

/** Removes an empty labels/annotations map, so the result carries no `{}` the source did not have. */
function dropEmpty(meta: Record<string, unknown>, key: 'labels' | 'annotations'): void {
  const v = meta[key];
  if (v && typeof v === 'object' && Object.keys(v).length === 0) delete meta[key];
}

/**
 * A copy of the object without what the source cluster assigned: server
 * metadata, `status`, allocated addresses and node placement, the binding of
 * PVs and PVCs when the volume is provisioned anew, Job selectors made from
 * the old uid, and owner references to objects not restored (kept ones lose
 * their uid: the applier sets the owner's new one). Notes name what changes
 * the object's meaning, not routine stripping.
 */
export function sanitise(obj: KObject, ctx: SanitiseContext): { object: KObject; notes: string[] } {
  const o = structuredClone(obj);
  const notes: string[] = [];
  const meta = o.metadata;
  deleteKeys(meta, SERVER_METADATA);
  delete o.status;
  deleteKeys(meta.annotations, CONTROLLER_ANNOTATIONS);
  const gk = groupKind(o);

  if (gk === '/Secret' && meta.annotations?.[LAST_APPLIED] !== undefined) {
    // kubectl apply stores the whole Secret there, values included; the plan's diff would show them.
    delete meta.annotations[LAST_APPLIED];
    notes.push(`annotation ${LAST_APPLIED} removed (it holds the Secret's values)`);
  }

  if (meta.ownerReferences) {
    const kept = [];
    for (const ref of meta.ownerReferences) {
      if (ctx.isRestored({ apiVersion: ref.apiVersion, kind: ref.kind, namespace: meta.namespace, name: ref.name })) {
        const { uid: _uid, ...rest } = ref;
        kept.push(rest);
      } else notes.push(`owner reference to ${ref.kind} ${ref.name} removed (not restored)`);
    }
    if (kept.length > 0) meta.ownerReferences = kept as typeof meta.ownerReferences;
    else delete meta.ownerReferences;
  }

  const spec = o.spec as Record<string, any> | undefined;
  switch (gk) {
    case '/Service':
      if (spec) {
        // The target allocates its own addresses; "None" is not an address but makes the Service headless, and must stay.
        if (spec.clusterIP !== 'None') {
          delete spec.clusterIP;
          delete spec.clusterIPs;
        }
        delete spec.healthCheckNodePort;
      }
      break;
    case '/Pod':
      if (spec) {
        delete spec.nodeName;
        // The API server refuses a Pod created with ephemeral containers: they are only ever added to a running Pod.
        if (spec.ephemeralContainers) {
          delete spec.ephemeralContainers;
          notes.push('ephemeral (debug) containers removed: they can only be added to a running Pod');
        }
      }
      break;
    case '/PersistentVolume':
      if (spec?.claimRef) {
        // The claim is found again by namespace and name; its uid and version are the source's.
        delete spec.claimRef.uid;
        delete spec.claimRef.resourceVersion;
      }
      break;
    case '/PersistentVolumeClaim':
      deleteKeys(meta.annotations, PVC_BINDING_ANNOTATIONS);
      if (spec?.volumeName && !ctx.pvRestored(spec.volumeName)) {
        notes.push(`volumeName ${spec.volumeName} removed: the claim is provisioned anew on the target`);
        delete spec.volumeName;
      }
      break;
    case 'apps/StatefulSet':
      for (const t of spec?.volumeClaimTemplates ?? []) delete t.status;
      break;
    case 'batch/Job':
      if (spec && !spec.manualSelector) {
        delete spec.selector;
        deleteKeys(spec.template?.metadata?.labels, JOB_UID_LABELS);
        if (spec.template?.metadata) dropEmpty(spec.template.metadata, 'labels');
        deleteKeys(meta.labels, JOB_UID_LABELS);
      }
      break;
  }
  dropEmpty(meta, 'labels');
  dropEmpty(meta, 'annotations');
  return { object: o, notes };
}
