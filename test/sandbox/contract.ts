/**
 * The seams inside a sandbox cluster: the API server's object store as seen
 * by the simulated controllers, and the hook through which pod exec is
 * served. The API server implements ObjectApi; controllers and exec use it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** A Kubernetes object as JSON. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: {
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
  };
  [key: string]: any;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Names a resource type: core resources have group "". */
export interface ResourceKey {
  group: string;
  resource: string; // plural, e.g. "pods", "deployments"
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: ResourceKey;
  object: KObject;
  /** The previous state, for MODIFIED and DELETED. */
  old?: KObject;
}

export type DeletePropagation = 'Foreground' | 'Background' | 'Orphan';

/**
 * In-process access to the cluster's objects, with the same defaulting,
 * validation, resourceVersion and watch semantics as requests over HTTPS
 * (minus authentication). Errors are thrown as ApiError-like objects
 * carrying a metav1.Status in `status`.
 */
export interface ObjectApi {
  get(key: ResourceKey, namespace: string | undefined, name: string): Promise<KObject | undefined>;
  list(key: ResourceKey, namespace?: string): Promise<KObject[]>;
  /** Creates (generateName honoured); returns the stored object. */
  create(key: ResourceKey, obj: KObject): Promise<KObject>;
  /** Replaces; a stale metadata.resourceVersion fails with 409 Conflict. */
  update(key: ResourceKey, obj: KObject): Promise<KObject>;
  /** Replaces only .status (the status subresource). */
  updateStatus(key: ResourceKey, obj: KObject): Promise<KObject>;
  /** Deletes with the given propagation (default Background). */
  delete(key: ResourceKey, namespace: string | undefined, name: string, propagation?: DeletePropagation): Promise<void>;
  /** Every change to every object, after it is stored. Returns unsubscribe. */
  watch(listener: (event: WatchEvent) => void): () => void;
}

/** What a pods/exec request asked for, parsed from its query string. */
export interface ExecRequest {
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/**
 * Serves an exec that the API server has already authenticated, authorised
 * (create on pods/exec) and checked the pod exists for. It completes the
 * WebSocket upgrade on `socket` itself.
 */
export type ExecHandler = (request: ExecRequest, req: IncomingMessage, socket: Duplex, head: Buffer) => void;
