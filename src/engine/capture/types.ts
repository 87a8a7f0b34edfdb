import type { ApiResource, KObject } from '../kube/types';

/** What a capture takes from the cluster. Every field optional: empty means the whole cluster. */
export interface CaptureScope {
  /** Namespaces to include (globs: "shop", "team-*"); empty: all. */
  namespaces?: string[];
  /** Namespaces to leave out (globs), applied after `namespaces`. */
  excludeNamespaces?: string[];
  /** Kinds to include: "Deployment", "deployments", "deployments.apps", "deploy"; empty: all. */
  includeKinds?: string[];
  /** Kinds to leave out, same forms. */
  excludeKinds?: string[];
  /** Label selector for namespaced objects ("app=web,tier!=cache"). */
  selector?: string;
  /** Only objects tagged `lifeboat.dev/backup: "true"` and their application closure. */
  tagged?: boolean;
}

/** Annotations and labels Lifeboat reads and writes. */
export const TAG_ANNOTATION = 'lifeboat.dev/backup';
export const VELERO_EXCLUDE_LABEL = 'velero.io/exclude-from-backup';
export const BACKUP_VOLUMES_ANNOTATIONS = ['lifeboat.dev/backup-volumes', 'backup.velero.io/backup-volumes'];

/** One object chosen for the snapshot, with the served resource it came from. */
export interface SelectedObject {
  resource: ApiResource;
  object: KObject;
}

/** A PVC whose data is to be read. */
export interface VolumeTarget {
  namespace: string;
  pvc: string;
  claim: KObject;
  /** Its bound PersistentVolume, when the user may read it. */
  volume?: KObject;
  /** Running pods that mount it (hooks run in them; the mover goes to their node). */
  pods: KObject[];
  /** Why it is captured: in scope, or named by a pod's backup-volumes annotation. */
  reason: 'in-scope' | 'annotated';
}

/** What `select` (./select) found: objects to store, volumes to read, pods whose hooks run, warnings. */
export interface Selection {
  objects: SelectedObject[];
  volumes: VolumeTarget[];
  /** Pods in scope carrying backup hook annotations (including pods not stored because a controller rebuilds them). */
  hookPods: KObject[];
  /** Kinds the user may not list, and the like: recorded in the snapshot. */
  warnings: string[];
}
