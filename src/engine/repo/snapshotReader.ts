import { Readable } from 'node:stream';
import { decodeCatalog, matchResources, type Catalog, type CatalogFileLine, type CatalogVolume } from './catalog';
import type { Repository } from './repository';
import { decodeManifest, summaryOf, type SnapshotManifest, type SnapshotSummary, type VolumeRoot } from './snapshot';
import { tarEnd, tarHeader, tarPadding, type TarEntry } from './tar';
import { decodeTree, lookupPath, volumePathSegments, walkTree, type Tree, type TreeEntry } from './tree';

export type { SnapshotSummary } from './snapshot';
export type { Catalog } from './catalog';

export class SnapshotNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotNotFoundError';
  }
}

export interface VolumeRef {
  namespace: string;
  pvc: string;
}

export interface VolumeFile {
  /** Path inside the volume, with a leading "/". */
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink';
  size: number;
  mode: number;
  mtime: string;
  target?: string;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

export async function snapshotIds(repo: Repository): Promise<string[]> {
  const ids: string[] = [];
  for await (const name of repo.listFiles('snapshots')) ids.push(name);
  return ids;
}

export async function readManifest(repo: Repository, id: string): Promise<SnapshotManifest> {
  return decodeManifest(await repo.readFile('snapshots', id), id);
}

export async function listManifests(repo: Repository): Promise<SnapshotManifest[]> {
  const manifests = await mapLimit(await snapshotIds(repo), 8, (id) => readManifest(repo, id));
  return manifests.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
}

/** A snapshot whose manifest exists but cannot be read (damaged, or from a newer format). */
export interface UnreadableSnapshot {
  id: string;
  message: string;
}

/**
 * Every snapshot, oldest first. Without `onUnreadable` one unreadable manifest
 * fails the listing; with it, that snapshot is reported there and the others
 * are still listed, so one damaged manifest cannot hide every recovery point.
 */
export async function listSnapshots(
  repo: Repository,
  options: { onUnreadable?: (snapshot: UnreadableSnapshot) => void } = {},
): Promise<SnapshotSummary[]> {
  if (!options.onUnreadable) return (await listManifests(repo)).map(summaryOf);
  const report = options.onUnreadable;
  const read = await mapLimit(await snapshotIds(repo), 8, async (id) => {
    try {
      return await readManifest(repo, id);
    } catch (err) {
      report({ id, message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  });
  return read
    .filter((m): m is SnapshotManifest => m !== undefined)
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1))
    .map(summaryOf);
}

/** Resolves a full id, a unique prefix of one, or "latest". */
export async function resolveSnapshotId(repo: Repository, idOrPrefix: string): Promise<string> {
  const wanted = idOrPrefix.trim().toLowerCase();
  if (!wanted) throw new SnapshotNotFoundError('no snapshot id given: pass an id (or a unique prefix), or "latest"');
  if (wanted === 'latest') {
    // The latest readable one: a damaged manifest is verify's to report.
    const all = await listSnapshots(repo, { onUnreadable: () => undefined });
    if (all.length === 0) throw new SnapshotNotFoundError(`the repository ${repo.backend.location} has no readable snapshots yet`);
    return all[all.length - 1].id;
  }
  const ids = await snapshotIds(repo);
  const matches = ids.filter((id) => id.startsWith(wanted));
  if (matches.length === 0) {
    throw new SnapshotNotFoundError(
      `no snapshot "${idOrPrefix}" in ${repo.backend.location} (${ids.length} snapshots); run "lifeboat snapshots" to list them`,
    );
  }
  if (matches.length > 1 && !matches.includes(wanted)) {
    const shown = matches.slice(0, 5).map((id) => id.slice(0, 12));
    throw new SnapshotNotFoundError(
      `"${idOrPrefix}" is ambiguous: it starts ${matches.length} snapshot ids (${shown.join(', ')}${matches.length > 5 ? ', …' : ''}); give more characters`,
    );
  }
  return matches.length === 1 ? matches[0] : wanted;
}

export async function findSnapshot(repo: Repository, idOrPrefix: string): Promise<SnapshotSummary> {
  return summaryOf(await readManifest(repo, await resolveSnapshotId(repo, idOrPrefix)));
}

export async function readCatalog(repo: Repository, snapshotId: string): Promise<Catalog> {
  const id = await resolveSnapshotId(repo, snapshotId);
  const manifest = await readManifest(repo, id);
  return decodeCatalog(await repo.readFile('catalogs', manifest.catalog), manifest.catalog);
}

/** Streams a volume's file list from the catalog, one line at a time. */
export async function* catalogFiles(repo: Repository, volume: CatalogVolume): AsyncGenerator<CatalogFileLine> {
  let rest = '';
  for await (const chunk of repo.loadStream(volume.fileList)) {
    rest += (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = rest.indexOf('\n')) !== -1) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line) yield JSON.parse(line) as CatalogFileLine;
    }
  }
  if (rest.trim()) yield JSON.parse(rest) as CatalogFileLine;
}

