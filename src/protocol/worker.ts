import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { CaptureRequest, CaptureResult } from '../engine/capture/types';
import type { LogRecord } from '../engine/log';
import type { JobProgress } from '../engine/progress';
import type { CatalogData, CatalogVolume } from '../engine/repo/catalog';
import type { SnapshotManifest, SnapshotSummary } from '../engine/repo/snapshot';
import type { VerifyReport } from '../engine/repo/verify';

/**
 * The protocol between the VS Code extension (client) and the worker process
 * it forks (`dist/worker.js` without a command): JSON-RPC over the Node IPC
 * channel, with vscode-jsonrpc on both ends. Every request and notification
 * is declared here once; both sides import these types.
 *
 * Jobs (capture, list, show, verify) are requests. A job request carries the
 * repository it works on (with its passphrase and S3 credentials, which the
 * worker never logs) and a job id chosen by the client, which tags the job's
 * progress, log and warning notifications. Cancelling a job is cancelling
 * its request ($/cancelRequest); the worker stops the job, cleans up (mover
 * pods removed, repository locks released) and only then answers with
 * `ErrorCodes.cancelled`.
 *
 * The worker validates every request's params before use and answers a bad
 * one with JSON-RPC InvalidParams (-32602), its message naming the field.
 */

/** Bumped on any incompatible change; `initialize` refuses a client speaking another version. */
export const PROTOCOL_VERSION = 1;

/**
 * Error codes of failed requests (ResponseError.code), besides JSON-RPC's own
 * (-32602 InvalidParams for params that fail validation, -32002
 * ServerNotInitialized for a job sent before `initialize`). The message is
 * for the user: it says what is wrong and what to do.
 */
export const ErrorCodes = {
  /** The job was cancelled by the client (or the worker is shutting down); it cleaned up before answering. Same value as LSP's RequestCancelled. */
  cancelled: -32800,
  /** The job failed; the message says why. */
  failure: -32803,
  /** The request cannot be carried out as given: a bad repository location, an unsupported protocol version. */
  usage: -32810,
  /** What the request names does not exist: no repository at the location, no such snapshot. */
  notFound: -32811,
  /** The repository is locked by another process (e.g. a prune); retry when it is done. */
  locked: -32812,
  /** The repository is encrypted and the passphrase is missing or opens none of its keys: ask the user again. */
  passphrase: -32813,
} as const;

export type WorkerErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Credentials and endpoint of an S3 repository; unset fields fall back to the worker's environment (AWS_* variables, profiles). */
export interface S3Settings {
  /** S3-compatible endpoint (http://host:port); AWS when absent. */
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  /** Secret: never logged, never echoed in a message. */
  secretAccessKey?: string;
  /** Secret: never logged, never echoed in a message. */
  sessionToken?: string;
}

/** Which repository a job works on. Opened for the job and closed after it. */
export interface RepositoryRef {
  /** A directory path, file:///path, or s3://BUCKET/PREFIX. */
  location: string;
  /** Needed when the repository is encrypted. Secret: never logged, never echoed in a message. */
  passphrase?: string;
  s3?: S3Settings;
}

/** What every job request carries. */
export interface JobParams {
  /** Chosen by the client, unique among its running jobs; tags the job's notifications. */
  jobId: string;
  repository: RepositoryRef;
}

export interface InitializeParams {
  /** The PROTOCOL_VERSION the client was built with. */
  protocolVersion: number;
}

export interface InitializeResult {
  /** Lifeboat's version (package.json) of the worker bundle. */
  workerVersion: string;
  protocolVersion: number;
  /** The worker's process id, to show in the Jobs view and to find its repository locks. */
  pid: number;
}

export interface CaptureParams extends JobParams {
  request: CaptureRequest;
}

export interface SnapshotsListParams extends JobParams {
  /** Only snapshots of this cluster. */
  cluster?: string;
  /** Only snapshots carrying this tag. */
  tag?: string;
}

export interface SnapshotsListResult {
  /** Oldest first. */
  snapshots: SnapshotSummary[];
  /** Snapshots whose manifest exists but cannot be read (damaged, or from a newer Lifeboat). */
  unreadable: Array<{ id: string; message: string }>;
}

export interface SnapshotsShowParams extends JobParams {
  /** A snapshot id, a unique prefix of one, or "latest". */
  snapshot: string;
}

