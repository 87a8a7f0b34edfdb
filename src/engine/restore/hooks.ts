import { RESTORE_HOOK_PREFIXES } from '../capture/hookAnnotations';
import { describeFailure, HookAnnotationError, parseHook, runHook, type BackupHook, type HookResult } from '../capture/hooks';
import { resourceOf, sleep } from '../capture/mover';
import type { ApiResource, KObject, KubeClient } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError } from '../progress';
import type { RestoreRecordEntry } from './types';

/**
 * Post-restore hooks: a command run in a restored pod once it runs, as the
 * pod's annotations ask (Velero's post.hook.restore.velero.io/ names, or
 * Lifeboat's post.hook.restore.lifeboat.dev/, which win). Parsing and
 * running are the backup hooks' own (../capture/hooks), with `exec-timeout`
 * (default 30s) for the command and `wait-timeout` (default 2m) for the pod
 * to reach Running.
 */

export const DEFAULT_RESTORE_WAIT_MS = 120_000;
const POLL_MS = 500;

function hasRestoreHook(pod: KObject): boolean {
  const annotations = pod.metadata.annotations ?? {};
  return RESTORE_HOOK_PREFIXES.some((p) => annotations[`${p}command`] !== undefined);
}

/** The pod once Running, or why it is not: ended, gone, or still not running after the wait. */
async function waitRunning(kube: KubeClient, pods: ApiResource, pod: KObject, waitMs: number, signal?: AbortSignal): Promise<KObject | string> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const now = await kube.get(pods, pod.metadata.name, pod.metadata.namespace, { signal });
    if (!now) return 'the pod was deleted before it ran';
    const phase = now.status?.phase;
    if (phase === 'Running') return now;
    if (phase === 'Succeeded' || phase === 'Failed') return `the pod ended (${phase}) before the hook could run`;
    if (Date.now() >= deadline) return `the pod was not Running within the wait-timeout of ${Math.round(waitMs / 1000)}s (phase ${phase ?? 'unknown'})`;
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())), signal);
  }
}

function entryOf(pod: KObject, outcome: RestoreRecordEntry['outcome'], message: string): RestoreRecordEntry {
  return { group: '', kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, outcome, message };
}

/**
 * Runs the post-restore hook of every pod in the namespaces created at or
 * after `since` (the restore's start; the pods a restore made, directly or
 * through its workloads) that has one, all pods at once, and returns one
 * record entry per hook: 'hook-ran' when it succeeded, or failed with
 * on-error Continue (the message says so, and a warning is logged);
 * 'failed' when it failed with on-error Fail (the default) or its
 * annotations cannot be understood. Cancellation is thrown.
 */
export async function runRestoreHooks(
  kube: KubeClient,
  pods: { namespaces: string[]; since: Date },
  options: { signal?: AbortSignal; log?: Logger } = {},
): Promise<RestoreRecordEntry[]> {
  const log = options.log ?? silentLogger;
  const signal = options.signal;
  const podResource = await resourceOf(kube, 'v1', 'Pod');
  // Creation times have whole seconds: a pod made in the restore's first second counts.
  const since = Math.floor(pods.since.getTime() / 1000) * 1000;
  const found: KObject[] = [];
  for (const namespace of [...new Set(pods.namespaces)]) {
    const list = await kube.listAll(podResource, { namespace, signal });
    found.push(...list.filter((p) => hasRestoreHook(p) && Date.parse(p.metadata.creationTimestamp ?? '') >= since && !p.metadata.deletionTimestamp));
  }
  found.sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));

  const one = async (pod: KObject): Promise<RestoreRecordEntry> => {
    const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
    let hook: BackupHook | undefined;
    try {
      hook = parseHook(pod, 'restore');
    } catch (err) {
      if (!(err instanceof HookAnnotationError)) throw err;
      log.log('error', `post-restore hook not run: ${err.message}`, { pod: name });
      return entryOf(pod, 'failed', `post-restore hook not run: ${err.message}`);
    }
    if (!hook) return entryOf(pod, 'skipped', 'no post-restore hook');
    const ready = await waitRunning(kube, podResource, pod, hook.waitTimeoutMs ?? DEFAULT_RESTORE_WAIT_MS, signal);
    const result: HookResult | undefined =
      typeof ready === 'string' ? { hook, status: 'failed', reason: ready, durationMs: 0 } : await runHook(kube, ready, 'restore', { signal, log });
    if (!result) return entryOf(pod, 'skipped', 'no post-restore hook');
    if (result.status === 'success') {
      return entryOf(pod, 'hook-ran', `${hook.prefix}command ran in container ${hook.container} (${result.durationMs} ms)`);
    }
    const message = describeFailure(name, result);
    if (hook.onError === 'Continue') {
      log.log('warn', `${message} (on-error Continue: the restore went on)`, { pod: name });
      return entryOf(pod, 'hook-ran', `${message} (on-error Continue: the restore went on)`);
    }
    log.log('error', message, { pod: name });
    return entryOf(pod, 'failed', message);
  };
  try {
    return await Promise.all(found.map(one));
  } catch (err) {
    if (signal?.aborted) throw new CancelledError();
    throw err;
  }
}
