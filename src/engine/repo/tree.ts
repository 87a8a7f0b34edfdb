/**
 * A volume's file tree as stored in the repository: one 'tree' blob per
 * directory listing its entries, directories pointing at their own tree blob
 * by id. Identical directories therefore share one blob across snapshots,
 * and a directory's listing is readable without touching file contents.
 */

export const TREE_VERSION = 1;

export type TreeEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TreeEntry {
  name: string;
  type: TreeEntryType;
  /** Permission bits. */
  mode: number;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  /** Modification time, ISO 8601 UTC. */
  mtime: string;
  /** Content bytes for files; 0 otherwise. */
  size: number;
  /** Data blob ids of a file's content, in order. */
  chunks?: string[];
  /** Tree blob id of a directory's listing. */
  subtree?: string;
  /** Symlink target as written; for hard links the volume path ("a/b") of the file it shares content with. */
  target?: string;
}

export interface Tree {
  version: number;
  entries: TreeEntry[];
}

/** Attributes of a directory itself, carried by its parent's entry (or the volume root record). */
export type DirMeta = Pick<TreeEntry, 'mode' | 'uid' | 'gid' | 'user' | 'group' | 'mtime'>;

export const DEFAULT_DIR_META: DirMeta = { mode: 0o755, uid: 0, gid: 0, mtime: new Date(0).toISOString() };

/** Canonical bytes: entries sorted by name, fixed key order, so equal listings give equal blobs. */
export function encodeTree(entries: Iterable<TreeEntry>): Buffer {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const canonical = sorted.map((e) => {
    const o: TreeEntry = { name: e.name, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, size: e.size };
    if (e.user) o.user = e.user;
    if (e.group) o.group = e.group;
    if (e.chunks) o.chunks = e.chunks;
    if (e.subtree) o.subtree = e.subtree;
    if (e.target !== undefined) o.target = e.target;
    return o;
  });
  return Buffer.from(JSON.stringify({ version: TREE_VERSION, entries: canonical }));
}

export function decodeTree(data: Buffer, id: string): Tree {
  let tree: Tree;
  try {
    tree = JSON.parse(data.toString('utf8')) as Tree;
  } catch {
    throw new Error(`tree blob ${id} is not valid JSON: the repository is damaged (run "lifeboat repo verify")`);
  }
  if (!tree || typeof tree !== 'object' || !Array.isArray(tree.entries)) {
    throw new Error(`tree blob ${id} has no entries list: the repository is damaged`);
  }
  if (tree.version > TREE_VERSION) {
    throw new Error(`tree blob ${id} has format version ${tree.version}; this lifeboat reads up to ${TREE_VERSION}: upgrade lifeboat`);
  }
  return tree;
}

interface OpenDir {
  name: string;
  meta: DirMeta;
  entries: Map<string, TreeEntry>;
}

export interface TreeStore {
  saveTree(data: Buffer): Promise<string>;
  loadTree(id: string): Promise<Tree>;
}

/**
 * Builds tree blobs from entries in archive order. Only the directories on
 * the path of the latest entry are held open; a directory is written as soon
 * as the archive moves past it, so memory follows the tree's depth and the
 * width of open directories, not the number of files. Archives that revisit
 * a directory after leaving it (not depth-first) are handled by reloading it.
 */
export class TreeBuilder {
  private stack: OpenDir[] = [{ name: '', meta: DEFAULT_DIR_META, entries: new Map() }];
  private done = false;

  constructor(private readonly store: TreeStore) {}

  /** Sets the attributes of the volume root (the archive's "." entry). */
  setRootMeta(meta: DirMeta): void {
    this.stack[0].meta = meta;
  }