export interface SnapshotsShowResult {
  manifest: SnapshotManifest;
  catalog: {
    /** How many objects the snapshot holds. */
    resources: number;
    /** Object names by namespace ("" for cluster-scoped objects), then by kind, sorted. */
    contents: Record<string, Record<string, string[]>>;
    /** Volumes without their file lists (those can be millions of lines). */
    volumes: Array<Omit<CatalogVolume, 'fileList'>>;
    data: CatalogData[];
  };
}

export interface RepositoryVerifyParams extends JobParams {
  /** Read and decrypt every blob and check its hash (slow: reads the whole repository). */
  readData?: boolean;
}

export interface JobProgressParams {
  jobId: string;
  progress: JobProgress;
}

export interface JobLogParams {
  /** Absent for the worker's own records (startup, shutdown). */
  jobId?: string;
  record: LogRecord;
}

export interface JobWarningParams {
  jobId: string;
  /** For the user: an unreadable snapshot skipped, a stale lock removed, a volume not read. */
  message: string;
}

/**
 * First request of a connection: the client says which protocol it speaks,
 * the worker answers with its own version and pid. Refused with
 * `ErrorCodes.usage` when the protocol versions differ (a stale worker).
 */
export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('initialize');

/**
 * Captures a snapshot of a cluster (objects, volume data, etcd) into the
 * repository. Progress comes as `job/progress`; cancelling removes the mover
 * pods and releases the lock, and leaves no snapshot.
 */
export const CaptureJobRequest = new RequestType<CaptureParams, CaptureResult, void>('capture');

/** Lists the repository's snapshots, oldest first, optionally only one cluster's or one tag's. */
export const SnapshotsListRequest = new RequestType<SnapshotsListParams, SnapshotsListResult, void>('snapshots/list');

/** One snapshot: its manifest and a summary of its catalog (objects by namespace and kind, volumes, data). */
export const SnapshotsShowRequest = new RequestType<SnapshotsShowParams, SnapshotsShowResult, void>('snapshots/show');

/**
 * Checks the repository's structure and every snapshot's references (with
 * `readData`, every blob's content too). Damage is reported in the result
 * (`ok: false`), not as an error.
 */
export const RepositoryVerifyRequest = new RequestType<RepositoryVerifyParams, VerifyReport, void>('repository/verify');

/** Worker → client: where a job is. At most about five a second per job, and always the job's last state before it answers. */
export const JobProgressNotification = new NotificationType<JobProgressParams>('job/progress');

/** Worker → client: a log record of a job (or of the worker itself when jobId is absent). Never holds secrets. */
export const JobLogNotification = new NotificationType<JobLogParams>('job/log');

/** Worker → client: something the user should see while a job runs; the job goes on. */
export const JobWarningNotification = new NotificationType<JobWarningParams>('job/warning');

/**
 * Cluster requests, for the Clusters view and tagging. They work on one
 * kubeconfig context and no repository, so they carry no job id: they are
 * short reads and writes, not jobs with progress. `kubeconfig` is a file
 * path (the `lifeboat.kubeconfig` setting); absent, the worker uses
 * $KUBECONFIG or ~/.kube/config as kubectl does. A cluster that cannot be
 * reached answers with `ClusterErrorCodes.unreachable`, its message naming
 * the context and the server.
 */
export const ClusterErrorCodes = {
  /** The API server could not be reached (refused, DNS, TLS, timeout): the message says which context and server. */
  unreachable: -32814,
  /** No kubeconfig file exists where the worker looked (the view shows its welcome content). */
  noKubeconfig: -32815,
} as const;

/** The annotation that tags an object for capture, and the values it takes. */
export type TagValue = 'true' | 'false';

export interface ClusterContextsParams {
  kubeconfig?: string;
}

export interface ClusterContext {
  name: string;
  /** The cluster's name in the kubeconfig. */
  cluster: string;
  /** The API server URL; "" when the context names a cluster the kubeconfig does not define. */
  server: string;
  /** The kubeconfig's current-context. */
  current: boolean;
  /** The context's default namespace, when it sets one. */
  namespace?: string;
}

export interface ClusterContextsResult {
  /** The current context first, then the others in kubeconfig order. */
  contexts: ClusterContext[];
}