export async function readResource(
  repo: Repository,
  snapshotId: string,
  ref: { group?: string; kind: string; namespace?: string; name: string },
): Promise<object> {
  const catalog = await readCatalog(repo, snapshotId);
  const found = matchResources(catalog, ref);
  const label = `${ref.kind} ${ref.namespace ? ref.namespace + '/' : ''}${ref.name}`;
  if (found.length === 0) throw new SnapshotNotFoundError(`snapshot ${catalog.snapshot.slice(0, 12)} has no ${label}`);
  if (found.length > 1) {
    const groups = found.map((r) => `${r.group || 'core'}${r.namespace ? ' in ' + r.namespace : ''}`);
    throw new SnapshotNotFoundError(`${label} is ambiguous in snapshot ${catalog.snapshot.slice(0, 12)} (${groups.join('; ')}): give the group and namespace`);
  }
  return JSON.parse((await repo.loadBlob(found[0].blob)).toString('utf8')) as object;
}

export function treeLoader(repo: Repository): { loadTree(id: string): Promise<Tree> } {
  return { loadTree: async (id) => decodeTree(await repo.loadBlob(id), id) };
}

/** A snapshot's manifest and the root record of one of its volumes; SnapshotNotFoundError naming what it has when absent. */
export async function volumeRoot(repo: Repository, snapshotId: string, volume: VolumeRef): Promise<{ manifest: SnapshotManifest; root: VolumeRoot }> {
  const manifest = await readManifest(repo, await resolveSnapshotId(repo, snapshotId));
  const root = manifest.volumes.find((v) => v.namespace === volume.namespace && v.pvc === volume.pvc);
  if (!root) {
    const have = manifest.volumes.map((v) => `${v.namespace}/${v.pvc}`);
    throw new SnapshotNotFoundError(
      `snapshot ${manifest.id.slice(0, 12)} has no volume ${volume.namespace}/${volume.pvc}` +
        (have.length ? ` (it has ${have.join(', ')})` : ' (it has no volumes)'),
    );
  }
  return { manifest, root };
}

function toVolumeFile(p: string, e: TreeEntry): VolumeFile {
  const f: VolumeFile = { path: p, type: e.type, size: e.size, mode: e.mode, mtime: e.mtime };
  if (e.target !== undefined) f.target = e.type === 'hardlink' ? '/' + e.target : e.target;
  return f;
}

/** Lists one directory of a volume (the root by default). */
export async function listVolumeFiles(repo: Repository, snapshotId: string, volume: VolumeRef, dir = '/'): Promise<VolumeFile[]> {
  const { root } = await volumeRoot(repo, snapshotId, volume);
  const segs = volumePathSegments(dir);
  const loader = treeLoader(repo);
  const entry = await lookupPath(loader, root.tree, root.root, segs);
  const shown = '/' + segs.join('/');
  if (!entry) throw new SnapshotNotFoundError(`volume ${volume.namespace}/${volume.pvc} has no ${shown}`);
  if (entry.type !== 'dir' || !entry.subtree) return [toVolumeFile(shown, entry)];
  const tree = await loader.loadTree(entry.subtree);
  return tree.entries.map((e) => toVolumeFile((shown === '/' ? '' : shown) + '/' + e.name, e));
}

