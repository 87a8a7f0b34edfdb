import { Transform, Writable } from 'node:stream';
import type { ApiResource, ExecResult, KObject, KubeClient } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError, type JobProgress, type ProgressListener } from '../progress';
import { latestSnapshotWithVolume, readManifest, type Repository, type SnapshotWriter } from '../repo/api';
import { ParentTree } from '../repo/parentTree';
import { hasBackupHook } from './hookAnnotations';
import { checkHook, runHook } from './hooks';
import { excludeList, parseListing, unchangedFiles } from './incremental';
import { Heartbeat, MoverForbiddenError, resourceOf, startMover, type Mover } from './mover';
import type { Selection, VolumeTarget } from './types';
import { cloneFromSnapshot, snapshotClassFor, type VolumeClone } from './volumeSnapshot';

export { DEFAULT_MOVER_IMAGE } from './mover';

export interface CaptureVolumesOptions {
  repo: Repository;
  /** The cluster's name as the snapshot records it: parents are looked for among its snapshots. */
  cluster: string;
  moverImage?: string;
  /** Volumes (more exactly: groups of volumes sharing hook pods) read at once; default 2. */
  parallelism?: number;
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: ProgressListener;
  /** Read through a VolumeSnapshot clone where the cluster can make one (default true). */
  useSnapshots?: boolean;
  /** How long a mover may take to run; default 3 minutes. */
  moverStartTimeoutMs?: number;
}

/** How one volume was read. */
export interface VolumeRead {
  namespace: string;
  pvc: string;
  /** Bytes of the tar stream that came from the mover. */
  archiveBytes: number;
  /** Files left out of the archive because the parent snapshot holds them unchanged (0 on a full read). */
  leftOut: number;
}

/** How long cleanup may take once the job is cancelled: the mover has to be gone within the cancel budget. */
const CANCEL_CLEANUP_MS = 1500;
const CLEANUP_MS = 10_000;
const PROGRESS_INTERVAL_MS = 250;
const STDERR_TAIL_CHARS = 600;

/**
 * Volumes read together between the same hooks: the pods with backup
 * hooks that mount any of them, and every volume those pods mount. A pod's
 * pre-hooks run once before all of its volumes, its post-hooks once after.
 */
interface HookGroup {
  pods: KObject[];
  volumes: VolumeTarget[];
}