export interface ClusterNamespacesParams {
  kubeconfig?: string;
  context: string;
}

export interface ClusterNamespace {
  name: string;
  /** The namespace's `lifeboat.dev/backup` annotation; undefined when it has none (or another value). */
  tag?: TagValue;
  /** "Active", "Terminating". */
  status: string;
}

export interface ClusterNamespacesResult {
  /** Sorted by name. */
  namespaces: ClusterNamespace[];
}

/** What `cluster/objects` lists: the workloads (Deployments, StatefulSets, DaemonSets, CronJobs), the pods or the PVCs of a namespace. */
export type ClusterObjectGroup = 'workloads' | 'pods' | 'pvcs';

export interface ClusterObjectsParams {
  kubeconfig?: string;
  context: string;
  namespace: string;
  what: ClusterObjectGroup;
}

export interface ClusterObject {
  kind: string;
  name: string;
  namespace: string;
  tag?: TagValue;
  /** One line for the view: "Running", "Bound 10Gi", "2/3 ready". */
  status: string;
}

export interface ClusterObjectsResult {
  /** Sorted by kind, then name. */
  items: ClusterObject[];
}

/** An object the tag request writes to: Pod, PersistentVolumeClaim, Deployment, StatefulSet, DaemonSet, CronJob or Namespace. */
export interface ClusterObjectRef {
  kind: string;
  /** Absent for a Namespace. */
  namespace?: string;
  name: string;
}

export interface ClusterTagParams {
  kubeconfig?: string;
  context: string;
  refs: ClusterObjectRef[];
  /** "true" tags, "false" excludes, null removes the annotation. */
  value: TagValue | null;
}

export interface ClusterTagOutcome {
  ref: ClusterObjectRef;
  ok: boolean;
  /** Why it failed (not found, forbidden, unreachable), for the user. */
  message?: string;
}

export interface ClusterTagResult {
  /** One per ref, in the order given. A failure of one object does not stop the others. */
  results: ClusterTagOutcome[];
}

export interface ClusterWatchParams {
  kubeconfig?: string;
  context: string;
}

export interface ClusterChangedParams {
  context: string;
  /** The namespace whose objects changed; absent when the list of namespaces itself (or a namespace's tag) changed. */
  namespace?: string;
  /** Which group changed; 'namespaces' for the namespace list. */
  what: ClusterObjectGroup | 'namespaces';
}

/** The kubeconfig's contexts, the current one first. Answers `ClusterErrorCodes.noKubeconfig` when there is no kubeconfig. */
export const ClusterContextsRequest = new RequestType<ClusterContextsParams, ClusterContextsResult, void>('cluster/contexts');

/** The namespaces of a context's cluster with their tag state. */
export const ClusterNamespacesRequest = new RequestType<ClusterNamespacesParams, ClusterNamespacesResult, void>('cluster/namespaces');

/** The workloads, pods or PVCs of a namespace with their tag state and a status line. */
export const ClusterObjectsRequest = new RequestType<ClusterObjectsParams, ClusterObjectsResult, void>('cluster/objects');

/**
 * Sets (or with null removes) `metadata.annotations['lifeboat.dev/backup']`
 * on each object with a JSON merge patch, so nothing else of the object is
 * touched and no resourceVersion conflict can arise. Per-object results.
 */
export const ClusterTagRequest = new RequestType<ClusterTagParams, ClusterTagResult, void>('cluster/tag');

/**
 * Subscribes to changes of a context's namespaces, workloads, pods and PVCs:
 * the worker sends `cluster/changed` (coalesced, at most a few a second)
 * until the client cancels this request, which then answers
 * `ErrorCodes.cancelled`. It answers with an error when watching fails for
 * good (the cluster went away); the client may subscribe again later.
 */
export const ClusterWatchRequest = new RequestType<ClusterWatchParams, void, void>('cluster/watch');

/** Worker → client: something in a watched context changed; refresh what shows it. */
export const ClusterChangedNotification = new NotificationType<ClusterChangedParams>('cluster/changed');

export interface RepositoryInitParams extends JobParams {
  /** Create the repository only when none exists at the location; an existing one is left as it is (and must open with the passphrase). */
  ifMissing?: boolean;
}

export interface RepositoryInitResult {
  /** False when `ifMissing` found a repository already there. */
  created: boolean;
}

