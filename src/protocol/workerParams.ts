import { isAbsolute } from 'node:path';
import type { CaptureRequest, CaptureScope, EtcdTarget } from '../engine/capture/types';
import type { RetentionPolicy } from '../engine/repo/retention';
import type { ExistingPolicy, RestoreFileRequest, RestoreRequest, RestoreSelection } from '../engine/restore/types';
import {
  defined,
  InvalidParamsError,
  integer,
  object,
  optionalBoolean,
  optionalInteger,
  optionalString,
  optionalStringList,
  string,
  type Fields,
} from './validate';
import type {
  CaptureParams,
  ClusterContextsParams,
  ClusterNamespacesParams,
  ClusterObjectParams,
  ClusterObjectRef,
  ClusterObjectsParams,
  ClusterTagParams,
  ClusterWatchParams,
  InitializeParams,
  JobParams,
  RepositoryInitParams,
  RepositoryPruneParams,
  RepositoryRef,
  RepositoryVerifyParams,
  RestoreApplyParams,
  RestoreFileParams,
  RestorePlanParams,
  RestoreProfilesParams,
  S3Settings,
  SnapshotObjectRef,
  SnapshotsContentsParams,
  SnapshotsDeleteParams,
  SnapshotsFileParams,
  SnapshotsFilesParams,
  SnapshotsListParams,
  SnapshotsObjectParams,
  SnapshotsShowParams,
  SnapshotVolumeRef,
} from './worker';

/**
 * Validators for the params of each worker request (./worker). Each returns
 * a fresh object holding only the known fields, or throws
 * InvalidParamsError naming the bad field. Secret fields are checked for
 * type and length only; their values never appear in a message.
 */

const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function validateInitializeParams(value: unknown): InitializeParams {
  const p = object(value, '', ['protocolVersion']);
  return { protocolVersion: integer(p, 'protocolVersion', '', { min: 0, max: 1_000_000 }) };
}

