import type { KObject } from '../kube/types';

/**
 * Pod annotations that ask for a command to run before or after a pod's
 * volumes are read. Velero's names are honoured as they are, and Lifeboat's
 * own mirror them with the domain swapped, so a pod annotated for Velero
 * needs no change:
 *
 *   pre.hook.backup.velero.io/container   pre.hook.backup.lifeboat.dev/container
 *   pre.hook.backup.velero.io/command     pre.hook.backup.lifeboat.dev/command
 *   pre.hook.backup.velero.io/on-error    pre.hook.backup.lifeboat.dev/on-error
 *   pre.hook.backup.velero.io/timeout     pre.hook.backup.lifeboat.dev/timeout
 *   (and the same with post.)
 *
 * A prefix ends with "/": the field name follows it.
 */
export const VELERO_PRE_HOOK_PREFIX = 'pre.hook.backup.velero.io/';
export const VELERO_POST_HOOK_PREFIX = 'post.hook.backup.velero.io/';
export const LIFEBOAT_PRE_HOOK_PREFIX = 'pre.hook.backup.lifeboat.dev/';
export const LIFEBOAT_POST_HOOK_PREFIX = 'post.hook.backup.lifeboat.dev/';

/** Lifeboat's first: when a pod carries both, Lifeboat's own annotation is the one meant for it. */
export const PRE_HOOK_PREFIXES = [LIFEBOAT_PRE_HOOK_PREFIX, VELERO_PRE_HOOK_PREFIX] as const;
export const POST_HOOK_PREFIXES = [LIFEBOAT_POST_HOOK_PREFIX, VELERO_POST_HOOK_PREFIX] as const;

/** The fields after a prefix: which container, the command (a JSON array or a plain string), "Continue"/"Fail", a duration ("30s"). */
export const HOOK_FIELDS = ['container', 'command', 'on-error', 'timeout'] as const;

/**
 * Commands run in a pod after a restore, once it runs: Velero's
 * post.hook.restore.velero.io/ annotations and Lifeboat's own, with the
 * backup hooks' fields except that the timeout is `exec-timeout` and
 * `wait-timeout` bounds the wait for the pod to run.
 */
export const VELERO_RESTORE_HOOK_PREFIX = 'post.hook.restore.velero.io/';
export const LIFEBOAT_RESTORE_HOOK_PREFIX = 'post.hook.restore.lifeboat.dev/';
export const RESTORE_HOOK_PREFIXES = [LIFEBOAT_RESTORE_HOOK_PREFIX, VELERO_RESTORE_HOOK_PREFIX] as const;
export const RESTORE_HOOK_FIELDS = ['container', 'command', 'on-error', 'exec-timeout', 'wait-timeout'] as const;

export type HookField = (typeof HOOK_FIELDS)[number] | (typeof RESTORE_HOOK_FIELDS)[number];

/** Whether a pod asks for a pre- or post-backup command: it has a `command` under one of the prefixes. */
export function hasBackupHook(pod: KObject): boolean {
  const annotations = pod.metadata.annotations ?? {};
  return [...PRE_HOOK_PREFIXES, ...POST_HOOK_PREFIXES].some((prefix) => annotations[`${prefix}command`] !== undefined);
}