/** Creates an encrypted repository at the location (with the passphrase the reference carries). */
export const RepositoryInitRequest = new RequestType<RepositoryInitParams, RepositoryInitResult, void>('repository/init');

/**
 * Snapshot browsing, for the Snapshots view and the `lifeboat-snap:` file
 * system: what a snapshot holds, one object as YAML, one directory of a
 * volume, one file's bytes. Snapshots never change once written, so a
 * client may cache these answers per snapshot id.
 */

/** A kind in one namespace of a snapshot, with the names of its objects. */
export interface SnapshotKindContents {
  /** API group; "" for the core group. */
  group: string;
  kind: string;
  /** Sorted. */
  names: string[];
}

export interface SnapshotNamespaceContents {
  /** "" for cluster-scoped objects. */
  namespace: string;
  /** Sorted by kind, then group. */
  kinds: SnapshotKindContents[];
}

export interface SnapshotsContentsParams extends JobParams {
  /** A snapshot id, a unique prefix of one, or "latest". */
  snapshot: string;
}

export interface SnapshotsContentsResult {
  /** The snapshot, its id resolved in full. */
  snapshot: SnapshotSummary;
  /** Cluster-scoped objects ("") first, then namespaces by name. */
  namespaces: SnapshotNamespaceContents[];
  /** Volumes with their file counts and logical sizes. */
  volumes: Array<Omit<CatalogVolume, 'fileList'>>;
  /** Data streams (such as "etcd") with their sizes. */
  data: CatalogData[];
}