/** The entry holding a path's content: hard links resolve to the file they share content with. */
async function contentEntry(repo: Repository, root: VolumeRoot, segs: string[], label: string): Promise<TreeEntry> {
  const loader = treeLoader(repo);
  let entry = await lookupPath(loader, root.tree, root.root, segs);
  for (let hops = 0; entry?.type === 'hardlink' && hops < 8; hops++) {
    entry = await lookupPath(loader, root.tree, root.root, volumePathSegments(entry.target ?? ''));
  }
  if (!entry) throw new SnapshotNotFoundError(`${label} does not exist in the snapshot`);
  if (entry.type === 'dir') throw new Error(`${label} is a directory; list it instead, or restore it as a tree`);
  if (entry.type === 'symlink') throw new Error(`${label} is a symbolic link to "${entry.target}"`);
  if (entry.type !== 'file') throw new Error(`${label} is a hard link whose target is missing from the snapshot`);
  return entry;
}

/** Streams one file of a volume. */
export async function openFile(repo: Repository, snapshotId: string, volume: VolumeRef, filePath: string): Promise<Readable> {
  const { root } = await volumeRoot(repo, snapshotId, volume);
  const segs = volumePathSegments(filePath);
  const entry = await contentEntry(repo, root, segs, `${volume.namespace}/${volume.pvc}:/${segs.join('/')}`);
  return repo.loadStream(entry.chunks ?? []);
}

/** Streams a data root of a snapshot (such as "etcd", an etcd snapshot file) byte for byte. */
export async function openData(repo: Repository, snapshotId: string, name: string): Promise<Readable> {
  const manifest = await readManifest(repo, await resolveSnapshotId(repo, snapshotId));
  const root = manifest.data.find((d) => d.name === name);
  if (!root) {
    const have = manifest.data.map((d) => d.name);
    throw new SnapshotNotFoundError(
      `snapshot ${manifest.id.slice(0, 12)} has no data "${name}"` + (have.length ? ` (it has ${have.join(', ')})` : ' (it has no data streams)'),
    );
  }
  return repo.loadStream(root.chunks);
}

function tarFields(e: TreeEntry, type: TarEntry['type'], size: number, linkTarget?: string): Omit<TarEntry, 'typeflag' | 'path'> {
  const f: Omit<TarEntry, 'typeflag' | 'path'> = {
    type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: e.user ?? '',
    gname: e.group ?? '',
    mtime: Date.parse(e.mtime) / 1000,
    size,
  };
  if (linkTarget !== undefined) f.linkTarget = linkTarget;
  return f;
}

/** Bytes of a tar record: GNU tar reads a pipe a record at a time and waits for the whole of the last one. */
export const TAR_RECORD = 10240;

export interface VolumeTarOptions {
  /**
   * Called with each directory's entries (and its volume path, "" for the
   * volume root) when the directory is read, before any of them is put into
   * the archive; throwing stops the archive there.
   */
  checkDir?: (entries: TreeEntry[], dir: string) => void;
  /** Called as each entry goes into the archive (hard links carrying content come as their target's file entry). */
  onEntry?: (entry: TreeEntry, archivePath: string) => void;
  /** The archive name of a single file (subPath naming a file) instead of its own name. */
  fileName?: string;
}

/**
 * Re-creates a tar archive of a volume, or of one directory (or file) in it,
 * with paths relative to that directory. Hard links whose partner lies
 * outside the subtree, or comes later in the archive, carry the content
 * themselves so every link in the archive points backwards, as tar needs.
 * The archive ends padded to a whole tar record.
 */
