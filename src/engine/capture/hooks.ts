import { Writable } from 'node:stream';
import type { KObject, KubeClient } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError } from '../progress';
import { POST_HOOK_PREFIXES, PRE_HOOK_PREFIXES, RESTORE_HOOK_PREFIXES, type HookField } from './hookAnnotations';

/** Before or after a pod's volumes are read ('pre', 'post'), or after the pod was restored ('restore'). */
export type HookPhase = 'pre' | 'post' | 'restore';

/** Where each phase's hook is described: its annotation prefixes (the first one present wins) and the name of its exec timeout field. */
const PHASES: Record<HookPhase, { prefixes: readonly string[]; timeout: HookField }> = {
  pre: { prefixes: PRE_HOOK_PREFIXES, timeout: 'timeout' },
  post: { prefixes: POST_HOOK_PREFIXES, timeout: 'timeout' },
  restore: { prefixes: RESTORE_HOOK_PREFIXES, timeout: 'exec-timeout' },
};
export type HookOnError = 'Fail' | 'Continue';

/** A backup (or restore) hook as a pod's annotations describe it. */
export interface BackupHook {
  phase: HookPhase;
  /** The annotation prefix it came from ("pre.hook.backup.velero.io/"), to name it in messages. */
  prefix: string;
  container: string;
  /** The argv run in the container, exactly as given: never joined into a shell line. */
  command: string[];
  onError: HookOnError;
  timeoutMs: number;
  /** Restore hooks: how long to wait for the pod to run (`wait-timeout`), when given. */
  waitTimeoutMs?: number;
}

export interface HookResult {
  hook: BackupHook;
  status: 'success' | 'failed';
  exitCode?: number;
  /** Why it failed: exit status, timeout, exec refused. */
  reason?: string;
  /** The last bytes of stdout and stderr, kept only when the hook failed (output can hold anything). */
  outputTail?: string;
  durationMs: number;
}

export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;
/** Output shown for a failed hook, from its end; enough to see an error line, little enough to leak nothing much. */
const OUTPUT_TAIL_CHARS = 512;

/** An annotation that cannot be understood: which pod, which annotation, what is wrong with it. */
export class HookAnnotationError extends Error {
  constructor(
    readonly pod: string,
    readonly annotation: string,
    problem: string,
  ) {
    super(`pod ${pod}: annotation ${annotation} ${problem}`);
    this.name = 'HookAnnotationError';
  }
}

/** A hook with on-error Fail that failed: the capture of the pod's volumes fails with it. */
export class HookFailedError extends Error {
  constructor(
    readonly pod: string,
    readonly result: HookResult,
  ) {
    super(describeFailure(pod, result));
    this.name = 'HookFailedError';
  }
}

