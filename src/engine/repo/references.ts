import { decodeCatalog, type Catalog } from './catalog';
import type { Repository } from './repository';
import type { SnapshotManifest } from './snapshot';
import { decodeTree } from './tree';

/**
 * Everything a snapshot needs from the blob store: resource blobs (named by
 * its catalog), the tree blobs and file chunks of its volumes, the chunks of
 * its catalog file lists and of its data streams. Prune keeps exactly this
 * set; verify checks each member and names who uses a damaged one.
 */

/** A referenced blob that is missing or damaged, and who needs it. */
export interface ReferenceProblem {
  snapshot: string;
  /** What uses it: "Deployment shop/api", "volume shop/data /etc/app.conf", "data etcd". */
  what: string;
  blobId?: string;
  issue: string;
  /** True when the problem hides further references (an unreadable tree or catalog). */
  blocksWalk: boolean;
}

interface TreeProblem {
  path: string;
  blobId: string;
  issue: string;
  blocksWalk: boolean;
}

const NONE: TreeProblem[] = [];

export class ReferenceWalker {
  /** Every blob id reached so far. */
  readonly seen = new Set<string>();
  private readonly trees = new Map<string, TreeProblem[]>();

  /**
   * @param issueOf returns why a blob id cannot be used (not indexed, known damaged), or undefined.
   */
  constructor(
    private readonly repo: Repository,
    private readonly issueOf: (id: string) => string | undefined,
  ) {}

  private async tree(id: string): Promise<TreeProblem[]> {
    const memo = this.trees.get(id);
    if (memo) return memo;
    this.seen.add(id);
    const bad = this.issueOf(id);
    if (bad) {
      const p = [{ path: '', blobId: id, issue: `directory listing ${bad}`, blocksWalk: true }];
      this.trees.set(id, p);
      return p;
    }
    let problems: TreeProblem[] = NONE;
    const add = (p: TreeProblem): void => {
      if (problems === NONE) problems = [];
      problems.push(p);
    };
    try {
      const tree = decodeTree(await this.repo.loadBlob(id), id);
      for (const e of tree.entries) {
        if (e.type === 'file') {
          for (const c of e.chunks ?? []) {
            this.seen.add(c);
            const issue = this.issueOf(c);
            if (issue) add({ path: '/' + e.name, blobId: c, issue, blocksWalk: false });
          }
        } else if (e.type === 'dir' && e.subtree) {
          for (const p of await this.tree(e.subtree)) add({ ...p, path: '/' + e.name + p.path });
        }
      }
    } catch (err) {
      add({ path: '', blobId: id, issue: `directory listing unreadable: ${(err as Error).message}`, blocksWalk: true });
    }
    this.trees.set(id, problems);
    return problems;
  }

  private blob(id: string, snapshot: string, what: string, out: ReferenceProblem[]): void {
    this.seen.add(id);
    const issue = this.issueOf(id);
    if (issue) out.push({ snapshot, what, blobId: id, issue, blocksWalk: false });
  }

  /** Walks one snapshot; returns the problems found on the way. */
  async snapshot(manifest: SnapshotManifest): Promise<ReferenceProblem[]> {
    const out: ReferenceProblem[] = [];
    const id = manifest.id;
    let catalog: Catalog | undefined;
    try {
      catalog = decodeCatalog(await this.repo.readFile('catalogs', manifest.catalog), manifest.catalog);
    } catch (err) {
      out.push({ snapshot: id, what: 'catalog', issue: `catalog unreadable: ${(err as Error).message}`, blocksWalk: true });
    }
    for (const r of catalog?.resources ?? []) {
      this.blob(r.blob, id, `${r.kind} ${r.namespace ? r.namespace + '/' : ''}${r.name}`, out);
    }
    for (const v of catalog?.volumes ?? []) {
      for (const c of v.fileList) this.blob(c, id, `file list of volume ${v.namespace}/${v.pvc} in the catalog`, out);
    }
    for (const v of manifest.volumes) {
      for (const p of await this.tree(v.tree)) {
        out.push({ snapshot: id, what: `volume ${v.namespace}/${v.pvc} ${p.path || '/'}`, blobId: p.blobId, issue: p.issue, blocksWalk: p.blocksWalk });
      }
    }
    for (const d of manifest.data) {
      for (const c of d.chunks) this.blob(c, id, `data ${d.name}`, out);
    }
    return out;
  }
}
