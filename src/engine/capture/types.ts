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

/** etcd to snapshot alongside the API objects (self-managed clusters). */
export interface EtcdTarget {
  /** "https://10.0.0.1:2379"; several for a cluster (the first healthy one is used). */
  endpoints: string[];
  /** PEM file paths for TLS: the CA, and the client certificate and key etcd requires. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface CaptureRequest {
  /** Kubeconfig file; default $KUBECONFIG or ~/.kube/config. */
  kubeconfig?: string;
  /** Context; default the kubeconfig's current one. */
  context?: string;
  scope: CaptureScope;
  /** Read volume data of PVCs in scope (default true). */
  volumes?: boolean;
  /** Image of the mover pod that reads volumes (default DEFAULT_MOVER_IMAGE in ./volumes). */
  moverImage?: string;
  etcd?: EtcdTarget;
  /** Labels for the snapshot ("nightly", "before-upgrade"). */
  tags?: string[];
  /** Concurrent API requests and volume reads. */
  parallelism?: number;
}

export interface CaptureResult {
  snapshot: import('../repo/api').SnapshotSummary;
  warnings: string[];
}