function podName(pod: KObject): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name}`;
}

/** "1h2m3.5s", "500ms", "30s" (Go's time.ParseDuration units); a bare number is taken as seconds, as Velero's docs write it. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  if (s === '') return undefined;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  return at === s.length ? total : undefined;
}

/**
 * The command annotation: a JSON array of strings is the argv; anything
 * else is one argv element, as Velero reads it (so "/backup.sh" runs that
 * program, and "echo hi" looks for a program named "echo hi").
 */
function parseCommand(value: string, pod: string, annotation: string): string[] {
  const trimmed = value.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new HookAnnotationError(pod, annotation, `looks like a JSON array but does not parse (${(err as Error).message}); write it as ["/bin/sh","-c","..."]`);
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string')) {
      throw new HookAnnotationError(pod, annotation, 'must be a non-empty JSON array of strings, such as ["/bin/sh","-c","..."]');
    }
    return parsed as string[];
  }
  if (trimmed === '') throw new HookAnnotationError(pod, annotation, 'is empty: name the command to run');
  return [trimmed];
}

/**
 * The pod's hook for a phase, or undefined when it has none. Lifeboat's
 * own annotations win over Velero's; the fields of one hook all come from
 * the same prefix.
 */
export function parseHook(pod: KObject, phase: HookPhase): BackupHook | undefined {
  const annotations = pod.metadata.annotations ?? {};
  const name = podName(pod);
  const prefix = PHASES[phase].prefixes.find((p) => annotations[`${p}command`] !== undefined);
  if (!prefix) return undefined;
  const field = (f: HookField): string | undefined => annotations[`${prefix}${f}`];
  const command = parseCommand(field('command')!, name, `${prefix}command`);
  const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  const container = field('container')?.trim() || containers[0];
  if (!container) throw new HookAnnotationError(name, `${prefix}container`, 'is unset and the pod has no containers');
  if (containers.length > 0 && !containers.includes(container)) {
    throw new HookAnnotationError(name, `${prefix}container`, `names container "${container}", which the pod does not have (it has ${containers.join(', ')})`);
  }
  const onErrorText = field('on-error')?.trim();
  let onError: HookOnError = 'Fail';
  if (onErrorText !== undefined && onErrorText !== '') {
    const match = (['Fail', 'Continue'] as const).find((v) => v.toLowerCase() === onErrorText.toLowerCase());
    if (!match) throw new HookAnnotationError(name, `${prefix}on-error`, `is "${onErrorText}": use Fail or Continue`);
    onError = match;
  }
  const duration = (f: HookField): number | undefined => {
    const text = field(f)?.trim();
    if (text === undefined || text === '') return undefined;
    const parsed = parseDuration(text);
    if (parsed === undefined || parsed <= 0) throw new HookAnnotationError(name, `${prefix}${f}`, `is "${text}": use a duration such as 30s, 2m or 1m30s`);
    return parsed;
  };
  const hook: BackupHook = { phase, prefix, container, command, onError, timeoutMs: duration(PHASES[phase].timeout) ?? DEFAULT_HOOK_TIMEOUT_MS };
  if (phase === 'restore') {
    const wait = duration('wait-timeout');
    if (wait !== undefined) hook.waitTimeoutMs = wait;
  }
  return hook;
}

/** A Writable that remembers only the last `limit` characters written to it. */
class TailBuffer extends Writable {
  private text = '';

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-this.limit * 2);
    done();
  }

  tail(): string {
    return this.text.length > this.limit ? `…${this.text.slice(-this.limit)}` : this.text;
  }
}

function hookLabel(hook: BackupHook): string {
  return `${hook.phase}-hook ${hook.prefix}command (container ${hook.container})`;
}

/** "pod NS/NAME: HOOK failed: WHY; output ends with: …", the text of a failed hook in errors and warnings. */
export function describeFailure(pod: string, r: HookResult): string {
  const output = r.outputTail?.trim() ? `; output ends with: ${r.outputTail.trim()}` : '';
  return `pod ${pod}: ${hookLabel(r.hook)} failed: ${r.reason ?? 'unknown error'}${output}`;
}

/**
 * Runs the pod's hook for a phase through the exec API. Undefined when the
 * pod has no hook for it. A failure is returned, not thrown: the caller
 * decides by `hook.onError` (see `checkHook`). Cancellation is thrown.
 */
export async function runHook(
  kube: KubeClient,
  pod: KObject,
  phase: HookPhase,
  options: { signal?: AbortSignal; log?: Logger; timeoutMs?: number } = {},
): Promise<HookResult | undefined> {
  const hook = parseHook(pod, phase);
  if (!hook) return undefined;
  const log = options.log ?? silentLogger;
  const name = podName(pod);
  const timeoutMs = Math.min(hook.timeoutMs, options.timeoutMs ?? Infinity);
  const started = Date.now();
  const output = new TailBuffer(OUTPUT_TAIL_CHARS);
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timer.signal]) : timer.signal;
  log.log('info', `running ${hookLabel(hook)} in pod ${name}`, { pod: name, phase, container: hook.container });
  const result = (fields: Omit<HookResult, 'hook' | 'durationMs'>): HookResult => ({ hook, durationMs: Date.now() - started, ...fields });
  let r: HookResult;
  try {
    if (pod.status?.phase !== undefined && pod.status.phase !== 'Running') {
      r = result({ status: 'failed', reason: `the pod is ${pod.status.phase}, not Running` });
    } else {
      const exec = await kube.exec(pod.metadata.namespace ?? '', pod.metadata.name, hook.command, {
        container: hook.container,
        stdout: output,
        stderr: output,
        signal,
      });
      r =
        exec.exitCode === 0
          ? result({ status: 'success', exitCode: 0 })
          : result({ status: 'failed', exitCode: exec.exitCode, reason: exec.exitCode > 0 ? `exit status ${exec.exitCode}` : exec.message ?? 'the exec failed', outputTail: output.tail() });
    }
  } catch (err) {
    if (options.signal?.aborted) throw new CancelledError();
    const reason = timer.signal.aborted ? `timed out after ${formatMs(timeoutMs)}` : (err as Error).message;
    r = result({ status: 'failed', reason, outputTail: output.tail() });
  } finally {
    clearTimeout(timeout);
  }
  if (r.status === 'success') log.log('info', `${hookLabel(hook)} in pod ${name} succeeded`, { pod: name, phase, durationMs: r.durationMs });
  else log.log('warn', `${hookLabel(hook)} in pod ${name} failed: ${r.reason}`, { pod: name, phase, onError: hook.onError });
  return r;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * Applies on-error: a failed Fail hook throws HookFailedError (naming pod
 * and hook); a failed Continue hook gives the warning to record.
 */
export function checkHook(pod: KObject, result: HookResult | undefined): string | undefined {
  if (!result || result.status === 'success') return undefined;
  if (result.hook.onError === 'Fail') throw new HookFailedError(podName(pod), result);
  return `${describeFailure(podName(pod), result)} (on-error Continue: the capture went on)`;
}
