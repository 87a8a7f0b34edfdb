import { acquireLock } from './lock';
import { ReferenceWalker } from './references';
import type { Repository } from './repository';
import { readManifest, snapshotIds } from './snapshotReader';

/**
 * Verify: the blob layer's structural check (and with readData every blob's
 * content), then every snapshot's references. A damaged blob is reported
 * with what uses it — which snapshots, which files or objects — because
 * that is what a user needs to decide what is lost.
 */

export interface VerifyProblem {
  kind: string;
  blobId?: string;
  pack?: string;
  message: string;
  /** "snapshot 1a2b3c4d5e6f: volume shop/data /etc/app.conf", at most USED_BY_LIMIT of them. */
  usedBy?: string[];
  /** How many users were not listed. */
  usedByMore?: number;
}

export interface VerifyReport {
  ok: boolean;
  readData: boolean;
  snapshots: number;
  blobsReferenced: number;
  errors: VerifyProblem[];
  /**
   * Findings that are not damage: packs no index names, which is what a
   * capture that died leaves behind (prune removes them). Should a snapshot
   * need a blob in one, the snapshot's missing blob is an error of its own.
   */
  leftovers: VerifyProblem[];
}

export interface VerifyOptions {
  readData?: boolean;
  /** Packs checked so far, of all packs. */
  onProgress?: (done: number, total: number) => void;
  onNotice?: (message: string) => void;
}

const USED_BY_LIMIT = 20;

export async function verify(repo: Repository, options: VerifyOptions = {}): Promise<VerifyReport> {
  const readData = options.readData ?? false;
  const lock = await acquireLock(repo, { exclusive: false, purpose: 'verify', onNotice: options.onNotice });
  try {
    const check = await repo.check({ readData, onProgress: options.onProgress });
    const leftovers: VerifyProblem[] = check.errors.filter((e) => e.kind === 'unindexed-pack').map((e) => ({ ...e }));
    const errors: VerifyProblem[] = check.errors.filter((e) => e.kind !== 'unindexed-pack').map((e) => ({ ...e }));
    const damaged = new Map<string, VerifyProblem>();
    for (const e of errors) if (e.blobId) damaged.set(e.blobId, e);

    const walker = new ReferenceWalker(repo, (id) => {
      if (damaged.has(id)) return 'is damaged';
      return repo.hasBlob(id) ? undefined : 'is in no pack of the index';
    });
    const missing = new Map<string, VerifyProblem>();
    const ids = await snapshotIds(repo);
    for (const id of ids) {
      let manifest;
      try {
        manifest = await readManifest(repo, id);
      } catch (err) {
        errors.push({ kind: 'snapshot', message: `snapshot ${id}: ${(err as Error).message}` });
        continue;
      }
      for (const p of await walker.snapshot(manifest)) {
        const user = `snapshot ${id.slice(0, 12)}: ${p.what}`;
        let target = p.blobId ? (damaged.get(p.blobId) ?? missing.get(p.blobId)) : undefined;
        if (!target) {
          const hint = leftovers.length ? ` (${leftovers.length} pack(s) are not in the index: "lifeboat repo index rebuild" may recover it)` : '';
          target = {
            kind: p.blobId ? 'missing-blob' : 'snapshot',
            message: p.blobId ? `blob ${p.blobId} ${p.issue}${hint}` : `${user}: ${p.issue}`,
          };
          if (p.blobId) {
            target.blobId = p.blobId;
            missing.set(p.blobId, target);
          }
          errors.push(target);
        }
        if (p.blobId) {
          target.usedBy ??= [];
          if (target.usedBy.length < USED_BY_LIMIT) target.usedBy.push(user);
          else target.usedByMore = (target.usedByMore ?? 0) + 1;
        }
      }
    }
    return { ok: errors.length === 0, readData, snapshots: ids.length, blobsReferenced: walker.seen.size, errors, leftovers };
  } finally {
    await lock.release();
  }
}
