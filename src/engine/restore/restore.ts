/**
 * A whole restore: plan, apply, run the post-restore hooks, and plan again
 * to verify. Running it again after an interruption completes it: what
 * exists and matches is left alone, what is missing is created, volumes
 * whose PVC carries this snapshot's data marker are not written again.
 */
import { sweepMovers } from '../capture/mover';
import { RESTORE_HOOK_PREFIXES } from '../capture/hookAnnotations';
import { openKubeClient } from '../kube/client';
import { sleep } from '../kube/retry';
import type { KubeClient } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError, throwIfCancelled } from '../progress';
import { applyPlan } from './apply';
import { runRestoreHooks } from './hooks';
import { buildPlan, describeObject, type PlanState, type RestoreOptions } from './plan';
import type { RestoreRecordEntry, RestoreRequest, RestoreResult } from './types';

/** Workloads whose pod template is copied into the pods their controllers make. */
const WORKLOAD_KINDS = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/DaemonSet', 'apps/ReplicaSet', 'batch/Job']);
const HOOKED_PODS_WAIT_MS = 60_000;

/**
 * Waits until every workload the restore wrote whose pod template carries a
 * post-restore hook has a pod made since the restore started: the
 * controllers make pods a moment after their workload, and the hooks run
 * in the pods that exist when they are looked for.
 */
async function waitForHookedPods(kube: KubeClient, state: PlanState, record: RestoreRecordEntry[], since: Date, signal: AbortSignal | undefined, log: Logger): Promise<void> {
  const written = new Set(record.filter((r) => r.outcome === 'created' || r.outcome === 'updated' || r.outcome === 'recreated').map((r) => `${r.group}/${r.kind}/${r.namespace ?? ''}/${r.name}`));
  const hooked = state.objects
    .map((o) => o.prepared.object)
    .filter((o) => {
      const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
      if (!WORKLOAD_KINDS.has(`${group}/${o.kind}`) || !written.has(`${group}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)) return false;
      if (o.spec?.replicas === 0 || !o.spec?.selector?.matchLabels) return false;
      const annotations: Record<string, string> = o.spec?.template?.metadata?.annotations ?? {};
      return RESTORE_HOOK_PREFIXES.some((p) => annotations[`${p}command`] !== undefined);
    });
  if (hooked.length === 0) return;
  const pods = await kube.resourceFor('v1', 'Pod', { signal });
  if (!pods) return;
  const from = Math.floor(since.getTime() / 1000) * 1000;
  const deadline = Date.now() + HOOKED_PODS_WAIT_MS;
  for (const w of hooked) {
    const labelSelector = Object.entries<string>(w.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
    for (;;) {
      const list = await kube.listAll(pods, { namespace: w.metadata.namespace, labelSelector, signal });
      if (list.some((p) => Date.parse(p.metadata.creationTimestamp ?? '') >= from)) break;
      if (Date.now() > deadline) {
        log.log('warn', `${describeObject(w)} has no new pod after ${HOOKED_PODS_WAIT_MS / 1000}s: its post-restore hook may not run`);
        break;
      }
      await sleep(500, signal);
    }
  }
}

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
    const applyStarted = Date.now();
    const applied = await applyPlan(kube, state, request, options);
    const record = applied.record;
    log.log('info', `apply done in ${((Date.now() - applyStarted) / 1000).toFixed(1)} s: ${record.filter((r) => r.outcome !== 'unchanged').length} writes`, {
      context: kube.context,
      durationMs: Date.now() - applyStarted,
    });
    if (applied.wrote && state.namespaces.length > 0) {
      throwIfCancelled(signal);
      options.onProgress?.({ phase: 'hooks' });
      await waitForHookedPods(kube, state, record, since, signal, log);
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
