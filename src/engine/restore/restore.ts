/**
 * A whole restore: plan, apply, run the post-restore hooks, and plan again
 * to verify. Running it again after an interruption completes it: what
 * exists and matches is left alone, what is missing is created, volumes
 * whose PVC carries this snapshot's data marker are not written again.
 */
import { sweepMovers } from '../capture/mover';
import { openKubeClient } from '../kube/client';
import { silentLogger } from '../log';
import { CancelledError, throwIfCancelled } from '../progress';
import { applyPlan } from './apply';
import { runRestoreHooks } from './hooks';
import { buildPlan, type RestoreOptions } from './plan';
import type { RestoreRequest, RestoreResult } from './types';

/** Plan items a complete restore leaves nothing of. */
const UNFINISHED = new Set(['create', 'update', 'conflict']);

/**
 * plan → apply (objects by stage, PVC data right after PVCs and before
 * workloads, hooks last) → verify (plan again). `confirmContext`, when
 * given, must name the target context (what the user confirmed), else
 * nothing is done.
 */
export async function runRestore(request: RestoreRequest, options: RestoreOptions & { confirmContext?: string }): Promise<RestoreResult> {
  const log = options.log ?? silentLogger;
  const { signal } = options;
  const kube = options.kube ?? (await openKubeClient({ kubeconfig: request.kubeconfig, context: request.context, parallelism: request.parallelism }));
  try {
    if (options.confirmContext !== undefined && options.confirmContext !== kube.context) {
      throw new Error(`the restore was confirmed for context "${options.confirmContext}" but its target is "${kube.context}": nothing was restored; confirm the target context`);
    }
    throwIfCancelled(signal);
    const state = await buildPlan(kube, request, { ...options, documents: false });
    log.log('info', `restore to ${kube.context} (${kube.server}) from snapshot ${state.plan.snapshot.id.slice(0, 12)}, profile ${state.plan.profile}, policy ${state.policy}`);
    // A mover a killed restore left behind may still hold a claim this one writes.
    if (state.plan.volumes.some((v) => v.action === 'write')) await sweepMovers(kube, { log, signal });
    const since = new Date();
    const applied = await applyPlan(kube, state, request, options);
    const record = applied.record;
    if (applied.wrote && state.namespaces.length > 0) {
      throwIfCancelled(signal);
      options.onProgress?.({ phase: 'hooks' });
      record.push(...(await runRestoreHooks(kube, { namespaces: state.namespaces, since }, { signal, log })));
    }
    throwIfCancelled(signal);
    options.onProgress?.({ phase: 'verify' });
    const verify = (await buildPlan(kube, request, { ...options, documents: false, onProgress: undefined })).plan;
    const leftOver = verify.items.filter((i) => UNFINISHED.has(i.action) && !(state.policy === 'skip' && i.action !== 'create'));
    const complete = !record.some((r) => r.outcome === 'failed') && leftOver.length === 0 && !verify.volumes.some((v) => v.action === 'write');
    const warnings = [...state.plan.warnings, ...applied.warnings];
    if (leftOver.length) {
      const shown = leftOver.slice(0, 5).map((i) => `${i.kind} ${i.namespace ? `${i.namespace}/` : ''}${i.name} (${i.action})`);
      warnings.push(`verify: ${leftOver.length} object${leftOver.length === 1 ? '' : 's'} still differ from the snapshot: ${shown.join(', ')}${leftOver.length > 5 ? ', …' : ''}`);
    }
    log.log(complete ? 'info' : 'warn', `restore ${complete ? 'complete' : 'incomplete'}: ${record.filter((r) => r.outcome !== 'unchanged').length} writes, ${record.filter((r) => r.outcome === 'failed').length} failed`);
    return { plan: state.plan, record, verify, warnings, complete };
  } catch (err) {
    if (signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError();
    throw err;
  } finally {
    if (!options.kube) kube.close();
  }
}
