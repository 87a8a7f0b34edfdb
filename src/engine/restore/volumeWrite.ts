import { Transform, Writable } from 'node:stream';
import { Heartbeat, resourceOf, startMover, type Mover } from '../capture/mover';
import type { KubeClient } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError, type ProgressListener } from '../progress';
import { SnapshotNotFoundError, volumeRoot, type Repository, type VolumeRef } from '../repo/api';
import { treeLoader } from '../repo/snapshotReader';
import { lookupPath, volumePathSegments } from '../repo/tree';
import { safeVolumeTarStream } from './safeTar';

/**
 * Writing a snapshot's volume (or a directory or file of it) into a claim
 * on a cluster: a write-mode mover pod mounts the claim read-write, and the
 * archive of ./safeTar is streamed into `tar -xpf -` there over the exec
 * API, with backpressure, so memory stays flat whatever the volume's size.
 */

export interface WriteVolumeOptions {
  /** Snapshot id, unique prefix, or "latest". */
  snapshot: string;
  /** The volume in the snapshot. */
  source: VolumeRef;
  /** The claim written into. */
  target: { namespace: string; pvc: string };
  /** Path inside the source volume to write (default all of it). A directory's contents go into targetPath; a file goes there by its name. */
  subPath?: string;
  /** Directory inside the target claim the archive is extracted into (created when missing); default its root. */
  targetPath?: string;
  /** Archive name of a single file (subPath naming a file), to give it another name on the target. */
  fileName?: string;
  moverImage?: string;
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: ProgressListener;
  /** How long the mover may take to start (default 3 minutes). */
  moverStartTimeoutMs?: number;
}

export interface WriteVolumeResult {
  files: number;
  dirs: number;
  bytes: number;
}

/** What tar said, kept short: its first lines are the ones that name the problem. */
const STDERR_KEEP = 400;
const PROGRESS_INTERVAL_MS = 250;

function firstChars(limit: number): { sink: Writable; text(): string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (text.length < limit) text += chunk.toString('utf8');
      done();
    },
  });
  return { sink, text: () => text.slice(0, limit).trim() };
}

/** The node of a running pod that mounts the claim: a ReadWriteOnce volume can only be mounted there while it runs. */
async function nodeOfUser(kube: KubeClient, namespace: string, claim: string, signal?: AbortSignal): Promise<string | undefined> {
  const pods = await resourceOf(kube, 'v1', 'Pod');
  const list = await kube.listAll(pods, { namespace, signal });
  const user = list.find(
    (p) =>
      p.status?.phase === 'Running' &&
      p.spec?.nodeName &&
      (p.spec?.volumes ?? []).some((v: { persistentVolumeClaim?: { claimName?: string } }) => v.persistentVolumeClaim?.claimName === claim),
  );
  return user?.spec?.nodeName;
}

/**
 * Writes a snapshot's volume data into a claim through a write-mode mover
 * (waited for until Running, which binds a WaitForFirstConsumer claim).
 * Existing files of the claim stay unless the archive replaces them. A
 * damaged or hostile snapshot entry stops the write with
 * UnsafeSnapshotEntryError before it reaches the mover; tar failing names
 * the volume and tar's message. The mover is removed in every case,
 * cancellation included.
 */
export async function writeVolume(kube: KubeClient, repo: Repository, options: WriteVolumeOptions): Promise<WriteVolumeResult> {
  const log = options.log ?? silentLogger;
  const { source, target } = options;
  const label = `${source.namespace}/${source.pvc}`;
  const into = `${target.namespace}/${target.pvc}`;
  const targetDir = volumePathSegments(options.targetPath ?? '/');
  // Everything that can be missing is found missing before a pod is made.
  const { manifest, root } = await volumeRoot(repo, options.snapshot, source);
  const subSegs = volumePathSegments(options.subPath ?? '/');
  const top = await lookupPath(treeLoader(repo), root.tree, root.root, subSegs);
  if (!top) throw new SnapshotNotFoundError(`volume ${label} in snapshot ${manifest.id.slice(0, 12)} has no /${subSegs.join('/')}`);
  const bytesTotal = subSegs.length === 0 ? root.bytes : top.type === 'file' ? top.size : undefined;
  const current = `${label} → ${into}${targetDir.length ? `:/${targetDir.join('/')}` : ''}`;
  const signal = options.signal;

  const result: WriteVolumeResult = { files: 0, dirs: 0, bytes: 0 };
  let bytesDone = 0;
  let lastReport = 0;
  const report = (force = false): void => {
    const now = Date.now();
    if (!options.onProgress || (!force && now - lastReport < PROGRESS_INTERVAL_MS)) return;
    lastReport = now;
    options.onProgress({ phase: 'volumes', current, bytesDone: bytesTotal === undefined ? bytesDone : Math.min(bytesDone, bytesTotal), bytesTotal });
  };
  report(true);

  const node = await nodeOfUser(kube, target.namespace, target.pvc, signal);
  const heartbeat = new Heartbeat(kube, log);
  let mover: Mover | undefined;
  try {
    mover = await startMover(kube, {
      namespace: target.namespace,
      claim: target.pvc,
      volume: target,
      mode: 'write',
      node,
      image: options.moverImage,
      heartbeat,
      signal,
      log,
      startTimeoutMs: options.moverStartTimeoutMs,
    });
    log.log('info', `writing volume ${label} of snapshot ${manifest.id.slice(0, 12)} into ${into} through mover pod ${mover.namespace}/${mover.name}`, {
      volume: label,
      target: into,
      node,
    });
    let sourceError: unknown;
    const archive = safeVolumeTarStream(repo, manifest.id, source, options.subPath, {
      fileName: options.fileName,
      // Counted as the snapshot counts them: regular files with their bytes, and directories; links are neither.
      onEntry: (e) => {
        if (e.type === 'dir') result.dirs++;
        else if (e.type === 'file') {
          result.files++;
          result.bytes += e.size;
        }
      },
    });
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytesDone += chunk.length;
        report();
        done(null, chunk);
      },
    });
    archive.once('error', (err) => {
      sourceError = err;
      counter.destroy(err);
    });
    archive.pipe(counter);
    const stderr = firstChars(STDERR_KEEP);
    let exec;
    try {
      exec = await mover.extract(counter, stderr.sink, signal ?? new AbortController().signal, targetDir);
    } catch (err) {
      if (signal?.aborted) throw new CancelledError();
      if (sourceError) throw sourceError;
      throw new Error(`writing volume ${label} into ${into} through mover pod ${mover.namespace}/${mover.name} failed: ${(err as Error).message}`);
    } finally {
      archive.unpipe(counter);
      archive.destroy();
    }
    if (sourceError) throw sourceError;
    if (exec.exitCode !== 0) {
      const detail = stderr.text() || exec.message || 'no message';
      throw new Error(`writing volume ${label} into ${into}: tar in mover pod ${mover.namespace}/${mover.name} exited with ${exec.exitCode}: ${detail}`);
    }
    bytesDone = bytesTotal ?? result.bytes;
    report(true);
    log.log('info', `volume ${label} written into ${into}: ${result.files} files, ${result.dirs} directories, ${result.bytes} bytes`, { volume: label, target: into });
    return result;
  } catch (err) {
    if (signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError();
    throw err;
  } finally {
    await mover?.remove({ timeoutMs: signal?.aborted ? 2000 : 10_000 });
    heartbeat.stop();
  }
}
