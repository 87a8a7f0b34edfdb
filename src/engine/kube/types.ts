import type { Readable, Writable } from 'node:stream';

/**
 * The cluster as the engine sees it: one kubeconfig context, reached over
 * HTTPS with whatever credentials the kubeconfig names. Capture and restore
 * code against this interface only; `openKubeClient` (./client) is the
 * implementation.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  generateName?: string;
  [key: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Any Kubernetes object, as the API returned it. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: any;
}

/** One served resource, from discovery: the preferred version of its group. */
export interface ApiResource {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural, lower case: "deployments". */
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
}

/** "apps/v1" or "v1". */
export function apiVersionOf(r: Pick<ApiResource, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** "deployments.apps", or "configmaps" for the core group: how kubectl names a resource. */
export function qualifiedName(r: Pick<ApiResource, 'group' | 'resource'>): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends RequestOptions {
  /** Omit for all namespaces (or for a cluster-scoped resource). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size (`limit`); the client follows `continue` tokens. */
  pageSize?: number;
}

export interface WriteOptions extends RequestOptions {
  /** Server-side dry run (`dryRun=All`): validated and defaulted, not stored. */
  dryRun?: boolean;
  fieldManager?: string;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  /** Server-side apply only: take ownership of conflicting fields. */
  force?: boolean;
  /** Patch a subresource ("status", "scale"). */
  subresource?: string;
}

export interface DeleteOptions extends RequestOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchOptions extends ListOptions {
  /** Start after this version; omitted: list first, then watch from the list's version. */
  resourceVersion?: string;
}

export interface ExecOptions extends RequestOptions {
  container?: string;
  /** Sent to the process; its end closes the process's stdin. */
  stdin?: Readable;
  /** Receives stdout with backpressure: a slow consumer slows the stream, memory stays flat. */
  stdout?: Writable;
  stderr?: Writable;
  /** Gives up (and reports a timeout) after this long. */
  timeoutMs?: number;
}

export interface ExecResult {
  /** The process's exit status; -1 when the server reported a failure without one. */
  exitCode: number;
  /** The server's status message for a non-zero exit or an exec failure. */
  message?: string;
}

/** A failed API call: the HTTP status, the server's reason and message, which cluster and what was asked. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** metav1.Status reason: "NotFound", "Forbidden", "Conflict", "AlreadyExists", "Invalid", "Expired", ... */
    readonly reason: string,
    readonly context: string,
    readonly body?: any,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** The cluster could not be reached at all (DNS, refused, TLS, timeout). */
export class KubeUnreachableError extends Error {
  constructor(
    message: string,
    readonly context: string,
    readonly server: string,
  ) {
    super(message);
    this.name = 'KubeUnreachableError';
  }
}

export interface KubeClient {
  /** The kubeconfig context this client talks to. */
  readonly context: string;
  /** The cluster's name in the kubeconfig, and its API server URL. */
  readonly cluster: string;
  readonly server: string;

  /** Served resources, preferred versions only, subresources left out; cached until `refresh`. */
  discover(options?: { refresh?: boolean } & RequestOptions): Promise<ApiResource[]>;
  /** The served resource for an apiVersion and kind, or undefined when the cluster does not serve it. */
  resourceFor(apiVersion: string, kind: string, options?: RequestOptions): Promise<ApiResource | undefined>;

  /** Every object, page by page (restarting from the beginning when a continue token expires with 410 Gone). */
  list(resource: ApiResource, options?: ListOptions): AsyncIterable<KObject>;
  listAll(resource: ApiResource, options?: ListOptions): Promise<KObject[]>;
  /** Undefined when the object does not exist (404). */
  get(resource: ApiResource, name: string, namespace?: string, options?: RequestOptions): Promise<KObject | undefined>;
  create(resource: ApiResource, obj: KObject, options?: WriteOptions): Promise<KObject>;
  replace(resource: ApiResource, obj: KObject, options?: WriteOptions): Promise<KObject>;
  patch(resource: ApiResource, name: string, namespace: string | undefined, patch: unknown, type: PatchType, options?: PatchOptions): Promise<KObject>;
  /** False when the object was already gone. */
  delete(resource: ApiResource, name: string, namespace?: string, options?: DeleteOptions): Promise<boolean>;
  /** Runs until the signal aborts; reconnects from the last seen version, relisting on 410 Gone. */
  watch(resource: ApiResource, options: WatchOptions, onEvent: (type: WatchEventType, obj: KObject) => void): Promise<void>;
  /** SelfSubjectAccessReview: may the current user do `verb` on the resource? */
  canI(verb: string, resource: ApiResource, namespace?: string, options?: RequestOptions): Promise<boolean>;

  /** Runs argv in a pod's container over the exec WebSocket; never through a shell built by Lifeboat. */
  exec(namespace: string, pod: string, command: string[], options?: ExecOptions): Promise<ExecResult>;

  /** A raw call, for what the typed methods do not cover. Path starts with "/". */
  request<T = unknown>(method: string, path: string, options?: { query?: Record<string, string>; body?: unknown; contentType?: string } & RequestOptions): Promise<T>;

  close(): void;
}

export interface KubeClientOptions {
  /** A kubeconfig file; default: $KUBECONFIG (colon-separated list) or ~/.kube/config. */
  kubeconfig?: string;
  /** Default: the kubeconfig's current context. */
  context?: string;
  /** Concurrent requests at most (default 8). */
  parallelism?: number;
}
