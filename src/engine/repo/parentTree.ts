import type { Repository } from './repository';
import { readManifest, snapshotIds } from './snapshotReader';
import { decodeTree, type TreeEntry } from './tree';

/**
 * A previous snapshot's tree of the same volume, consulted entry by entry
 * while a new capture reads its archive, so files whose attributes are
 * unchanged can take their chunk list from it instead of being read again.
 *
 * Only the listings of the directories on the path of the latest lookup are
 * held, as the tree builder holds the new ones: archives are depth-first, so
 * each listing is loaded once, and memory follows depth and directory width,
 * not the number of files.
 */
export class ParentTree {
  /** From the root down: each directory on the current path and its listing (undefined when the parent lacks it). */
  private path: Array<{ name: string; listing: Map<string, TreeEntry> | undefined }> | undefined;

  constructor(
    private readonly repo: Repository,
    /** Full id of the parent snapshot. */
    readonly snapshot: string,
    private readonly rootTree: string,
    private readonly onUnreadable?: (message: string) => void,
  ) {}

  /** The parent's entry at a normalised volume path ("a/b/c"); undefined when it had none. */
  async lookup(volumePath: string): Promise<TreeEntry | undefined> {
    const segs = volumePath.split('/');
    const name = segs.pop()!;
    const path = (this.path ??= [{ name: '', listing: await this.load(this.rootTree) }]);
    let common = 0;
    while (common < segs.length && common + 1 < path.length && path[common + 1].name === segs[common]) common++;
    path.length = common + 1;
    for (let i = common; i < segs.length; i++) {
      const child = path[path.length - 1].listing?.get(segs[i]);
      path.push({ name: segs[i], listing: child?.type === 'dir' ? await this.load(child.subtree) : undefined });
    }
    return path[path.length - 1].listing?.get(name);
  }

  /**
   * A listing, or undefined when the parent lacks it (pruned, or never
   * there): its files are then read afresh. A damaged listing is reported
   * and read around, since the new capture must not depend on the old one.
   */
  private async load(tree: string | undefined): Promise<Map<string, TreeEntry> | undefined> {
    if (!tree || !this.repo.hasBlob(tree)) return undefined;
    try {
      const decoded = decodeTree(await this.repo.loadBlob(tree), tree);
      return new Map(decoded.entries.map((e) => [e.name, e]));
    } catch (err) {
      this.onUnreadable?.(`a directory listing of parent snapshot ${this.snapshot.slice(0, 12)} could not be read (${(err as Error).message}); its files were read again`);
      return undefined;
    }
  }
}

/**
 * The newest snapshot of a cluster that holds a volume: the natural parent of
 * its next capture. Unreadable manifests are passed over, since a damaged
 * older snapshot must not stop a new backup. Undefined when there is none.
 */
export async function latestSnapshotWithVolume(
  repo: Repository,
  cluster: string,
  volume: { namespace: string; pvc: string },
): Promise<string | undefined> {
  let best: { id: string; time: string } | undefined;
  for (const id of await snapshotIds(repo)) {
    const m = await readManifest(repo, id).catch(() => undefined);
    if (!m || m.cluster !== cluster) continue;
    if (!m.volumes.some((v) => v.namespace === volume.namespace && v.pvc === volume.pvc)) continue;
    if (!best || m.time > best.time || (m.time === best.time && m.id > best.id)) best = { id: m.id, time: m.time };
  }
  return best?.id;
}
