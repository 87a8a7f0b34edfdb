import { ResponseError } from 'vscode-jsonrpc';
import { loadKubeConfig } from '../../engine/kube/kubeconfig';
import { prune, type PruneReport } from '../../engine/repo/prune';
import { listProfiles, planRestore, restoreFile, runRestore } from '../../engine/restore';
import type { RestoreFileResult, RestorePlan, RestoreRequest, RestoreResult } from '../../engine/restore/types';
import {
  ErrorCodes,
  type RepositoryPruneParams,
  type RestoreApplyParams,
  type RestoreFileParams,
  type RestorePlanParams,
  type RestoreProfilesParams,
  type RestoreProfilesResult,
} from '../../protocol/worker';
import type { ClusterRequestContext } from './cluster';
import type { JobContext } from './context';
import { withRepositoryRef } from './repository';

/** Restore jobs (plan, apply, file) and prune, on the repository each request names. */

/** A plan: reads the repository and the target, writes nothing. */
export async function restorePlanJob(params: RestorePlanParams, ctx: JobContext): Promise<RestorePlan> {
  return withRepositoryRef(params.repository, (repo) =>
    planRestore(params.request, { repo, signal: ctx.signal, log: ctx.log, onProgress: ctx.onProgress, documents: params.documents }),
  );
}

/** The context a request would write into: the one it names, else the kubeconfig's current context. */
export function resolvedContext(request: Pick<RestoreRequest, 'kubeconfig' | 'context'>): string {
  return loadKubeConfig(request.kubeconfig, request.context).getCurrentContext();
}

/**
 * An apply. The user confirmed one context by name; a request that would
 * write anywhere else (another context, or a current context that changed
 * since) is refused before the repository is even opened.
 */
export async function restoreApplyJob(params: RestoreApplyParams, ctx: JobContext): Promise<RestoreResult> {
  let target: string;
  try {
    target = resolvedContext(params.request);
  } catch (err) {
    throw new ResponseError(ErrorCodes.usage, (err as Error).message);
  }
  if (target !== params.confirmContext) {
    throw new ResponseError(
      ErrorCodes.usage,
      `the restore would write into context ${target}, but context ${params.confirmContext} was confirmed: nothing was written; confirm the target again`,
    );
  }
  return withRepositoryRef(params.repository, (repo) =>
    runRestore(params.request, { repo, signal: ctx.signal, log: ctx.log, onProgress: ctx.onProgress, confirmContext: params.confirmContext }),
  );
}

/** A file or directory of a volume, into a PVC or a local directory. */
export async function restoreFileJob(params: RestoreFileParams, ctx: JobContext): Promise<RestoreFileResult> {
  return withRepositoryRef(params.repository, (repo) => restoreFile(repo, params.request, { signal: ctx.signal, log: ctx.log, onProgress: ctx.onProgress }));
}

/** The profiles the plan panel offers: built-in, then the folder's (with the error of any that does not validate). */
export async function restoreProfiles(params: RestoreProfilesParams, _ctx: ClusterRequestContext): Promise<RestoreProfilesResult> {
  return { profiles: await listProfiles(params.profilesDir) };
}

/** Retention, then removal of unreferenced data, under the repository's exclusive lock (taken by prune itself). */
export async function repositoryPruneJob(params: RepositoryPruneParams, ctx: JobContext): Promise<PruneReport> {
  return withRepositoryRef(params.repository, async (repo) => {
    ctx.onProgress({ phase: params.dryRun ? 'prune (dry run)' : 'prune' });
    const report = await prune(repo, { policy: params.policy, dryRun: params.dryRun, onNotice: (m) => ctx.warn(m) });
    ctx.log.log('info', `${report.dryRun ? 'would forget' : 'forgot'} ${report.forgotten.length} of ${report.snapshotsBefore} snapshot(s)`, {
      blobsRemoved: report.blobsRemoved,
      packsDeleted: report.packsDeleted,
      packsRepacked: report.packsRepacked,
      bytesFreed: report.bytesFreed,
    });
    return report;
  });
}
