import type { KObject } from '../kube/types';

/**
 * The restore engine's vocabulary, shared by the planner, the applier, the
 * CLI, the worker protocol and the extension's plan panel.
 *
 * A restore goes: select objects from a snapshot → sanitise (./sanitise) →
 * transform by a profile (./profile, ./transform) → order (./order) → plan
 * against the live target (./plan: get, server-side dry run, classify, diff)
 * → apply (./apply) → verify (plan again). The plan is a plain value (JSON):
 * it names every object and volume and what would happen to it, and never
 * holds a Secret's values.
 */

/** What a plan item would do to the target. */
export type PlanAction =
  /** Absent on the target: created. */
  | 'create'
  /** Present and different: changed in place (server-side apply). */
  | 'update'
  /** Present and already as the restore would leave it. */
  | 'unchanged'
  /** Present, different, and the server refuses to change it in place (immutable fields, a field-manager conflict): only the "recreate" policy restores it. */
  | 'conflict'
  /** The target's user may not read or write it (the server said 403). */
  | 'forbidden'
  /** The server rejects the object (422 Invalid, an unknown kind, a missing CRD): the message says why. */
  | 'invalid';

export const PLAN_ACTIONS: readonly PlanAction[] = ['create', 'update', 'unchanged', 'conflict', 'forbidden', 'invalid'];

/** What apply does with objects that already exist on the target. */
export type ExistingPolicy =
  /** Leave them as they are (create only what is missing). */
  | 'skip'
  /** Server-side apply over them; conflicts are reported, not forced through a delete. */
  | 'update'
  /** Update, and delete then create what cannot be updated in place (conflicts). */
  | 'recreate';

/** Which objects of a snapshot to restore. Every field optional: empty means everything in the snapshot. */
export interface RestoreSelection {
  /** Source namespaces (globs); empty: all. Cluster-scoped objects are kept only when related (see `clusterResources`). */
  namespaces?: string[];
  excludeNamespaces?: string[];
  /** Kinds, as capture takes them: "Deployment", "deployments", "deployments.apps", "deploy". */
  includeKinds?: string[];
  excludeKinds?: string[];
  /** Object names (globs) of the kinds selected. */
  names?: string[];
  /** Label selector ("app=web,tier!=cache"). */
  selector?: string;
  /** Exactly one object. */
  object?: { group?: string; kind: string; namespace?: string; name: string };
  /** Exactly one PVC (source namespace and name), with its data unless `volumes` is false. */
  pvc?: { namespace: string; name: string };
  /**
   * Cluster-scoped objects (Namespaces, StorageClasses, PVs, CRDs, ClusterRoles…):
   * 'related' (default) takes those the selected namespaced objects need (their
   * Namespace, the PVs of their PVCs, CRDs of their custom resources, ClusterRoles
   * their RoleBindings name), 'all' takes every one, 'none' takes none.
   */
  clusterResources?: 'related' | 'all' | 'none';
  /** Write volume data into the restored PVCs (default true). */
  volumes?: boolean;
}

/** Which objects a profile rule applies to. Every field optional; all given must match. Names and namespaces are of the source (before mapping). */
export interface MatchRule {
  /** Kind names ("Deployment") or globs. */
  kind?: string | string[];
  /** API group ("" for core). */
  group?: string;
  /** Source namespace globs. */
  namespace?: string | string[];
  /** Object name globs. */
  name?: string | string[];
  /** Label selector ("app=web,tier!=cache") or a map of labels that must all be equal. */
  labels?: string | Record<string, string>;
}

/** How Secrets are restored. */
export type SecretMode =
  /** As captured. */
  | 'copy'
  /** Not restored at all. */
  | 'skip'
  /** Same keys, every value replaced by a generated random one of the same length (kept across re-runs). */
  | 'placeholder'
  /** Values taken from a named Secret that exists on the target (keys of the restored Secret missing there become placeholders). */
  | 'fromSecret';

export interface SecretRule {
  match?: MatchRule;
  mode: SecretMode;
  /** For 'fromSecret': the Secret on the target; namespace defaults to the restored Secret's (mapped) namespace. */
  from?: { name: string; namespace?: string };
}

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export interface PatchRule {
  match?: MatchRule;
  /** RFC 6902 operations; a failing `test` skips the rule for that object. */
  jsonPatch?: JsonPatchOperation[];
  /** RFC 7386 merge patch. */
  mergePatch?: Record<string, unknown>;
}

