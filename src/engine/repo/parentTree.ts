import type { Repository } from './repository';
import { readManifest, snapshotIds } from './snapshotReader';
import { decodeTree, type TreeEntry } from './tree';

/**
 * A previous snapshot's tree of the same volume, consulted entry by entry
 * while a new capture reads its archive, so files whose attributes are
 * unchanged can take their chunk list from it instead of being read again.
 *
 * Only one directory listing is held at a time, plus the tree ids along the
 * current path: archives list a directory's entries together, so moving
 * between directories is rare next to looking entries up in one.
 */
export class ParentTree {
  /** Tree ids from the root down to the directory whose listing is loaded. */
  private path: Array<{ name: string; tree: string | undefined }>;
  private listing: Map<string, TreeEntry> | undefined;
  private listingLoaded = false;

  constructor(
    private readonly repo: Repository,
    /** Full id of the parent snapshot. */
    readonly snapshot: string,
    rootTree: string,
    private readonly onUnreadable?: (message: string) => void,
  ) {
    this.path = [{ name: '', tree: rootTree }];
  }

  /** The parent's entry at a normalised volume path ("a/b/c"); undefined when it had none. */
  async lookup(volumePath: string): Promise<TreeEntry | undefined> {
    const segs = volumePath.split('/');
    const name = segs.pop()!;
    await this.moveTo(segs);
    return this.listing?.get(name);
  }

  private async moveTo(segs: string[]): Promise<void> {
    let common = 0;
    while (common < segs.length && common + 1 < this.path.length && this.path[common + 1].name === segs[common]) common++;
    if (common === segs.length && this.path.length === segs.length + 1 && this.listingLoaded) return;
    this.path.length = common + 1;
    this.listing = undefined;
    this.listingLoaded = false;
    for (let i = common; i < segs.length; i++) {
      const above = await this.load(this.path[this.path.length - 1].tree);
      const child = above?.get(segs[i]);
      this.path.push({ name: segs[i], tree: child?.type === 'dir' ? child.subtree : undefined });
    }
    this.listing = await this.load(this.path[this.path.length - 1].tree);
    this.listingLoaded = true;
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