  /** Adds an entry at a normalised path ("a/b/c"); a directory entry opens it. */
  async add(path: string, entry: Omit<TreeEntry, 'name'>): Promise<void> {
    if (this.done) throw new Error('tree already finished');
    const segs = path.split('/');
    const name = segs.pop()!;
    await this.openPath(segs);
    const parent = this.stack[this.stack.length - 1];
    if (entry.type === 'dir') {
      const meta: DirMeta = { mode: entry.mode, uid: entry.uid, gid: entry.gid, user: entry.user, group: entry.group, mtime: entry.mtime };
      const existing = parent.entries.get(name);
      const reopened = existing?.type === 'dir' && existing.subtree ? (await this.store.loadTree(existing.subtree)).entries : [];
      parent.entries.delete(name);
      this.stack.push({ name, meta, entries: new Map(reopened.map((e) => [e.name, e])) });
      return;
    }
    parent.entries.set(name, { name, ...entry });
  }

  private async openPath(segs: string[]): Promise<void> {
    let common = 0;
    while (common < segs.length && common + 1 < this.stack.length && this.stack[common + 1].name === segs[common]) common++;
    while (this.stack.length > common + 1) await this.closeTop();
    for (let i = common; i < segs.length; i++) {
      const parent = this.stack[this.stack.length - 1];
      const existing = parent.entries.get(segs[i]);
      let meta = DEFAULT_DIR_META;
      let entries: TreeEntry[] = [];
      if (existing?.type === 'dir') {
        meta = existing;
        if (existing.subtree) entries = (await this.store.loadTree(existing.subtree)).entries;
      }
      // A path through a non-directory replaces it, as extracting the archive would.
      parent.entries.delete(segs[i]);
      this.stack.push({ name: segs[i], meta: pickMeta(meta), entries: new Map(entries.map((e) => [e.name, e])) });
    }
  }

  private async closeTop(): Promise<void> {
    const dir = this.stack.pop()!;
    const id = await this.store.saveTree(encodeTree(dir.entries.values()));
    const parent = this.stack[this.stack.length - 1];
    parent.entries.set(dir.name, { name: dir.name, type: 'dir', ...pickMeta(dir.meta), size: 0, subtree: id });
  }

  /** Writes the remaining open directories; returns the root tree id and its attributes. */
  async finish(): Promise<{ root: string; meta: DirMeta }> {
    while (this.stack.length > 1) await this.closeTop();
    this.done = true;
    const root = this.stack[0];
    return { root: await this.store.saveTree(encodeTree(root.entries.values())), meta: root.meta };
  }
}

function pickMeta(m: DirMeta): DirMeta {
  const out: DirMeta = { mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime };
  if (m.user) out.user = m.user;
  if (m.group) out.group = m.group;
  return out;
}

/** Splits a user-given volume path ("/data/x", "data/x/", ".") into segments; rejects "..". */
export function volumePathSegments(p: string): string[] {
  const segs: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') throw new Error(`path "${p}" contains "..": give a path inside the volume, like /data/file`);
    segs.push(s);
  }
  return segs;
}

/** Finds the entry at a path below a root tree; undefined when absent. The root itself is returned as a dir entry. */
export async function lookupPath(
  store: Pick<TreeStore, 'loadTree'>,
  root: string,
  rootMeta: DirMeta,
  segs: string[],
): Promise<TreeEntry | undefined> {
  let current: TreeEntry = { name: '', type: 'dir', ...rootMeta, size: 0, subtree: root };
  for (const seg of segs) {
    if (current.type !== 'dir' || !current.subtree) return undefined;
    const tree = await store.loadTree(current.subtree);
    const next = tree.entries.find((e) => e.name === seg);
    if (!next) return undefined;
    current = next;
  }
  return current;
}

/** Depth-first walk in name order, yielding each entry with its volume path ("a/b"). */
export async function* walkTree(
  store: Pick<TreeStore, 'loadTree'>,
  treeId: string,
  prefix = '',
): AsyncGenerator<{ path: string; entry: TreeEntry; treeId: string }> {
  const tree = await store.loadTree(treeId);
  for (const entry of tree.entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    yield { path, entry, treeId };
    if (entry.type === 'dir' && entry.subtree) yield* walkTree(store, entry.subtree, path);
  }
}