/**
 * A restore profile: how objects are changed on their way to the target.
 * Kept as YAML in the workspace (`.lifeboat/profiles/NAME.yaml`), validated
 * by `schemas/restore-profile.schema.json`; `dr` and `dev` are built in.
 */
export interface RestoreProfile {
  /** The file's name without extension, or the built-in's name. */
  name: string;
  description?: string;
  /** Another profile (built-in or in the same folder) this one starts from; its maps and lists are merged, scalars overridden. */
  extends?: string;
  /** Source namespace → target namespace. */
  namespaceMapping?: Record<string, string>;
  /** Source StorageClass name → target name (PVCs, PVs, StatefulSet volumeClaimTemplates). */
  storageClassMapping?: Record<string, string>;
  /** Source IngressClass name → target name (spec.ingressClassName and the kubernetes.io/ingress.class annotation). */
  ingressClassMapping?: Record<string, string>;
  /** Image prefix → replacement ("registry.prod.example.com/" → "registry.dev.example.com/"), on every container of every pod template. */
  imageRegistryMapping?: Record<string, string>;
  /** Replica counts of Deployments, StatefulSets and ReplicaSets: all of them, and per rule (first match wins). */
  replicas?: { default?: number; rules?: Array<{ match: MatchRule; replicas: number }> };
  /** Secrets: the default mode and per-rule modes (first match wins). Default: copy. */
  secrets?: { mode?: SecretMode; from?: { name: string; namespace?: string }; rules?: SecretRule[] };
  dropNodeSelectors?: boolean;
  dropAffinity?: boolean;
  dropTolerations?: boolean;
  /** Remove annotations of cloud providers' controllers (load balancers, IAM roles, NEGs, …). */
  dropCloudAnnotations?: boolean;
  /** Further annotations to remove (globs on the key). */
  dropAnnotations?: string[];
  /** Service type changes ("LoadBalancer" → "ClusterIP"); fields the new type does not allow are removed. */
  serviceTypes?: Record<string, string>;
  /** Patches applied last, in order. */
  patches?: PatchRule[];
  /** Default policy for objects that exist on the target (the CLI's --existing and the panel override it). */
  existing?: ExistingPolicy;
}