export function volumeTarStream(repo: Repository, snapshotId: string, volume: VolumeRef, subPath?: string, options: VolumeTarOptions = {}): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    const { root } = await volumeRoot(repo, snapshotId, volume);
    const base = volumePathSegments(subPath ?? '/');
    const plain = treeLoader(repo);
    // Volume path of each directory whose listing is read next, for checkDir.
    const dirPaths = new Map<string, string>();
    const check = options.checkDir;
    const loader = check
      ? {
          loadTree: async (id: string): Promise<Tree> => {
            const tree = await plain.loadTree(id);
            check(tree.entries, dirPaths.get(id) ?? '');
            return tree;
          },
        }
      : plain;
    const top = await lookupPath(plain, root.tree, root.root, base);
    if (!top) throw new SnapshotNotFoundError(`volume ${volume.namespace}/${volume.pvc} has no /${base.join('/')}`);
    const prefix = base.join('/');
    // Volume path of a file → archive path where its content was written.
    const written = new Map<string, string>();
    // Volume path of a not-yet-written file → archive path of a hard link that already carried its content.
    const carried = new Map<string, string>();

    async function* file(e: TreeEntry, archivePath: string, volPath: string): AsyncGenerator<Buffer> {
      const link = carried.get(volPath);
      if (link !== undefined) {
        options.onEntry?.({ ...e, type: 'hardlink', size: 0 }, archivePath);
        yield tarHeader({ path: archivePath, ...tarFields(e, 'hardlink', 0, link) }, archivePath);
        return;
      }
      yield* content(e, archivePath);
      written.set(volPath, archivePath);
    }
    async function* content(e: TreeEntry, archivePath: string): AsyncGenerator<Buffer> {
      options.onEntry?.(e, archivePath);
      yield tarHeader({ path: archivePath, ...tarFields(e, 'file', e.size) }, archivePath);
      let n = 0;
      for await (const c of repo.loadStream(e.chunks ?? [])) {
        n += (c as Buffer).length;
        yield c as Buffer;
      }
      if (n !== e.size) throw new Error(`${archivePath}: read ${n} bytes, the snapshot says ${e.size}: the repository is damaged`);
      yield tarPadding(e.size);
    }
    async function* one(e: TreeEntry, archivePath: string, volPath: string): AsyncGenerator<Buffer> {
      switch (e.type) {
        case 'dir':
          if (e.subtree) dirPaths.set(e.subtree, volPath);
          options.onEntry?.(e, archivePath);
          yield tarHeader({ path: archivePath, ...tarFields(e, 'dir', 0) }, archivePath);
          break;
        case 'file':
          yield* file(e, archivePath, volPath);
          break;
        case 'symlink':
          options.onEntry?.(e, archivePath);
          yield tarHeader({ path: archivePath, ...tarFields(e, 'symlink', 0, e.target ?? '') }, archivePath);
          break;
        case 'hardlink': {
          const target = e.target ?? '';
          const already = written.get(target) ?? carried.get(target);
          if (already !== undefined) {
            options.onEntry?.(e, archivePath);
            yield tarHeader({ path: archivePath, ...tarFields(e, 'hardlink', 0, already) }, archivePath);
            break;
          }
          const targetEntry = await lookupPath(plain, root.tree, root.root, volumePathSegments(target));
          if (targetEntry?.type !== 'file') throw new Error(`hard link /${volPath} points at /${target}, which is not a file in the snapshot`);
          yield* content(targetEntry, archivePath);
          carried.set(target, archivePath);
          break;
        }
      }
    }

    let size = 0;
    const counted = async function* (parts: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
      for await (const b of parts) {
        size += b.length;
        yield b;
      }
    };
    if (top.type === 'dir' && top.subtree) {
      yield* counted(one(top, '.', prefix));
      for await (const { path: rel, entry } of walkTree(loader, top.subtree)) {
        yield* counted(one(entry, rel, prefix ? `${prefix}/${rel}` : rel));
      }
    } else {
      const name = options.fileName ?? base[base.length - 1] ?? '';
      yield* counted(one(top, name, prefix));
    }
    const end = tarEnd();
    yield Buffer.concat([end, Buffer.alloc((TAR_RECORD - ((size + end.length) % TAR_RECORD)) % TAR_RECORD)]);
  }
  return Readable.from(generate(), { objectMode: false, highWaterMark: 1 << 16 });
}

/** Removes a snapshot: its manifest first (then it no longer exists), then its catalog. Blobs stay until prune. */
export async function deleteSnapshot(repo: Repository, snapshotId: string): Promise<void> {
  const id = await resolveSnapshotId(repo, snapshotId);
  const manifest = await readManifest(repo, id).catch(() => undefined);
  await repo.deleteFile('snapshots', id);
  await repo.deleteFile('catalogs', manifest?.catalog ?? id);
}