function s3Settings(value: unknown, path: string): S3Settings {
  const s = object(value, path, ['endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'sessionToken']);
  const settings = defined<S3Settings>({
    endpoint: optionalString(s, 'endpoint', path),
    region: optionalString(s, 'region', path, { max: 64 }),
    accessKeyId: optionalString(s, 'accessKeyId', path, { max: 256 }),
    secretAccessKey: optionalString(s, 'secretAccessKey', path, { max: 1024 }),
    sessionToken: optionalString(s, 'sessionToken', path, { max: 8192 }),
  });
  if (settings.endpoint !== undefined && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(settings.endpoint)) {
    throw new InvalidParamsError(`${path}.endpoint`, 'must be an http:// or https:// URL');
  }
  if ((settings.accessKeyId === undefined) !== (settings.secretAccessKey === undefined)) {
    throw new InvalidParamsError(`${path}.${settings.accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey'}`, 'accessKeyId and secretAccessKey go together');
  }
  if (settings.sessionToken !== undefined && settings.accessKeyId === undefined) {
    throw new InvalidParamsError(`${path}.sessionToken`, 'needs accessKeyId and secretAccessKey');
  }
  return settings;
}

function repositoryRef(parent: Fields, path: string): RepositoryRef {
  const at = path ? `${path}.repository` : 'repository';
  if (parent.repository === undefined) throw new InvalidParamsError(at, 'is required');
  const r = object(parent.repository, at, ['location', 'passphrase', 's3']);
  return defined<RepositoryRef>({
    location: string(r, 'location', at),
    passphrase: optionalString(r, 'passphrase', at, { nonEmpty: true, max: 4096 }),
    s3: r.s3 === undefined ? undefined : s3Settings(r.s3, `${at}.s3`),
  });
}

function jobParams(p: Fields): JobParams {
  const jobId = string(p, 'jobId', '', { max: 128 });
  if (!JOB_ID_RE.test(jobId)) throw new InvalidParamsError('jobId', 'must be 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit');
  return { jobId, repository: repositoryRef(p, '') };
}

export function validateSnapshotsListParams(value: unknown): SnapshotsListParams {
  const p = object(value, '', ['jobId', 'repository', 'cluster', 'tag']);
  return defined({ ...jobParams(p), cluster: optionalString(p, 'cluster', ''), tag: optionalString(p, 'tag', '') });
}

export function validateSnapshotsShowParams(value: unknown): SnapshotsShowParams {
  const p = object(value, '', ['jobId', 'repository', 'snapshot']);
  return { ...jobParams(p), snapshot: string(p, 'snapshot', '', { max: 128 }) };
}

export function validateRepositoryVerifyParams(value: unknown): RepositoryVerifyParams {
  const p = object(value, '', ['jobId', 'repository', 'readData']);
  return defined({ ...jobParams(p), readData: optionalBoolean(p, 'readData', '') });
}

function captureScope(value: unknown, path: string): CaptureScope {
  const s = object(value, path, ['namespaces', 'excludeNamespaces', 'includeKinds', 'excludeKinds', 'selector', 'tagged']);
  return defined<CaptureScope>({
    namespaces: optionalStringList(s, 'namespaces', path),
    excludeNamespaces: optionalStringList(s, 'excludeNamespaces', path),
    includeKinds: optionalStringList(s, 'includeKinds', path),
    excludeKinds: optionalStringList(s, 'excludeKinds', path),
    selector: optionalString(s, 'selector', path, { nonEmpty: false }),
    tagged: optionalBoolean(s, 'tagged', path),
  });
}

function etcdTarget(value: unknown, path: string): EtcdTarget {
  const e = object(value, path, ['endpoints', 'caFile', 'certFile', 'keyFile']);
  const endpoints = optionalStringList(e, 'endpoints', path, { max: 16 });
  if (!endpoints || endpoints.length === 0) throw new InvalidParamsError(`${path}.endpoints`, 'must list at least one endpoint URL');
  endpoints.forEach((url, i) => {
    if (!/^https?:\/\/[^\s/]+\/?$/.test(url)) throw new InvalidParamsError(`${path}.endpoints[${i}]`, 'must be an endpoint URL like https://10.0.0.1:2379');
  });
  const target = defined<EtcdTarget>({
    endpoints,
    caFile: optionalString(e, 'caFile', path),
    certFile: optionalString(e, 'certFile', path),
    keyFile: optionalString(e, 'keyFile', path),
  });
  if ((target.certFile === undefined) !== (target.keyFile === undefined)) {
    throw new InvalidParamsError(`${path}.${target.certFile === undefined ? 'certFile' : 'keyFile'}`, 'certFile and keyFile go together');
  }
  return target;
}

function captureRequest(value: unknown, path: string): CaptureRequest {
  const r = object(value, path, ['kubeconfig', 'context', 'scope', 'volumes', 'moverImage', 'etcd', 'tags', 'parallelism']);
  if (r.scope === undefined) throw new InvalidParamsError(`${path}.scope`, 'is required (an empty object means the whole cluster)');
  return defined<CaptureRequest>({
    kubeconfig: optionalString(r, 'kubeconfig', path),
    context: optionalString(r, 'context', path, { max: 253 }),
    scope: captureScope(r.scope, `${path}.scope`),
    volumes: optionalBoolean(r, 'volumes', path),
    moverImage: optionalString(r, 'moverImage', path, { max: 512 }),
    etcd: r.etcd === undefined ? undefined : etcdTarget(r.etcd, `${path}.etcd`),
    tags: optionalStringList(r, 'tags', path, { max: 64 }),
    parallelism: optionalInteger(r, 'parallelism', path, { min: 1, max: 64 }),
  });
}

export function validateCaptureParams(value: unknown): CaptureParams {
  const p = object(value, '', ['jobId', 'repository', 'request']);
  if (p.request === undefined) throw new InvalidParamsError('request', 'is required');
  return { ...jobParams(p), request: captureRequest(p.request, 'request') };
}

export function validateRepositoryInitParams(value: unknown): RepositoryInitParams {
  const p = object(value, '', ['jobId', 'repository', 'ifMissing']);
  return defined({ ...jobParams(p), ifMissing: optionalBoolean(p, 'ifMissing', '') });
}

/** DNS-1123 names (namespaces, and most object names); pods and PVCs may also hold dots. */
const OBJECT_NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const TAGGABLE_KINDS = ['Pod', 'PersistentVolumeClaim', 'Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Namespace'];

function objectName(parent: Fields, key: string, path: string): string {
  const name = string(parent, key, path, { max: 253 });
  if (!OBJECT_NAME_RE.test(name)) throw new InvalidParamsError(path ? `${path}.${key}` : key, 'must be a Kubernetes object name (lower case letters, digits, "-" and ".")');
  return name;
}

function contextParams(p: Fields): { kubeconfig?: string; context: string } {
  return defined({ kubeconfig: optionalString(p, 'kubeconfig', ''), context: string(p, 'context', '', { max: 253 }) });
}

export function validateClusterContextsParams(value: unknown): ClusterContextsParams {
  const p = object(value ?? {}, '', ['kubeconfig']);
  return defined({ kubeconfig: optionalString(p, 'kubeconfig', '') });
}

export function validateClusterNamespacesParams(value: unknown): ClusterNamespacesParams {
  const p = object(value, '', ['kubeconfig', 'context']);
  return contextParams(p);
}

export function validateClusterObjectsParams(value: unknown): ClusterObjectsParams {
  const p = object(value, '', ['kubeconfig', 'context', 'namespace', 'what']);
  const what = string(p, 'what', '');
  if (what !== 'workloads' && what !== 'pods' && what !== 'pvcs') throw new InvalidParamsError('what', 'must be "workloads", "pods" or "pvcs"');
  return { ...contextParams(p), namespace: objectName(p, 'namespace', ''), what };
}

function objectRef(value: unknown, path: string): ClusterObjectRef {
  const r = object(value, path, ['kind', 'namespace', 'name']);
  const kind = string(r, 'kind', path, { max: 64 });
  if (!TAGGABLE_KINDS.includes(kind)) throw new InvalidParamsError(`${path}.kind`, `must be one of ${TAGGABLE_KINDS.join(', ')}`);
  const name = objectName(r, 'name', path);
  if (kind === 'Namespace') {
    if (r.namespace !== undefined) throw new InvalidParamsError(`${path}.namespace`, 'must be absent for a Namespace');
    return { kind, name };
  }
  if (r.namespace === undefined) throw new InvalidParamsError(`${path}.namespace`, `is required for a ${kind}`);
  return { kind, namespace: objectName(r, 'namespace', path), name };
}

export function validateClusterTagParams(value: unknown): ClusterTagParams {
  const p = object(value, '', ['kubeconfig', 'context', 'refs', 'value']);
  if (!Array.isArray(p.refs) || p.refs.length === 0) throw new InvalidParamsError('refs', 'must be a non-empty array of objects');
  if (p.refs.length > 1000) throw new InvalidParamsError('refs', 'has more than 1000 entries');
  const refs = p.refs.map((r: unknown, i) => objectRef(r, `refs[${i}]`));
  if (p.value !== null && p.value !== 'true' && p.value !== 'false') throw new InvalidParamsError('value', 'must be "true", "false" or null (to remove the tag)');
  return { ...contextParams(p), refs, value: p.value };
}

export function validateClusterWatchParams(value: unknown): ClusterWatchParams {
  const p = object(value, '', ['kubeconfig', 'context']);
  return contextParams(p);
}

function snapshotJobParams(p: Fields): JobParams & { snapshot: string } {
  return { ...jobParams(p), snapshot: string(p, 'snapshot', '', { max: 128 }) };
}

/** API groups are DNS subdomains; kinds are CamelCase identifiers. */
const GROUP_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$/;
const KIND_RE = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
/** Object names: any non-empty string without "/" (some kinds, like RBAC roles, allow ":" and upper case). */
const ANY_NAME_RE = /^[^/\0]{1,253}$/;

function snapshotObjectRef(value: unknown, path: string): SnapshotObjectRef {
  const r = object(value, path, ['group', 'kind', 'namespace', 'name']);
  const group = string(r, 'group', path, { nonEmpty: false, max: 253 });
  if (!GROUP_RE.test(group)) throw new InvalidParamsError(`${path}.group`, 'must be an API group ("" for the core group)');
  const kind = string(r, 'kind', path, { max: 63 });
  if (!KIND_RE.test(kind)) throw new InvalidParamsError(`${path}.kind`, 'must be a kind such as Deployment');
  const name = string(r, 'name', path, { max: 253 });
  if (!ANY_NAME_RE.test(name)) throw new InvalidParamsError(`${path}.name`, 'must be an object name (no "/")');
  const namespace = r.namespace === undefined ? undefined : objectName(r, 'namespace', path);
  return defined<SnapshotObjectRef>({ group, kind, namespace, name });
}

function volumeRef(value: unknown, path: string): SnapshotVolumeRef {
  const v = object(value, path, ['namespace', 'pvc']);
  return { namespace: objectName(v, 'namespace', path), pvc: objectName(v, 'pvc', path) };
}

function volumePath(parent: Fields, key: string, path = ''): string {
  const p = string(parent, key, path, { max: 4096 });
  const at = path ? `${path}.${key}` : key;
  if (!p.startsWith('/')) throw new InvalidParamsError(at, 'must be a path inside the volume starting with "/"');
  if (p.includes('\0')) throw new InvalidParamsError(at, 'must not hold a NUL character');
  if (p.split('/').some((seg) => seg === '..')) throw new InvalidParamsError(at, 'must not hold ".." segments');
  return p;
}

export function validateSnapshotsContentsParams(value: unknown): SnapshotsContentsParams {
  return snapshotJobParams(object(value, '', ['jobId', 'repository', 'snapshot']));
}

export function validateSnapshotsObjectParams(value: unknown): SnapshotsObjectParams {
  const p = object(value, '', ['jobId', 'repository', 'snapshot', 'object']);
  if (p.object === undefined) throw new InvalidParamsError('object', 'is required');
  return { ...snapshotJobParams(p), object: snapshotObjectRef(p.object, 'object') };
}

export function validateSnapshotsFilesParams(value: unknown): SnapshotsFilesParams {
  const p = object(value, '', ['jobId', 'repository', 'snapshot', 'volume', 'dir']);
  if (p.volume === undefined) throw new InvalidParamsError('volume', 'is required');
  return { ...snapshotJobParams(p), volume: volumeRef(p.volume, 'volume'), dir: volumePath(p, 'dir') };
}

/** The most `snapshots/file` sends in one answer. */
export const MAX_FILE_ANSWER_BYTES = 256 * 1024 * 1024;

export function validateSnapshotsFileParams(value: unknown): SnapshotsFileParams {
  const p = object(value, '', ['jobId', 'repository', 'snapshot', 'volume', 'path', 'maxBytes']);
  if (p.volume === undefined) throw new InvalidParamsError('volume', 'is required');
  return {
    ...snapshotJobParams(p),
    volume: volumeRef(p.volume, 'volume'),
    path: volumePath(p, 'path'),
    maxBytes: integer(p, 'maxBytes', '', { min: 0, max: MAX_FILE_ANSWER_BYTES }),
  };
}

export function validateSnapshotsDeleteParams(value: unknown): SnapshotsDeleteParams {
  return snapshotJobParams(object(value, '', ['jobId', 'repository', 'snapshot']));
}

export function validateClusterObjectParams(value: unknown): ClusterObjectParams {
  const p = object(value, '', ['kubeconfig', 'context', 'object']);
  if (p.object === undefined) throw new InvalidParamsError('object', 'is required');
  return { ...contextParams(p), object: snapshotObjectRef(p.object, 'object') };
}

// Restore and prune.

function optionalEnum<T extends string>(parent: Fields, key: string, path: string, allowed: readonly T[]): T | undefined {
  const v = optionalString(parent, key, path, { max: 64 });
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new InvalidParamsError(path ? `${path}.${key}` : key, `must be one of ${allowed.join(', ')}`);
  return v as T;
}

function restoreSelection(value: unknown, path: string): RestoreSelection {
  const s = object(value, path, [
    'namespaces',
    'excludeNamespaces',
    'includeKinds',
    'excludeKinds',
    'names',
    'selector',
    'object',
    'pvc',
    'clusterResources',
    'volumes',
  ]);
  let target: RestoreSelection['object'];
  if (s.object !== undefined) {
    const at = `${path}.object`;
    const o = object(s.object, at, ['group', 'kind', 'namespace', 'name']);
    const group = optionalString(o, 'group', at, { nonEmpty: false, max: 253 });
    if (group !== undefined && !GROUP_RE.test(group)) throw new InvalidParamsError(`${at}.group`, 'must be an API group ("" for the core group)');
    // Kinds as capture takes them: "Deployment", "deployments", "deploy".
    const kind = string(o, 'kind', at, { max: 63 });
    if (!KIND_RE.test(kind)) throw new InvalidParamsError(`${at}.kind`, 'must be a kind such as Deployment');
    const name = string(o, 'name', at, { max: 253 });
    if (!ANY_NAME_RE.test(name)) throw new InvalidParamsError(`${at}.name`, 'must be an object name (no "/")');
    target = defined({ group, kind, namespace: o.namespace === undefined ? undefined : objectName(o, 'namespace', at), name });
  }
  let pvc: RestoreSelection['pvc'];
  if (s.pvc !== undefined) {
    const p = object(s.pvc, `${path}.pvc`, ['namespace', 'name']);
    pvc = { namespace: objectName(p, 'namespace', `${path}.pvc`), name: objectName(p, 'name', `${path}.pvc`) };
  }
  if (target && pvc) throw new InvalidParamsError(`${path}.pvc`, 'object and pvc exclude each other');
  return defined<RestoreSelection>({
    namespaces: optionalStringList(s, 'namespaces', path),
    excludeNamespaces: optionalStringList(s, 'excludeNamespaces', path),
    includeKinds: optionalStringList(s, 'includeKinds', path),
    excludeKinds: optionalStringList(s, 'excludeKinds', path),
    names: optionalStringList(s, 'names', path),
    selector: optionalString(s, 'selector', path, { nonEmpty: false }),
    object: target,
    pvc,
    clusterResources: optionalEnum(s, 'clusterResources', path, ['related', 'all', 'none'] as const),
    volumes: optionalBoolean(s, 'volumes', path),
  });
}

function namespaceMapping(value: unknown, path: string): Record<string, string> {
  // Every key is allowed: each is a source namespace, checked below.
  const m = object(value, path, Object.keys(value && typeof value === 'object' ? value : {}));
  const entries = Object.keys(m);
  if (entries.length > 1000) throw new InvalidParamsError(path, 'has more than 1000 entries');
  const out: Record<string, string> = {};
  for (const source of entries) {
    if (!OBJECT_NAME_RE.test(source)) throw new InvalidParamsError(`${path}.${source}`, 'the source must be a namespace name');
    out[source] = objectName(m, source, path);
  }
  return out;
}

function productionPattern(parent: Fields, path: string): string | undefined {
  const pattern = optionalString(parent, 'productionPattern', path, { max: 1024 });
  if (pattern === undefined) return undefined;
  try {
    new RegExp(pattern);
  } catch {
    throw new InvalidParamsError(`${path}.productionPattern`, 'must be a regular expression');
  }
  return pattern;
}

function restoreRequest(value: unknown, path: string): RestoreRequest {
  const r = object(value, path, [
    'snapshot',
    'kubeconfig',
    'context',
    'selection',
    'profile',
    'profilesDir',
    'namespaceMapping',
    'existing',
    'moverImage',
    'parallelism',
    'productionPattern',
  ]);
  return defined<RestoreRequest>({
    snapshot: string(r, 'snapshot', path, { max: 128 }),
    kubeconfig: optionalString(r, 'kubeconfig', path),
    context: optionalString(r, 'context', path, { max: 253 }),
    selection: r.selection === undefined ? undefined : restoreSelection(r.selection, `${path}.selection`),
    profile: optionalString(r, 'profile', path),
    profilesDir: optionalString(r, 'profilesDir', path),
    namespaceMapping: r.namespaceMapping === undefined ? undefined : namespaceMapping(r.namespaceMapping, `${path}.namespaceMapping`),
    existing: optionalEnum<ExistingPolicy>(r, 'existing', path, ['skip', 'update', 'recreate']),
    moverImage: optionalString(r, 'moverImage', path, { max: 512 }),
    parallelism: optionalInteger(r, 'parallelism', path, { min: 1, max: 64 }),
    productionPattern: productionPattern(r, path),
  });
}

export function validateRestorePlanParams(value: unknown): RestorePlanParams {
  const p = object(value, '', ['jobId', 'repository', 'request', 'documents']);
  if (p.request === undefined) throw new InvalidParamsError('request', 'is required');
  return defined({ ...jobParams(p), request: restoreRequest(p.request, 'request'), documents: optionalBoolean(p, 'documents', '') });
}

export function validateRestoreApplyParams(value: unknown): RestoreApplyParams {
  const p = object(value, '', ['jobId', 'repository', 'request', 'confirmContext']);
  if (p.request === undefined) throw new InvalidParamsError('request', 'is required');
  return { ...jobParams(p), request: restoreRequest(p.request, 'request'), confirmContext: string(p, 'confirmContext', '', { max: 253 }) };
}

function restoreFileTarget(value: unknown, path: string): RestoreFileRequest['to'] {
  const kind = (value && typeof value === 'object' && !Array.isArray(value) ? (value as Fields).kind : undefined) as unknown;
  if (kind === 'dir') {
    const t = object(value, path, ['kind', 'directory']);
    const directory = string(t, 'directory', path);
    if (!isAbsolute(directory)) throw new InvalidParamsError(`${path}.directory`, 'must be an absolute path');
    return { kind, directory };
  }
  if (kind === 'pvc') {
    const t = object(value, path, ['kind', 'kubeconfig', 'context', 'namespace', 'pvc', 'targetPath']);
    return defined({
      kind,
      kubeconfig: optionalString(t, 'kubeconfig', path),
      context: optionalString(t, 'context', path, { max: 253 }),
      namespace: objectName(t, 'namespace', path),
      pvc: objectName(t, 'pvc', path),
      targetPath: t.targetPath === undefined ? undefined : volumePath(t, 'targetPath', path),
    });
  }
  object(value, path, ['kind', 'directory', 'kubeconfig', 'context', 'namespace', 'pvc', 'targetPath']);
  throw new InvalidParamsError(`${path}.kind`, 'must be "dir" or "pvc"');
}

export function validateRestoreFileParams(value: unknown): RestoreFileParams {
  const p = object(value, '', ['jobId', 'repository', 'request']);
  if (p.request === undefined) throw new InvalidParamsError('request', 'is required');
  const r = object(p.request, 'request', ['snapshot', 'volume', 'path', 'to', 'moverImage']);
  if (r.volume === undefined) throw new InvalidParamsError('request.volume', 'is required');
  if (r.to === undefined) throw new InvalidParamsError('request.to', 'is required');
  return {
    ...jobParams(p),
    request: defined<RestoreFileRequest>({
      snapshot: string(r, 'snapshot', 'request', { max: 128 }),
      volume: volumeRef(r.volume, 'request.volume'),
      path: volumePath(r, 'path', 'request'),
      to: restoreFileTarget(r.to, 'request.to'),
      moverImage: optionalString(r, 'moverImage', 'request', { max: 512 }),
    }),
  };
}

export function validateRestoreProfilesParams(value: unknown): RestoreProfilesParams {
  const p = object(value ?? {}, '', ['profilesDir']);
  return defined({ profilesDir: optionalString(p, 'profilesDir', '') });
}

const RETENTION_RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

export function validateRepositoryPruneParams(value: unknown): RepositoryPruneParams {
  const p = object(value, '', ['jobId', 'repository', 'policy', 'dryRun']);
  let policy: RetentionPolicy | undefined;
  if (p.policy !== undefined) {
    const r = object(p.policy, 'policy', RETENTION_RULES);
    policy = defined(Object.fromEntries(RETENTION_RULES.map((k) => [k, optionalInteger(r, k, 'policy', { min: 0, max: 1_000_000 })])) as RetentionPolicy);
  }
  return defined({ ...jobParams(p), policy, dryRun: optionalBoolean(p, 'dryRun', '') });
}
