import { openKubeClient } from '../kube/client';
import type { KubeClient } from '../kube/types';
import type { Logger } from '../log';
import type { ProgressListener } from '../progress';
import { restoreToDirectory, SnapshotNotFoundError, volumeRoot, type Repository } from '../repo/api';
import { treeLoader } from '../repo/snapshotReader';
import { lookupPath, volumePathSegments } from '../repo/tree';
import type { RestoreFileRequest, RestoreFileResult } from './types';
import { writeVolume } from './volumeWrite';

/**
 * Restores one file or directory of a snapshot's volume: into a local
 * directory (./localRestore's safe restore, which never writes outside it),
 * or into a claim on a cluster through a write-mode mover (./volumeWrite).
 */

/**
 * Where an entry lands in the claim: the directory the archive is extracted
 * into, and the file's name there when it changes.
 *
 * A directory is written as that directory: at `targetPath`, default its own
 * path. A file goes to `targetPath` when given (ending in "/": into that
 * directory under its own name), else to its own path.
 */
export function placement(path: string[], isDir: boolean, targetPath: string | undefined): { dir: string; fileName?: string } {
  const join = (segs: string[]): string => `/${segs.join('/')}`;
  if (isDir) return { dir: join(targetPath === undefined ? path : volumePathSegments(targetPath)) };
  if (targetPath === undefined) return { dir: join(path.slice(0, -1)) };
  const to = volumePathSegments(targetPath);
  if (targetPath.endsWith('/') || to.length === 0) return { dir: join(to) };
  return { dir: join(to.slice(0, -1)), fileName: to[to.length - 1] };
}

export async function restoreFile(
  repo: Repository,
  request: RestoreFileRequest,
  options: { kube?: KubeClient; signal?: AbortSignal; log?: Logger; onProgress?: ProgressListener } = {},
): Promise<RestoreFileResult> {
  const { volume } = request;
  const segs = volumePathSegments(request.path);
  const shown = `/${segs.join('/')}`;
  const { manifest, root } = await volumeRoot(repo, request.snapshot, volume);
  const entry = await lookupPath(treeLoader(repo), root.tree, root.root, segs);
  if (!entry) throw new SnapshotNotFoundError(`volume ${volume.namespace}/${volume.pvc} in snapshot ${manifest.id.slice(0, 12)} has no ${shown}`);
  const current = `${volume.namespace}/${volume.pvc}:${shown}`;

  const to = request.to;
  if (to.kind === 'dir') {
    let bytesDone = 0;
    const local = await restoreToDirectory(repo, manifest.id, volume, to.directory, {
      subPath: shown,
      onFile: (_p, bytes) => {
        bytesDone += bytes;
        options.onProgress?.({ phase: 'volumes', current, bytesDone });
      },
    });
    return { files: local.files, dirs: local.dirs, bytes: local.bytes, skipped: local.skipped };
  }

  const kube = options.kube ?? (await openKubeClient({ kubeconfig: to.kubeconfig, context: to.context }));
  try {
    const where = placement(segs, entry.type === 'dir', to.targetPath);
    const written = await writeVolume(kube, repo, {
      snapshot: manifest.id,
      source: volume,
      target: { namespace: to.namespace, pvc: to.pvc },
      subPath: shown,
      targetPath: where.dir,
      fileName: where.fileName,
      moverImage: request.moverImage,
      signal: options.signal,
      log: options.log,
      onProgress: options.onProgress,
    });
    return { ...written, skipped: [] };
  } finally {
    if (!options.kube) kube.close();
  }
}