/** Which object of a snapshot: group "" is the core group; namespace absent for cluster-scoped objects. */
export interface SnapshotObjectRef {
  group: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface SnapshotsObjectParams extends JobParams {
  snapshot: string;
  object: SnapshotObjectRef;
}

export interface SnapshotsObjectResult {
  /** The object as the API returned it at capture, as YAML; a Secret's values replaced by `<redacted: N bytes>`. */
  yaml: string;
  /** True when values were replaced (a Secret): the text is not the stored object and cannot be restored from. */
  redacted: boolean;
}

/** A volume of a snapshot: the PVC it was read from. */
export interface SnapshotVolumeRef {
  namespace: string;
  pvc: string;
}

export interface SnapshotsFilesParams extends JobParams {
  snapshot: string;
  volume: SnapshotVolumeRef;
  /** A directory in the volume ("/" for its root). A file's path lists that file alone. */
  dir: string;
}

export interface SnapshotFileEntry {
  /** Path inside the volume, with a leading "/". */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  size: number;
  /** Permission bits. */
  mode: number;
  /** ISO 8601. */
  mtime: string;
  /** A symlink's target as stored, or a hard link's volume path. */
  target?: string;
}

export interface SnapshotsFilesResult {
  /** In the order the snapshot stores them (sorted by name). */
  entries: SnapshotFileEntry[];
}

export interface SnapshotsFileParams extends JobParams {
  snapshot: string;
  volume: SnapshotVolumeRef;
  path: string;
  /** Files larger than this are refused (SnapshotErrorCodes.tooLarge): the whole content crosses the IPC channel at once. */
  maxBytes: number;
}

export interface SnapshotsFileResult {
  /** The file's bytes, base64. */
  content: string;
  size: number;
}

export interface SnapshotsDeleteParams extends JobParams {
  snapshot: string;
}

export interface SnapshotsDeleteResult {
  /** The full id of the snapshot removed. */
  id: string;
}

/** Error code of `snapshots/file` for a file beyond `maxBytes`: the message gives its size and the `lifeboat repo cat` command that streams it. */
export const SnapshotErrorCodes = {
  tooLarge: -32816,
} as const;

/** What a snapshot holds: objects by namespace and kind, volumes, data streams. Reads the catalog only. */
export const SnapshotsContentsRequest = new RequestType<SnapshotsContentsParams, SnapshotsContentsResult, void>('snapshots/contents');

/** One object of a snapshot as YAML. Secrets are never shown: each value becomes `<redacted: N bytes>`. */
export const SnapshotsObjectRequest = new RequestType<SnapshotsObjectParams, SnapshotsObjectResult, void>('snapshots/object');

/** One directory of a volume of a snapshot. */
export const SnapshotsFilesRequest = new RequestType<SnapshotsFilesParams, SnapshotsFilesResult, void>('snapshots/files');

/** One file of a volume of a snapshot, whole, up to `maxBytes`. */
export const SnapshotsFileRequest = new RequestType<SnapshotsFileParams, SnapshotsFileResult, void>('snapshots/file');

/**
 * Removes a snapshot (its manifest, then its catalog) under a shared
 * repository lock. Its data stays until a prune removes what no other
 * snapshot uses.
 */
export const SnapshotsDeleteRequest = new RequestType<SnapshotsDeleteParams, SnapshotsDeleteResult, void>('snapshots/delete');

export interface ClusterObjectParams {
  kubeconfig?: string;
  context: string;
  object: SnapshotObjectRef;
}

export interface ClusterObjectResult {
  /** The live object as YAML, Secrets redacted as in `snapshots/object`; absent when the object does not exist. */
  yaml?: string;
  redacted: boolean;
}

/** The live object of a context's cluster, as YAML: the other side of a comparison with a snapshot. */
export const ClusterObjectRequest = new RequestType<ClusterObjectParams, ClusterObjectResult, void>('cluster/object');

/**
 * Restore. A plan never writes; an apply writes only to the context its
 * `confirmContext` names (the worker refuses a request whose resolved target
 * context differs: the user confirmed that one). Plans never carry Secret
 * values. Progress comes as `job/progress` with phases "plan", "objects",
 * "volumes", "hooks", "verify"; every write is also logged as it is done, so
 * an interrupted restore says exactly what it wrote.
 */
export interface RestorePlanParams extends JobParams {
  request: import('../engine/restore/types').RestoreRequest;
  /** Include each item's live and dry-run YAML (`PlanItem.live`, `.desired`) for a side-by-side view. */
  documents?: boolean;
}

export interface RestoreApplyParams extends JobParams {
  request: import('../engine/restore/types').RestoreRequest;
  /** The context the user confirmed; must equal the request's resolved target context. */
  confirmContext: string;
}

export interface RestoreFileParams extends JobParams {
  request: import('../engine/restore/types').RestoreFileRequest;
}

export interface RestoreProfilesParams {
  /** The profiles folder (the `lifeboat.profilesFolder` setting resolved against the workspace). */
  profilesDir?: string;
}

export interface RestoreProfileInfo {
  name: string;
  description?: string;
  /** Absent for the built-in ones. */
  file?: string;
  builtIn: boolean;
  /** Set when the file does not parse or validate: the message names the field. */
  error?: string;
  /** The profile's namespace mapping (after `extends`), when it has one: the extension prefills its mapping prompt with it. */
  namespaceMapping?: Record<string, string>;
}

export interface RestoreProfilesResult {
  /** Built-in first (dr, dev), then the folder's by name. */
  profiles: RestoreProfileInfo[];
}

export interface RepositoryPruneParams extends JobParams {
  /** Retention to apply first (forget snapshots it does not keep); absent: only unreferenced data is removed. */
  policy?: import('../engine/repo/retention').RetentionPolicy;
  /** Report what would be removed, remove nothing. */
  dryRun?: boolean;
}

/** The restore plan against the live target: every object's action and diff, the volumes, warnings. */
export const RestorePlanRequest = new RequestType<RestorePlanParams, import('../engine/restore/types').RestorePlan, void>('restore/plan');

/** Plans, applies (objects in order, volume data through mover pods, post-restore hooks) and verifies by planning again. */
export const RestoreApplyRequest = new RequestType<RestoreApplyParams, import('../engine/restore/types').RestoreResult, void>('restore/apply');

/** Restores a file or directory of a snapshot's volume into a PVC or a local directory. */
export const RestoreFileRequestType = new RequestType<RestoreFileParams, import('../engine/restore/types').RestoreFileResult, void>('restore/file');

/** The restore profiles: built-in and those in the profiles folder. */
export const RestoreProfilesRequest = new RequestType<RestoreProfilesParams, RestoreProfilesResult, void>('restore/profiles');

/** Applies a retention policy (optional) and removes data no snapshot references, under the exclusive lock. */
export const RepositoryPruneRequest = new RequestType<RepositoryPruneParams, import('../engine/repo/prune').PruneReport, void>('repository/prune');
