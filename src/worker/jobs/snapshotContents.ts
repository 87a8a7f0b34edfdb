import { acquireLock, deleteSnapshot, listVolumeFiles, openFile, readCatalog, readManifest, readResource, resolveSnapshotId } from '../../engine/repo/api';
import { throwIfCancelled } from '../../engine/progress';
import { summaryOf } from '../../engine/repo/snapshot';
import { ResponseError } from 'vscode-jsonrpc';
import {
  SnapshotErrorCodes,
  type SnapshotKindContents,
  type SnapshotNamespaceContents,
  type SnapshotsContentsParams,
  type SnapshotsContentsResult,
  type SnapshotsDeleteParams,
  type SnapshotsDeleteResult,
  type SnapshotsFileParams,
  type SnapshotsFileResult,
  type SnapshotsFilesParams,
  type SnapshotsFilesResult,
  type SnapshotsObjectParams,
  type SnapshotsObjectResult,
} from '../../protocol/worker';
import type { JobContext } from './context';
import { objectYaml } from './objectYaml';
import { withRepositoryRef } from './repository';
import { withKeptRepository } from './repositoryCache';

/** Browsing one snapshot (its contents, objects, volume files) and deleting one, for the Snapshots view and `lifeboat-snap:`. */

function formatSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

export async function snapshotContentsJob(params: SnapshotsContentsParams, ctx: JobContext): Promise<SnapshotsContentsResult> {
  return withKeptRepository(params.repository, async (repo) => {
    const id = await resolveSnapshotId(repo, params.snapshot);
    const manifest = await readManifest(repo, id);
    throwIfCancelled(ctx.signal);
    const catalog = await readCatalog(repo, id);
    const byNamespace = new Map<string, Map<string, SnapshotKindContents>>();
    for (const r of catalog.resources) {
      const ns = r.namespace ?? '';
      let kinds = byNamespace.get(ns);
      if (!kinds) byNamespace.set(ns, (kinds = new Map()));
      const key = `${r.kind}\0${r.group}`;
      let kind = kinds.get(key);
      if (!kind) kinds.set(key, (kind = { group: r.group, kind: r.kind, names: [] }));
      kind.names.push(r.name);
    }
    const namespaces: SnapshotNamespaceContents[] = [...byNamespace.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([namespace, kinds]) => ({
        namespace,
        kinds: [...kinds.entries()]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([, k]) => ({ ...k, names: k.names.sort() })),
      }));
    return {
      snapshot: summaryOf(manifest),
      namespaces,
      volumes: catalog.volumes.map(({ fileList: _fileList, ...v }) => v),
      data: catalog.data,
    };
  });
}

export async function snapshotObjectJob(params: SnapshotsObjectParams, ctx: JobContext): Promise<SnapshotsObjectResult> {
  return withKeptRepository(params.repository, async (repo) => {
    throwIfCancelled(ctx.signal);
    const { group, kind, namespace, name } = params.object;
    // An absent namespace means cluster-scoped here, where readResource would take it as "any namespace".
    const obj = await readResource(repo, params.snapshot, { group, kind, namespace: namespace ?? '', name });
    return objectYaml(obj);
  });
}

export async function snapshotFilesJob(params: SnapshotsFilesParams, ctx: JobContext): Promise<SnapshotsFilesResult> {
  return withKeptRepository(params.repository, async (repo) => {
    throwIfCancelled(ctx.signal);
    return { entries: await listVolumeFiles(repo, params.snapshot, params.volume, params.dir) };
  });
}

function tooLarge(params: SnapshotsFileParams, size: number): ResponseError<void> {
  const { namespace, pvc } = params.volume;
  return new ResponseError(
    SnapshotErrorCodes.tooLarge,
    `${namespace}/${pvc}:${params.path} is ${formatSize(size)}, more than the ${formatSize(params.maxBytes)} that open in the editor; ` +
      `write it to a file with: lifeboat repo cat ${params.snapshot.slice(0, 12)} --volume ${namespace}/${pvc} --path ${params.path} --repo … > FILE`,
  );
}

export async function snapshotFileJob(params: SnapshotsFileParams, ctx: JobContext): Promise<SnapshotsFileResult> {
  return withKeptRepository(params.repository, async (repo) => {
    const id = await resolveSnapshotId(repo, params.snapshot);
    const [entry] = await listVolumeFiles(repo, id, params.volume, params.path);
    if (entry && entry.type === 'file' && entry.size > params.maxBytes) throw tooLarge(params, entry.size);
    const stream = await openFile(repo, id, params.volume, params.path);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of stream) {
        throwIfCancelled(ctx.signal);
        size += (chunk as Buffer).length;
        // A hard link lists without its target's size: the limit holds while reading too.
        if (size > params.maxBytes) throw tooLarge(params, entry?.type === 'hardlink' ? size : Math.max(size, entry?.size ?? 0));
        chunks.push(chunk as Buffer);
      }
    } finally {
      stream.destroy();
    }
    return { content: Buffer.concat(chunks, size).toString('base64'), size };
  });
}

export async function deleteSnapshotJob(params: SnapshotsDeleteParams, ctx: JobContext): Promise<SnapshotsDeleteResult> {
  return withRepositoryRef(params.repository, async (repo) => {
    const id = await resolveSnapshotId(repo, params.snapshot);
    throwIfCancelled(ctx.signal);
    const lock = await acquireLock(repo, { exclusive: false, purpose: 'delete a snapshot', onNotice: (m) => ctx.warn(m) });
    try {
      await deleteSnapshot(repo, id);
    } finally {
      await lock.release();
    }
    ctx.log.log('info', `deleted snapshot ${id.slice(0, 12)}`);
    return { id };
  });
}
