import {
  validateCaptureParams,
  validateRepositoryVerifyParams,
  validateSnapshotsListParams,
  validateSnapshotsShowParams,
} from '../../protocol/workerParams';
import type { RequestType } from 'vscode-jsonrpc';
import { CaptureJobRequest, RepositoryVerifyRequest, SnapshotsListRequest, SnapshotsShowRequest, type JobParams } from '../../protocol/worker';
import { captureJob } from './capture';
import type { JobContext } from './context';
import { listSnapshotsJob, showSnapshotJob } from './snapshots';
import { verifyJob } from './verify';

export type { JobContext } from './context';

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
];
