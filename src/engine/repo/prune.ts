import { acquireLock } from './lock';
import { ReferenceWalker } from './references';
import type { Repository } from './repository';
import { applyRetention, isEmptyPolicy, type RetentionPolicy } from './retention';
import { listManifests } from './snapshotReader';

/**
 * Prune: forget snapshots by policy, then remove every blob no remaining
 * snapshot needs. Runs under an exclusive lock, so no capture can be adding
 * blobs that are about to be found unreferenced.
 */

export interface PruneOptions {
  /** Forget snapshots this policy does not keep; without it, only unreferenced data is removed. */
  policy?: RetentionPolicy;
  dryRun?: boolean;
  /** Packs using less than this fraction of their bytes are repacked (blob layer default when absent). */
  repackBelowUsedFraction?: number;
  onNotice?: (message: string) => void;
}

export interface PrunedSnapshot {
  id: string;
  time: string;
  cluster: string;
  reasons: string[];
}

export interface PruneReport {
  dryRun: boolean;
  snapshotsBefore: number;
  forgotten: PrunedSnapshot[];
  kept: PrunedSnapshot[];
  /** Catalogs left by captures that died before writing their manifest. */
  orphanCatalogs: string[];
  blobsReferenced: number;
  packsDeleted: number;
  packsRepacked: number;
  blobsRemoved: number;
  bytesFreed: number;
  /** Half-written objects of dead writers swept (not counted in a dry run). */
  unfinishedWritesRemoved: number;
}

/** Unfinished writes younger than this are left alone by prune. */
export const UNFINISHED_GRACE_MS = 60 * 60 * 1000;

export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneReport> {
  const dryRun = options.dryRun ?? false;
  const lock = await acquireLock(repo, { exclusive: true, purpose: dryRun ? 'prune (dry run)' : 'prune', onNotice: options.onNotice });
  try {
    const manifests = await listManifests(repo);
    const brief = (m: { id: string; time: string; cluster: string }, reasons: string[]): PrunedSnapshot => ({
      id: m.id,
      time: m.time,
      cluster: m.cluster,
      reasons,
    });
    let forgotten: PrunedSnapshot[] = [];
    let kept: PrunedSnapshot[] = manifests.map((m) => brief(m, ['no retention policy given']));
    if (options.policy && !isEmptyPolicy(options.policy)) {
      const decision = applyRetention(manifests, options.policy);
      forgotten = decision.forget.map((d) => brief(d.snapshot, d.reasons));
      kept = decision.keep.map((d) => brief(d.snapshot, d.reasons));
    }
    const keptIds = new Set(kept.map((k) => k.id));
    const remaining = manifests.filter((m) => keptIds.has(m.id));

    const walker = new ReferenceWalker(repo, (id) => (repo.hasBlob(id) ? undefined : 'is in no pack of the index'));
    for (const m of remaining) {
      const blocking = (await walker.snapshot(m)).filter((p) => p.blocksWalk);
      if (blocking.length > 0) {
        // Blobs below an unreadable tree or catalog would look unreferenced and be deleted.
        const p = blocking[0];
        throw new Error(
          `prune stopped, nothing was deleted: snapshot ${m.id.slice(0, 12)} (${p.what}) cannot be read completely: ${p.issue}. ` +
            'Run "lifeboat repo index rebuild" and "lifeboat repo verify --read-data"; ' +
            'if the snapshot stays damaged, "lifeboat repo forget" it, then prune again.',
        );
      }
    }

    const catalogs: string[] = [];
    for await (const name of repo.listFiles('catalogs')) catalogs.push(name);
    const manifestCatalogs = new Set(manifests.map((m) => m.catalog));
    const orphanCatalogs = catalogs.filter((c) => !manifestCatalogs.has(c));

    if (!dryRun) {
      for (const f of forgotten) {
        const m = manifests.find((x) => x.id === f.id)!;
        await repo.deleteFile('snapshots', m.id);
        await repo.deleteFile('catalogs', m.catalog);
      }
      for (const c of orphanCatalogs) await repo.deleteFile('catalogs', c);
    }
    const rewrite = await repo.rewrite(walker.seen, { dryRun, repackBelowUsedFraction: options.repackBelowUsedFraction });
    // Half-written objects of writers that died. The exclusive lock keeps live
    // writers out; the grace period covers a writer whose lock was judged stale
    // while it was in fact still running.
    const unfinished =
      dryRun || !repo.backend.sweepUnfinished
        ? { removed: 0, bytes: 0 }
        : await repo.backend.sweepUnfinished(UNFINISHED_GRACE_MS);
    return {
      dryRun,
      snapshotsBefore: manifests.length,
      forgotten,
      kept,
      orphanCatalogs,
      blobsReferenced: walker.seen.size,
      packsDeleted: rewrite.packsDeleted,
      packsRepacked: rewrite.packsRepacked,
      blobsRemoved: rewrite.blobsRemoved,
      bytesFreed: rewrite.bytesFreed + unfinished.bytes,
      unfinishedWritesRemoved: unfinished.removed,
    };
  } finally {
    await lock.release();
  }
}
