import { contentsByNamespace } from '../../engine/repo/catalog';
import { listSnapshots, readCatalog, readManifest, resolveSnapshotId } from '../../engine/repo/snapshotReader';
import { throwIfCancelled } from '../../engine/progress';
import type { SnapshotsListParams, SnapshotsListResult, SnapshotsShowParams, SnapshotsShowResult } from '../../protocol/worker';
import type { JobContext } from './context';
import { withRepositoryRef } from './repository';

/** Listing a repository's snapshots and showing one, for the Snapshots view. */

export async function listSnapshotsJob(params: SnapshotsListParams, ctx: JobContext): Promise<SnapshotsListResult> {
  return withRepositoryRef(params.repository, async (repo) => {
    throwIfCancelled(ctx.signal);
    ctx.onProgress({ phase: 'list' });
    const unreadable: SnapshotsListResult['unreadable'] = [];
    const all = await listSnapshots(repo, {
      onUnreadable: (u) => {
        unreadable.push(u);
        ctx.warn(`snapshot ${u.id.slice(0, 12)} cannot be read and is not listed: ${u.message}`);
      },
    });
    const snapshots = all.filter((s) => (!params.cluster || s.cluster === params.cluster) && (!params.tag || s.tags.includes(params.tag)));
    ctx.onProgress({ phase: 'list', itemsDone: snapshots.length, itemsTotal: snapshots.length });
    return { snapshots, unreadable };
  });
}

export async function showSnapshotJob(params: SnapshotsShowParams, ctx: JobContext): Promise<SnapshotsShowResult> {
  return withRepositoryRef(params.repository, async (repo) => {
    throwIfCancelled(ctx.signal);
    const id = await resolveSnapshotId(repo, params.snapshot);
    const manifest = await readManifest(repo, id);
    throwIfCancelled(ctx.signal);
    const catalog = await readCatalog(repo, id);
    const contents = contentsByNamespace(catalog);
    return {
      manifest,
      catalog: {
        resources: catalog.resources.length,
        contents,
        volumes: catalog.volumes.map(({ fileList: _fileList, ...v }) => v),
        data: catalog.data,
      },
    };
  });
}
