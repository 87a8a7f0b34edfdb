import {
  validateCaptureParams,
  validateClusterContextsParams,
  validateClusterNamespacesParams,
  validateClusterObjectsParams,
  validateClusterTagParams,
  validateClusterWatchParams,
  validateRepositoryInitParams,
  validateRepositoryVerifyParams,
  validateSnapshotsListParams,
  validateSnapshotsShowParams,
  validateClusterObjectParams,
  validateSnapshotsContentsParams,
  validateSnapshotsDeleteParams,
  validateSnapshotsFileParams,
  validateSnapshotsFilesParams,
  validateSnapshotsObjectParams,
  validateRepositoryPruneParams,
  validateRestoreApplyParams,
  validateRestoreFileParams,
  validateRestorePlanParams,
  validateRestoreProfilesParams,
} from '../../protocol/workerParams';
import type { RequestType } from 'vscode-jsonrpc';
import {
  CaptureJobRequest,
  ClusterContextsRequest,
  ClusterNamespacesRequest,
  ClusterObjectsRequest,
  ClusterTagRequest,
  ClusterWatchRequest,
  RepositoryInitRequest,
  RepositoryVerifyRequest,
  SnapshotsListRequest,
  SnapshotsShowRequest,
  ClusterObjectRequest,
  SnapshotsContentsRequest,
  SnapshotsDeleteRequest,
  SnapshotsFileRequest,
  SnapshotsFilesRequest,
  SnapshotsObjectRequest,
  RepositoryPruneRequest,
  RestoreApplyRequest,
  RestoreFileRequestType,
  RestorePlanRequest,
  RestoreProfilesRequest,
  type JobParams,
} from '../../protocol/worker';
import { captureJob } from './capture';
import { clusterContexts, clusterNamespaces, clusterObjects, clusterTag, clusterWatch, type ClusterRequestContext } from './cluster';
import type { JobContext } from './context';
import { initRepositoryJob } from './repositoryInit';
import { listSnapshotsJob, showSnapshotJob } from './snapshots';
import { verifyJob } from './verify';
import { clusterObject } from './liveObject';
import { repositoryPruneJob, restoreApplyJob, restoreFileJob, restorePlanJob, restoreProfiles } from './restore';
import { deleteSnapshotJob, snapshotContentsJob, snapshotFileJob, snapshotFilesJob, snapshotObjectJob } from './snapshotContents';

export type { JobContext } from './context';
export type { ClusterRequestContext } from './cluster';

/** A job the worker runs on request: the method, how its params are checked, and the work. */
export interface JobKind<P extends JobParams = JobParams, R = unknown> {
  method: string;
  validate(params: unknown): P;
  run(params: P, ctx: JobContext): Promise<R>;
}

/** Ties a request type to its validator and work, so the three cannot disagree on params or result. */
function kind<P extends JobParams, R>(type: RequestType<P, R, void>, validate: (v: unknown) => P, run: (p: P, ctx: JobContext) => Promise<R>): JobKind {
  return { method: type.method, validate, run: run as JobKind['run'] };
}

/** Every job the worker serves. */
export const jobKinds: JobKind[] = [
  kind(CaptureJobRequest, validateCaptureParams, captureJob),
  kind(SnapshotsListRequest, validateSnapshotsListParams, listSnapshotsJob),
  kind(SnapshotsShowRequest, validateSnapshotsShowParams, showSnapshotJob),
  kind(RepositoryVerifyRequest, validateRepositoryVerifyParams, verifyJob),
  kind(RepositoryInitRequest, validateRepositoryInitParams, initRepositoryJob),
  kind(SnapshotsContentsRequest, validateSnapshotsContentsParams, snapshotContentsJob),
  kind(SnapshotsObjectRequest, validateSnapshotsObjectParams, snapshotObjectJob),
  kind(SnapshotsFilesRequest, validateSnapshotsFilesParams, snapshotFilesJob),
  kind(SnapshotsFileRequest, validateSnapshotsFileParams, snapshotFileJob),
  kind(SnapshotsDeleteRequest, validateSnapshotsDeleteParams, deleteSnapshotJob),
  kind(RestorePlanRequest, validateRestorePlanParams, restorePlanJob),
  kind(RestoreApplyRequest, validateRestoreApplyParams, restoreApplyJob),
  kind(RestoreFileRequestType, validateRestoreFileParams, restoreFileJob),
  kind(RepositoryPruneRequest, validateRepositoryPruneParams, repositoryPruneJob),
];

/** A request about a cluster (no repository, no job id): the method, its params check, and the work. */
export interface ClusterRequestKind<P = unknown, R = unknown> {
  method: string;
  validate(params: unknown): P;
  run(params: P, ctx: ClusterRequestContext): Promise<R>;
}

function clusterKind<P, R>(type: RequestType<P, R, void>, validate: (v: unknown) => P, run: (p: P, ctx: ClusterRequestContext) => Promise<R>): ClusterRequestKind {
  return { method: type.method, validate, run: run as ClusterRequestKind['run'] };
}

/** Every cluster request the worker serves, for the Clusters view and tagging. */
export const clusterRequestKinds: ClusterRequestKind[] = [
  clusterKind(ClusterContextsRequest, validateClusterContextsParams, clusterContexts),
  clusterKind(ClusterNamespacesRequest, validateClusterNamespacesParams, clusterNamespaces),
  clusterKind(ClusterObjectsRequest, validateClusterObjectsParams, clusterObjects),
  clusterKind(ClusterTagRequest, validateClusterTagParams, clusterTag),
  clusterKind(ClusterWatchRequest, validateClusterWatchParams, clusterWatch),
  clusterKind(ClusterObjectRequest, validateClusterObjectParams, clusterObject),
  clusterKind(RestoreProfilesRequest, validateRestoreProfilesParams, restoreProfiles),
];