/** An object as it sits in the snapshot. */
export interface SnapshotObjectRef {
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** An object ready to be planned: where it came from, what it becomes on the target. */
export interface PreparedObject {
  source: SnapshotObjectRef;
  /** Sanitised and transformed; its namespace is the target's. Secret values present: never log or render it whole. */
  object: KObject;
  /** Position in the restore order (./order): lower goes first. */
  stage: number;
  /** What the profile and sanitising changed, for the plan ("namespace shop → shop-dev", "replicas 3 → 1", "Secret values replaced by placeholders"). */
  notes: string[];
}

/** One object of a plan. */
export interface PlanItem {
  /** Target identity. */
  group: string;
  version: string;
  kind: string;
  namespace?: string;
  name: string;
  /** Source identity, when it differs (namespace mapped). */
  source?: { namespace?: string; name: string };
  action: PlanAction;
  /** The server's message for conflict / forbidden / invalid, or why a create could not be checked by dry run. */
  message?: string;
  /**
   * Unified diff (YAML) between the live object and the server's dry-run
   * result, both without status and server-managed metadata; "" when
   * unchanged; for a create, every line added. Secret values never appear:
   * a changed value shows as "<redacted: changed>".
   */
  diff: string;
  /** Profile and sanitising notes. */
  notes?: string[];
  stage: number;
  /** With `PlanOptions.documents`: the live object and the dry-run result as YAML (redacted, no status or server metadata), for a side-by-side view. Absent for a side that does not exist. */
  live?: string;
  desired?: string;
}

/** One volume of a plan. */
export interface PlanVolume {
  /** Source PVC in the snapshot. */
  source: { namespace: string; pvc: string };
  /** Target PVC. */
  namespace: string;
  pvc: string;
  /** 'write': data goes in; 'unchanged': the PVC already holds this snapshot's data (a re-run); 'skip': the PVC exists and the policy leaves it. */
  action: 'write' | 'unchanged' | 'skip';
  files: number;
  bytes: number;
  storageClass?: string;
  message?: string;
}

/** The plan: a value rendered alike by the CLI (table, json, diff) and the plan panel. */
export interface RestorePlan {
  /** The target: context, cluster, API server, and whether the context matches the production pattern. */
  target: { context: string; cluster: string; server: string; production: boolean };
  /** The snapshot restored, its id in full, with when and what it captured. */
  snapshot: { id: string; time: string; cluster: string };
  profile: string;
  policy: ExistingPolicy;
  /** In restore order. */
  items: PlanItem[];
  volumes: PlanVolume[];
  warnings: string[];
  /** Items per action. */
  counts: Record<PlanAction, number>;
  /** When the plan was made (ISO time), and how long it took. */
  time: string;
  durationMs: number;
}

/** What a plan, restore or verify is asked to do. */
export interface RestoreRequest {
  /** Snapshot id, unique prefix, or "latest". */
  snapshot: string;
  /** Target kubeconfig and context (default the kubeconfig's current context). */
  kubeconfig?: string;
  context?: string;
  selection?: RestoreSelection;
  /** A built-in profile name ('dr', 'dev'), a profile name found in `profilesDir`, or a YAML file path. Default 'dr'. */
  profile?: string;
  /** Where named profiles are looked for (default `.lifeboat/profiles` under the working directory). */
  profilesDir?: string;
  /** Added to (and overriding) the profile's namespace mapping. */
  namespaceMapping?: Record<string, string>;
  /** Overrides the profile's `existing` policy. Default 'update'. */
  existing?: ExistingPolicy;
  /** Image of the mover pod that writes volumes. */
  moverImage?: string;
  /** Concurrent API requests and volume writes. */
  parallelism?: number;
  /** Regular expression over context names that marks production (the extension's setting); default /prod/i. */
  productionPattern?: string;
}

/** One write of an apply, in the order done. */
export interface RestoreRecordEntry {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
  /** What was done: created, updated, recreated, skipped (policy), failed; for volumes: data written. */
  outcome: 'created' | 'updated' | 'recreated' | 'skipped' | 'failed' | 'unchanged' | 'data-written' | 'hook-ran';
  message?: string;
  /** Volume data: bytes and files written. */
  bytes?: number;
  files?: number;
}

export interface RestoreResult {
  plan: RestorePlan;
  /** Everything done, in order. */
  record: RestoreRecordEntry[];
  /** The plan made after apply: a complete restore has nothing left but 'unchanged' (and what was skipped, forbidden or invalid before). */
  verify: RestorePlan;
  warnings: string[];
  /** True when every object and volume of the plan was restored (nothing failed). */
  complete: boolean;
}

/** Restores a file or directory of a snapshot's volume. */
export interface RestoreFileRequest {
  snapshot: string;
  /** Source PVC in the snapshot. */
  volume: { namespace: string; pvc: string };
  /** Path inside the volume ("/" for all of it). */
  path: string;
  /** Into a PVC on a cluster (at `targetPath`, default the same path), or into a local directory. */
  to: { kind: 'pvc'; kubeconfig?: string; context?: string; namespace: string; pvc: string; targetPath?: string } | { kind: 'dir'; directory: string };
  moverImage?: string;
}

export interface RestoreFileResult {
  files: number;
  dirs: number;
  bytes: number;
  /** Entries not restored, with why (links that would leave the target). */
  skipped: Array<{ path: string; reason: string }>;
}

/** Annotation a PVC gets once its data has been written from a snapshot: "SNAPSHOT_ID:TREE_ID". A re-run finds it and does not write again. */
export const RESTORED_DATA_ANNOTATION = 'lifeboat.dev/restored-data';
/** Annotation on a Secret whose values are generated placeholders; a re-run keeps the values it finds. */
export const MASKED_SECRET_ANNOTATION = 'lifeboat.dev/masked';
/** Field manager of every server-side apply a restore does. */
export const RESTORE_FIELD_MANAGER = 'lifeboat-restore';