const podKey = (p: KObject): string => `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
const volumeLabel = (v: { namespace: string; pvc: string }): string => `${v.namespace}/${v.pvc}`;

/**
 * Groups volumes by the hook pods mounting them. A pod mounting a volume
 * that is read has its hooks run even when the selection left the pod
 * out: its hooks exist to make that volume consistent.
 */
export function groupByHookPods(selection: Pick<Selection, 'volumes' | 'hookPods'>): HookGroup[] {
  const hookPods = new Map<string, KObject>();
  for (const p of selection.hookPods) hookPods.set(podKey(p), p);
  for (const v of selection.volumes) for (const p of v.pods) if (!hookPods.has(podKey(p)) && hasBackupHook(p)) hookPods.set(podKey(p), p);
  const groups: HookGroup[] = [];
  const groupOf = new Map<string, HookGroup>();
  const seen = new Set<string>();
  for (const v of selection.volumes) {
    if (seen.has(volumeLabel(v))) continue;
    seen.add(volumeLabel(v));
    const keys = [...new Set(v.pods.map(podKey).filter((k) => hookPods.has(k)))];
    const found = [...new Set(keys.map((k) => groupOf.get(k)).filter((g): g is HookGroup => g !== undefined))];
    let group = found[0];
    if (!group) {
      group = { pods: [], volumes: [] };
      groups.push(group);
    }
    for (const other of found.slice(1)) {
      group.pods.push(...other.pods);
      group.volumes.push(...other.volumes);
      for (const p of other.pods) groupOf.set(podKey(p), group);
      groups.splice(groups.indexOf(other), 1);
    }
    group.volumes.push(v);
    for (const k of keys) {
      if (groupOf.has(k)) continue;
      group.pods.push(hookPods.get(k)!);
      groupOf.set(k, group);
    }
  }
  for (const [k, p] of hookPods) if (!groupOf.has(k)) groups.push({ pods: [p], volumes: [] });
  return groups;
}

/** Keeps the last characters of a stream (tar's complaints), to quote in a message. */
function tailSink(limit: number): Writable & { text(): string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text = (text + chunk.toString('utf8')).slice(-limit);
      done();
    },
  });
  return Object.assign(sink, { text: () => text.trim() });
}

/** A pass-through that counts the bytes crossing it. */
function byteCounter(): Transform & { count(): number } {
  let n = 0;
  const t = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      n += chunk.length;
      done(null, chunk);
    },
  });
  return Object.assign(t, { count: () => n });
}

class VolumeCapture {
  readonly warnings: string[] = [];
  readonly reads: VolumeRead[] = [];
  readonly log: Logger;
  readonly heartbeat: Heartbeat;
  /** Aborted on the user's cancel or on the first failure, which stops the other groups. */
  private readonly stop = new AbortController();
  readonly signal: AbortSignal;
  private readonly mayCreatePods = new Map<string, Promise<boolean>>();
  private pods: ApiResource | undefined;
  private itemsDone = 0;
  private lastProgress = 0;

  constructor(
    readonly kube: KubeClient,
    readonly writer: SnapshotWriter,
    readonly options: CaptureVolumesOptions,
    readonly itemsTotal: number,
  ) {
    this.log = options.log ?? silentLogger;
    this.heartbeat = new Heartbeat(kube, this.log);
    this.signal = options.signal ? AbortSignal.any([options.signal, this.stop.signal]) : this.stop.signal;
  }

  get cancelled(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  abortOthers(): void {
    this.stop.abort();
  }

  warn(message: string | undefined): void {
    if (!message) return;
    this.warnings.push(message);
    this.log.log('warn', message);
  }

  progress(p: Omit<JobProgress, 'phase' | 'itemsDone' | 'itemsTotal'>, force = false): void {
    if (!this.options.onProgress) return;
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_INTERVAL_MS) return;
    this.lastProgress = now;
    this.options.onProgress({ phase: 'volumes', itemsDone: this.itemsDone, itemsTotal: this.itemsTotal, ...p });
  }

  volumeDone(v: VolumeTarget): void {
    this.itemsDone++;
    this.progress({ current: volumeLabel(v) }, true);
  }

  /** Whether the user may create pods in a namespace; asked once per namespace, and taken as yes when the question itself fails. */
  async canCreatePods(ns: string): Promise<boolean> {
    let answer = this.mayCreatePods.get(ns);
    if (!answer) {
      answer = (async () => {
        this.pods ??= await resourceOf(this.kube, 'v1', 'Pod');
        return this.kube.canI('create', this.pods, ns, { signal: this.signal }).catch(() => true);
      })();
      this.mayCreatePods.set(ns, answer);
    }
    return answer;
  }

  /** Why a volume cannot be read at all, or undefined. */
  async skipReason(v: VolumeTarget): Promise<string | undefined> {
    const phase = v.claim.status?.phase;
    if (phase !== 'Bound') return `the claim is not bound (${phase ?? 'no phase'})`;
    // A raw block device has no files for tar to read.
    if (v.claim.spec?.volumeMode === 'Block') return 'it is a raw block volume (volumeMode Block); only filesystem volumes are read';
    if (!(await this.canCreatePods(v.namespace))) return new MoverForbiddenError(v.namespace).message;
    return undefined;
  }

  /** The pod as it is now (hooks need a running pod), or the selection's copy when it cannot be read. */
  async fresh(pod: KObject): Promise<KObject> {
    this.pods ??= await resourceOf(this.kube, 'v1', 'Pod');
    try {
      return (await this.kube.get(this.pods, pod.metadata.name, pod.metadata.namespace, { signal: this.signal })) ?? { ...pod, status: { ...(pod.status ?? {}), phase: 'gone' } };
    } catch (err) {
      if (this.signal.aborted) throw new CancelledError();
      this.log.log('debug', `pod ${podKey(pod)} not read again before its hook: ${(err as Error).message}`);
      return pod;
    }
  }

  async runGroup(group: HookGroup): Promise<void> {
    const readable: VolumeTarget[] = [];
    for (const v of group.volumes) {
      const why = await this.skipReason(v);
      if (why) {
        this.warn(`volume ${volumeLabel(v)} skipped: ${why}`);
        this.volumeDone(v);
      } else readable.push(v);
    }
    if (group.volumes.length > 0 && readable.length === 0) {
      if (group.pods.length) this.log.log('info', `hooks of ${group.pods.map(podKey).join(', ')} not run: none of their volumes can be read`);
      return;
    }
    const preDone: KObject[] = [];
    let postStarted = false;
    const clones = new Map<VolumeTarget, VolumeClone>();
    const runPostHooks = async (afterFailure: boolean): Promise<void> => {
      postStarted = true;
      let failed: unknown;
      for (const pod of preDone) {
        if (!afterFailure) {
          // Every pod gets its post-hook even when an earlier one failed: each may hold its application paused.
          const result = await runHook(this.kube, await this.fresh(pod), 'post', { signal: this.signal, log: this.log });
          try {
            this.warn(checkHook(pod, result));
          } catch (err) {
            failed ??= err;
          }
          continue;
        }
        // After a failure or cancel the application is still let out of whatever its pre-hook put it in, briefly.
        try {
          const r = await runHook(this.kube, pod, 'post', { log: this.log, timeoutMs: this.cancelled ? CANCEL_CLEANUP_MS : undefined });
          if (r?.status === 'failed') this.log.log('warn', `post-hook of pod ${podKey(pod)} failed after the capture had failed: ${r.reason}`);
        } catch (err) {
          this.log.log('warn', `post-hook of pod ${podKey(pod)} not run after the capture had failed: ${(err as Error).message}`);
        }
      }
      if (failed) throw failed;
    };
    try {
      for (const pod of group.pods) {
        const current = await this.fresh(pod);
        // As Velero does, hooks are for running pods; one that is not running has nothing to quiesce.
        if (current.status?.phase !== 'Running') {
          this.log.log('info', `hooks of pod ${podKey(pod)} skipped: the pod is ${current.status?.phase ?? 'not running'}`);
          continue;
        }
        this.warn(checkHook(current, await runHook(this.kube, current, 'pre', { signal: this.signal, log: this.log })));
        preDone.push(current);
      }
      const fallbacks = new Map<VolumeTarget, string>();
      if (this.options.useSnapshots ?? true) {
        for (const v of readable) {
          try {
            const cls = await snapshotClassFor(this.kube, v);
            if (!cls) {
              this.log.log('info', `volume ${volumeLabel(v)}: no VolumeSnapshotClass for its driver; reading the live volume`);
              continue;
            }
            clones.set(v, await cloneFromSnapshot(this.kube, v, { className: cls.className, heartbeat: this.heartbeat, signal: this.signal, log: this.log }));
          } catch (err) {
            if (this.signal.aborted) throw new CancelledError();
            fallbacks.set(v, `volume ${volumeLabel(v)}: snapshot not taken (${(err as Error).message}); the live volume was read instead`);
          }
        }
      }
      for (const v of readable) {
        if (clones.has(v)) continue;
        this.warn(fallbacks.get(v));
        const node = v.pods.find((p) => p.status?.phase === 'Running' && p.spec?.nodeName)?.spec?.nodeName;
        await this.readVolume(v, v.pvc, node);
      }
      // The snapshots hold the data now: the application need not wait for the clones to be read.
      await runPostHooks(false);
      for (const [v, clone] of clones) await this.readVolume(v, clone.claim, undefined);
    } finally {
      if (!postStarted && preDone.length > 0) await runPostHooks(true);
      for (const clone of clones.values()) await clone.remove({ timeoutMs: this.cancelled ? CANCEL_CLEANUP_MS : CLEANUP_MS });
    }
  }

  /**
   * Which files the archive can leave out: those the listing shows with the
   * attributes the parent recorded. Undefined (a full read, with a debug
   * line saying why) when the listing fails or nothing can be left out.
   * On a clone nothing changes between listing and archive; on a live
   * volume a file rewritten in between within the same second, keeping its
   * size, is missed, as any mtime-based skip would miss it.
   */
  async planIncremental(mover: Mover, v: VolumeTarget, parent: string, signal: AbortSignal): Promise<{ reuse: Set<string>; exclude: Buffer } | undefined> {
    const label = volumeLabel(v);
    const fullRead = (why: string): undefined => {
      this.log.log('debug', `volume ${label}: full read: ${why}`);
      return undefined;
    };
    try {
      const raw = await mover.list(signal);
      if ('error' in raw) return fullRead(`the file listing in mover pod ${mover.namespace}/${mover.name} failed (${raw.error})`);
      const parsed = parseListing(raw.names, raw.stats);
      if ('error' in parsed) return fullRead(`the file listing could not be read (${parsed.error})`);
      const manifest = await readManifest(this.options.repo, parent);
      const root = manifest.volumes.find((r) => r.namespace === v.namespace && r.pvc === v.pvc);
      if (!root) return fullRead(`parent snapshot ${parent.slice(0, 12)} does not hold the volume`);
      const tree = new ParentTree(this.options.repo, manifest.id, root.tree);
      const { paths, bytes } = await unchangedFiles(parsed.listing, (p) => tree.lookup(p), (id) => this.options.repo.hasBlob(id));
      if (paths.size === 0) return fullRead(`no file is unchanged since parent snapshot ${parent.slice(0, 12)}`);
      this.log.log(
        'debug',
        `volume ${label}: ${paths.size} of ${parsed.listing.files.length + parsed.listing.skipped} files (${bytes} bytes) unchanged since parent snapshot ${parent.slice(0, 12)} are left out of the archive`,
      );
      return { reuse: paths, exclude: excludeList(paths) };
    } catch (err) {
      if (signal.aborted) throw new CancelledError();
      return fullRead(`the incremental plan failed (${(err as Error).message})`);
    }
  }

  /** Reads one volume through a mover mounting `claim` (the volume's own, or a clone of it) into the snapshot. */
  async readVolume(v: VolumeTarget, claim: string, node: string | undefined): Promise<void> {
    const label = volumeLabel(v);
    this.progress({ current: label, bytesDone: 0 }, true);
    let mover;
    try {
      mover = await startMover(this.kube, {
        namespace: v.namespace,
        claim,
        volume: v,
        node,
        image: this.options.moverImage,
        heartbeat: this.heartbeat,
        signal: this.signal,
        log: this.log,
        startTimeoutMs: this.options.moverStartTimeoutMs,
      });
    } catch (err) {
      if (err instanceof MoverForbiddenError) {
        this.warn(`volume ${label} skipped: ${err.message}`);
        this.volumeDone(v);
        return;
      }
      throw err;
    }
    const inner = new AbortController();
    const signal = AbortSignal.any([this.signal, inner.signal]);
    try {
      const parent = await latestSnapshotWithVolume(this.options.repo, this.options.cluster, v);
      const plan = parent ? await this.planIncremental(mover, v, parent, signal) : undefined;
      if (!parent) this.log.log('debug', `volume ${label}: full read: no earlier snapshot of cluster ${this.options.cluster} holds it`);
      let bytesDone = 0;
      let bytesTotal: number | undefined;
      void mover.size(signal).then((n) => (bytesTotal = n));
      const stream = byteCounter();
      const stderr = tailSink(STDERR_TAIL_CHARS);
      let addError: unknown;
      const adding = this.writer.addVolume({ namespace: v.namespace, pvc: v.pvc }, stream, {
        storageClass: v.claim.spec?.storageClassName,
        capacity: v.claim.status?.capacity?.storage ?? v.claim.spec?.resources?.requests?.storage,
        parent,
        reuse: plan?.reuse,
        onFile: (_path, bytes) => {
          bytesDone += bytes;
          this.progress({ current: label, bytesDone, bytesTotal });
        },
      });
      // A repository failure stops the read, which would otherwise wait on a consumer that is gone.
      adding.catch((err: unknown) => {
        addError = err;
        inner.abort();
      });
      let result: ExecResult;
      try {
        result = await mover.tar(stream, stderr, signal, plan?.exclude);
      } catch (err) {
        stream.destroy(new Error(`the read from mover ${mover.namespace}/${mover.name} broke off`));
        await adding.catch(() => undefined);
        if (this.signal.aborted) throw new CancelledError();
        if (addError) throw addError;
        throw new Error(`reading volume ${label} through mover pod ${mover.namespace}/${mover.name} failed: ${(err as Error).message}`);
      }
      // GNU tar exits 1 when a file changed while it was read: the archive is whole, that file may be torn.
      if (result.exitCode !== 0 && result.exitCode !== 1) {
        const why = `tar in mover pod ${mover.namespace}/${mover.name} exited with ${result.exitCode}${result.message ? ` (${result.message})` : ''}${stderr.text() ? `: ${stderr.text()}` : ''}`;
        stream.destroy(new Error(why));
        await adding.catch(() => undefined);
        throw new Error(`reading volume ${label} failed: ${why}`);
      }
      if (!stream.writableEnded) stream.end();
      const stored = await adding;
      if (result.exitCode === 1) this.warn(`volume ${label}: tar reported files changing or unreadable while read, which may be inconsistent in the snapshot: ${stderr.text() || 'no detail'}`);
      this.reads.push({ namespace: v.namespace, pvc: v.pvc, archiveBytes: stream.count(), leftOut: plan?.reuse.size ?? 0 });
      this.log.log('info', `volume ${label} read: ${stored.files} files, ${stored.bytes} bytes (${stored.reused.files} files unchanged since the parent snapshot, ${plan?.reuse.size ?? 0} of them not transferred)`, {
        volume: label,
        source: claim === v.pvc ? 'live' : 'snapshot',
        archiveBytes: stream.count(),
      });
      this.volumeDone(v);
    } catch (err) {
      if (this.signal.aborted && !(err instanceof CancelledError) && this.cancelled) throw new CancelledError();
      throw err;
    } finally {
      inner.abort();
      await mover.remove({ timeoutMs: this.cancelled ? CANCEL_CLEANUP_MS : CLEANUP_MS });
    }
  }
}

/**
 * Reads the selection's volumes into the snapshot. For each group of
 * volumes sharing hook pods: the pods' pre-hooks, a VolumeSnapshot clone
 * of each volume where a VolumeSnapshotClass serves its driver, a read of
 * the volumes without one, the post-hooks, then the clones' read. Hook
 * pods without volumes get their pre- and post-hooks. Volumes that are not
 * bound, or that the user may not start a mover for, are skipped with a
 * warning. Every pod, clone and VolumeSnapshot made is removed, whatever
 * happens; cancelling throws CancelledError.
 */
export async function captureVolumes(
  kube: KubeClient,
  selection: Pick<Selection, 'volumes' | 'hookPods'>,
  writer: SnapshotWriter,
  options: CaptureVolumesOptions,
): Promise<{ warnings: string[]; volumes: VolumeRead[] }> {
  const groups = groupByHookPods(selection);
  const total = groups.reduce((n, g) => n + g.volumes.length, 0);
  const capture = new VolumeCapture(kube, writer, options, total);
  const failures: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < groups.length && !capture.signal.aborted) {
      const group = groups[next++];
      try {
        await capture.runGroup(group);
      } catch (err) {
        failures.push(err);
        capture.abortOthers();
      }
    }
  };
  try {
    capture.progress({}, true);
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallelism ?? 2, groups.length)) }, worker));
  } finally {
    capture.heartbeat.stop();
  }
  if (options.signal?.aborted) throw new CancelledError();
  const failure = failures.find((e) => !(e instanceof CancelledError)) ?? failures[0];
  if (failure) throw failure;
  return { warnings: capture.warnings, volumes: capture.reads };
}
