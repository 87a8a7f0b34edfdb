import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { version as packageVersion } from '../../../package.json';
import { catalogEntry, CATALOG_VERSION, encodeCatalog, type CatalogFileLine, type CatalogResource, type ResourceLike } from './catalog';
import { acquireLock, type Lock } from './lock';
import { ParentTree } from './parentTree';
import type { BlobKind, Repository } from './repository';
import { encodeManifest, MANIFEST_VERSION, summaryOf, type DataRoot, type SnapshotManifest, type SnapshotSummary, type VolumeRoot } from './snapshot';
import { readManifest, resolveSnapshotId } from './snapshotReader';
import { normaliseTarPath, readTar, type TarEntry } from './tar';
import { decodeTree, TreeBuilder, type DirMeta, type TreeEntry } from './tree';

export type { SnapshotSummary } from './snapshot';

export interface SnapshotMeta {
  cluster: string;
  scope: Record<string, unknown>;
  tags?: string[];
  host?: string;
  user?: string;
  toolVersion?: string;
}

export interface VolumeInfo {
  storageClass?: string;
  capacity?: string;
  /** Called after each file is stored, for progress reporting. */
  onFile?: (path: string, bytes: number) => void;
  /**
   * Id of an earlier snapshot holding the same volume. Files whose path,
   * size, mtime, mode, uid and gid match its entries take their chunk list
   * from it and are skipped in the archive instead of being chunked and
   * sealed again. A content change that keeps size and mtime goes unseen.
   */
  parent?: string;
  /**
   * Volume paths ("a/b") of regular files the caller vouches are unchanged
   * since `parent` and left out of the archive. Each is taken from the
   * parent's tree when the archive reaches its directory, so the stored
   * tree is the one a full read would give. A vouched file the parent does
   * not hold, or that the archive holds after all, fails the volume; one
   * whose directory the archive lacks (removed from a live volume since
   * the caller looked) is left out with a warning.
   */
  reuse?: ReadonlySet<string>;
}

export interface StoredVolume {
  files: number;
  bytes: number;
  /** Files (and their bytes) whose content was taken from the parent snapshot. */
  reused: { files: number; bytes: number };
}

/** True when a parent entry describes the same file content a full read would store. */
function unchanged(prev: TreeEntry | undefined, meta: DirMeta, size: number): prev is TreeEntry & { chunks: string[] } {
  return (
    prev !== undefined &&
    prev.type === 'file' &&
    Array.isArray(prev.chunks) &&
    prev.size === size &&
    prev.mtime === meta.mtime &&
    prev.mode === meta.mode &&
    prev.uid === meta.uid &&
    prev.gid === meta.gid
  );
}

/**
 * A volume's file list on its way into the catalog: NDJSON in a temporary
 * file, stored as a data stream once the volume is complete, so a volume of
 * millions of files never sits in memory.
 */
class FileListSpool {
  private pending: string[] = [];
  private pendingBytes = 0;

  private constructor(
    readonly file: string,
    private readonly handle: fs.promises.FileHandle,
  ) {}

  static async create(dir: string, name: string): Promise<FileListSpool> {
    const file = path.join(dir, name);
    return new FileListSpool(file, await fs.promises.open(file, 'w'));
  }

  async add(line: CatalogFileLine): Promise<void> {
    const s = JSON.stringify(line) + '\n';
    this.pending.push(s);
    this.pendingBytes += s.length;
    if (this.pendingBytes > 256 * 1024) await this.drain();
  }

  private async drain(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.write(text);
  }

  async store(repo: Repository): Promise<{ chunks: string[]; size: number }> {
    await this.drain();
    await this.handle.close();
    return repo.saveStream(fs.createReadStream(this.file));
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fs.promises.rm(this.file, { force: true });
  }
}

/** Vouched volume paths by directory ("" for the root), each directory's names in the order given. */
function groupByDirectory(paths: ReadonlySet<string> | undefined): Map<string, string[]> {
  const byDir = new Map<string, string[]>();
  for (const p of paths ?? []) {
    const cut = p.lastIndexOf('/');
    const dir = cut < 0 ? '' : p.slice(0, cut);
    let names = byDir.get(dir);
    if (!names) byDir.set(dir, (names = []));
    names.push(cut < 0 ? p : p.slice(cut + 1));
  }
  return byDir;
}

function resourceKey(r: Pick<CatalogResource, 'group' | 'kind' | 'namespace' | 'name'>): string {
  return `${r.group}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

function entryMeta(e: TarEntry): DirMeta {
  const meta: DirMeta = { mode: e.mode, uid: e.uid, gid: e.gid, mtime: isoTime(e.mtime) };
  if (e.uname) meta.user = e.uname;
  if (e.gname) meta.group = e.gname;
  return meta;
}

function isoTime(seconds: number): string {
  const ms = seconds * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : new Date(0).toISOString();
}

/**
 * Writes one snapshot. Blobs go into the repository as they come; the
 * catalog and then the manifest are written only at commit, so a capture
 * that fails or is aborted leaves no snapshot, only unreferenced blobs that
 * prune removes. Holds a shared lock for its whole life.
 */
export class SnapshotWriter {
  readonly id = randomBytes(32).toString('hex');
  private readonly started = Date.now();
  private readonly resources = new Map<string, CatalogResource>();
  private readonly volumes: Array<VolumeRoot & { fileList: string[] }> = [];
  private readonly data: DataRoot[] = [];
  private readonly warnings: string[] = [];
  private bytes = 0;
  private added = 0;
  private files = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';
  private failure: string | undefined;
  private spoolDir: string | undefined;
  private active = 0;

  private constructor(
    private readonly repo: Repository,
    private readonly meta: SnapshotMeta,
    private readonly lock: Lock,
  ) {}

  /** Takes a shared lock, kept fresh until commit or abort; `onNotice` hears about stale locks removed. */
  static async begin(repo: Repository, meta: SnapshotMeta, options: { onNotice?: (message: string) => void } = {}): Promise<SnapshotWriter> {
    if (!meta.cluster) throw new Error('a snapshot needs the name of the cluster it was captured from');
    const lock = await acquireLock(repo, { exclusive: false, purpose: `capture of ${meta.cluster}`, onNotice: options.onNotice });
    return new SnapshotWriter(repo, meta, lock);
  }

  private ensureOpen(): void {
    if (this.state !== 'open') throw new Error(`snapshot ${this.id.slice(0, 8)} is already ${this.state}`);
  }

  private async track<T>(work: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
    }
  }

  private async saveBlob(kind: BlobKind, data: Buffer): Promise<string> {
    const r = await this.repo.saveBlob(kind, data);
    if (r.added) this.added += data.length;
    return r.id;
  }

  private async saveStream(content: Readable): Promise<{ chunks: string[]; size: number }> {
    const r = await this.repo.saveStream(content);
    this.added += r.addedBytes;
    return r;
  }

  async addResource(obj: ResourceLike): Promise<void> {
    return this.track(async () => {
      if (!obj || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || !obj.metadata?.name) {
        throw new Error('a resource needs apiVersion, kind and metadata.name');
      }
      const json = Buffer.from(JSON.stringify(obj));
      const blob = await this.saveBlob('resource', json);
      this.bytes += json.length;
      const entry = catalogEntry(obj, blob, json.length);
      const key = resourceKey(entry);
      if (this.resources.has(key)) {
        this.warn(`${entry.kind} ${entry.namespace ? entry.namespace + '/' : ''}${entry.name} was captured twice; the later copy is kept`);
      }
      this.resources.set(key, entry);
    });
  }

  async addVolume(name: { namespace: string; pvc: string }, tar: Readable, info: VolumeInfo = {}): Promise<StoredVolume> {
    return this.track(async () => {
      const label = `${name.namespace}/${name.pvc}`;
      if (this.volumes.some((v) => v.namespace === name.namespace && v.pvc === name.pvc)) {
        throw new Error(`volume ${label} was already added to this snapshot`);
      }
      if (!this.spoolDir) {
        await sweepDeadSpools(os.tmpdir());
        this.spoolDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), `${SPOOL_PREFIX}${process.pid}-`));
      }
      const spool = await FileListSpool.create(this.spoolDir, `${this.volumes.length}-${randomBytes(4).toString('hex')}.ndjson`);
      const builder = new TreeBuilder({
        saveTree: (data) => this.saveBlob('tree', data),
        loadTree: async (id) => decodeTree(await this.repo.loadBlob(id), id),
      });
      let files = 0;
      let bytes = 0;
      const reused = { files: 0, bytes: 0 };
      try {
        const parent = info.parent ? await this.parentTree(info.parent, name) : undefined;
        const vouched = groupByDirectory(info.reuse);
        if (vouched.size > 0 && !parent) throw new Error('files were vouched unchanged but no parent snapshot was named');
        const takeVouched = async (dir: string): Promise<void> => {
          const names = vouched.get(dir);
          if (!names || !parent) return;
          vouched.delete(dir);
          for (const n of names) {
            const p = dir ? `${dir}/${n}` : n;
            const prev = await parent.lookup(p);
            if (prev?.type !== 'file' || !Array.isArray(prev.chunks) || !prev.chunks.every((c) => this.repo.hasBlob(c))) {
              throw new Error(`file ${p} was left out of the archive as unchanged, but parent snapshot ${parent.snapshot.slice(0, 12)} holds no content for it`);
            }
            const kept: Omit<TreeEntry, 'name'> = { type: 'file', mode: prev.mode, uid: prev.uid, gid: prev.gid, mtime: prev.mtime, size: prev.size, chunks: prev.chunks };
            if (prev.user) kept.user = prev.user;
            if (prev.group) kept.group = prev.group;
            await builder.add(p, kept);
            await spool.add({ p: '/' + p, s: prev.size });
            files++;
            bytes += prev.size;
            reused.files++;
            reused.bytes += prev.size;
            info.onFile?.(p, prev.size);
          }
        };
        for await (const { entry, body } of readTar(tar)) {
          const p = normaliseTarPath(entry.path);
          if (p === undefined) {
            this.warn(`volume ${label}: skipped "${entry.path}": the path leads outside the volume`);
            continue;
          }
          const meta = entryMeta(entry);
          if (info.reuse?.has(p)) throw new Error(`the archive holds ${p}, which was to be left out of it as unchanged (does the mover's tar honour -X?)`);
          switch (entry.type) {
            case 'dir':
              if (p === '') builder.setRootMeta(meta);
              else {
                await builder.add(p, { type: 'dir', ...meta, size: 0 });
                await spool.add({ p: '/' + p, s: 0, t: 'd' });
              }
              await takeVouched(p);
              break;
            case 'file': {
              if (p === '') {
                this.warn(`volume ${label}: skipped a file entry without a name`);
                break;
              }
              const prev = parent ? await parent.lookup(p) : undefined;
              if (unchanged(prev, meta, entry.size) && prev.chunks.every((c) => this.repo.hasBlob(c))) {
                // Left unread, the body is skipped by the archive reader without being hashed or sealed.
                await builder.add(p, { type: 'file', ...meta, size: prev.size, chunks: prev.chunks });
                await spool.add({ p: '/' + p, s: prev.size });
                files++;
                bytes += prev.size;
                reused.files++;
                reused.bytes += prev.size;
                info.onFile?.(p, prev.size);
                break;
              }
              const stored = await this.saveStream(body);
              if (stored.size !== entry.size) {
                throw new Error(`file ${p} should have ${entry.size} bytes but the stream carried ${stored.size}`);
              }
              await builder.add(p, { type: 'file', ...meta, size: stored.size, chunks: stored.chunks });
              await spool.add({ p: '/' + p, s: stored.size });
              files++;
              bytes += stored.size;
              info.onFile?.(p, stored.size);
              break;
            }
            case 'symlink':
              await builder.add(p, { type: 'symlink', ...meta, size: 0, target: entry.linkTarget ?? '' });
              await spool.add({ p: '/' + p, s: 0, t: 'l' });
              break;
            case 'hardlink': {
              const target = normaliseTarPath(entry.linkTarget ?? '');
              if (!target) {
                this.warn(`volume ${label}: skipped hard link "${p}": its target "${entry.linkTarget}" is outside the volume`);
                break;
              }
              await builder.add(p, { type: 'hardlink', ...meta, size: 0, target });
              await spool.add({ p: '/' + p, s: 0, t: 'h' });
              break;
            }
            default:
              this.warn(`volume ${label}: skipped "${p}": tar entry type "${entry.typeflag}" (device, fifo or socket) is not captured`);
          }
        }
        // Only a live volume changes under the read: a directory removed after the listing takes its files with it.
        for (const [dir, names] of vouched) this.warn(`volume ${label}: directory "${dir || '.'}" vanished while the volume was read; its ${names.length} unchanged files are not in the snapshot`);
        const { root, meta } = await builder.finish();
        const fileList = await spool.store(this.repo);
        const volume: VolumeRoot & { fileList: string[] } = {
          ...name,
          storageClass: info.storageClass,
          capacity: info.capacity,
          tree: root,
          root: meta,
          files,
          bytes,
          fileList: fileList.chunks,
        };
        if (parent) volume.parent = { snapshot: parent.snapshot, files: reused.files, bytes: reused.bytes };
        this.volumes.push(volume);
        this.files += files;
        this.bytes += bytes;
        return { files, bytes, reused };
      } catch (err) {
        tar.destroy();
        const message = `volume ${label}: ${(err as Error).message}`;
        this.failure ??= message;
        const wrapped = new Error(`${message}; the snapshot will not be committed`);
        (wrapped as Error & { cause?: unknown }).cause = err;
        throw wrapped;
      } finally {
        await spool.discard();
      }
    });
  }

  /** The parent snapshot's tree of this volume; an error when the parent lacks the volume, so a wrong id is noticed. */
  private async parentTree(id: string, name: { namespace: string; pvc: string }): Promise<ParentTree> {
    const manifest = await readManifest(this.repo, await resolveSnapshotId(this.repo, id));
    const root = manifest.volumes.find((v) => v.namespace === name.namespace && v.pvc === name.pvc);
    if (!root) throw new Error(`parent snapshot ${id.slice(0, 12)} has no volume ${name.namespace}/${name.pvc}`);
    return new ParentTree(this.repo, manifest.id, root.tree, (message) => this.warn(`volume ${name.namespace}/${name.pvc}: ${message}`));
  }

  async addData(name: string, content: Readable, info?: Record<string, unknown>): Promise<{ bytes: number }> {
    return this.track(async () => {
      if (this.data.some((d) => d.name === name)) throw new Error(`data "${name}" was already added to this snapshot`);
      let stored: { chunks: string[]; size: number };
      try {
        stored = await this.saveStream(content);
      } catch (err) {
        this.failure ??= `data ${name}: ${(err as Error).message}`;
        throw err;
      }
      const root: DataRoot = { name, chunks: stored.chunks, bytes: stored.size };
      if (info) root.info = info;
      this.data.push(root);
      this.bytes += stored.size;
      return { bytes: stored.size };
    });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** Flushes packs and index, writes the catalog, then the manifest; releases the lock. */
  async commit(): Promise<SnapshotSummary> {
    this.ensureOpen();
    if (this.active > 0) throw new Error('cannot commit while resources, volumes or data are still being added');
    if (this.failure) {
      await this.abort();
      throw new Error(`snapshot not committed: ${this.failure}`);
    }
    this.state = 'committed';
    try {
      if (this.lock.refreshError) {
        throw new Error(`the repository lock could not be kept fresh (${this.lock.refreshError.message}); snapshot not committed`);
      }
      await this.repo.flush();
      const resources = [...this.resources.values()];
      await this.repo.writeFile(
        'catalogs',
        this.id,
        encodeCatalog({
          version: CATALOG_VERSION,
          snapshot: this.id,
          resources,
          volumes: this.volumes.map((v) => ({
            namespace: v.namespace,
            pvc: v.pvc,
            storageClass: v.storageClass,
            capacity: v.capacity,
            files: v.files,
            bytes: v.bytes,
            fileList: v.fileList,
          })),
          data: this.data.map((d) => ({ name: d.name, bytes: d.bytes, info: d.info })),
        }),
      );
      const manifest: SnapshotManifest = {
        version: MANIFEST_VERSION,
        id: this.id,
        time: new Date(this.started).toISOString(),
        cluster: this.meta.cluster,
        scope: this.meta.scope ?? {},
        tags: this.meta.tags ?? [],
        host: this.meta.host ?? os.hostname(),
        user: this.meta.user ?? currentUser(),
        toolVersion: this.meta.toolVersion ?? packageVersion,
        counts: { resources: resources.length, volumes: this.volumes.length, files: this.files, data: this.data.length },
        sizes: { bytes: this.bytes, added: this.added },
        durationMs: Date.now() - this.started,
        warnings: this.warnings,
        catalog: this.id,
        volumes: this.volumes.map(({ fileList: _fileList, ...v }) => v),
        data: this.data,
      };
      await this.repo.writeFile('snapshots', this.id, encodeManifest(manifest));
      return summaryOf(manifest);
    } catch (err) {
      this.state = 'aborted';
      throw err;
    } finally {
      await this.cleanup();
    }
  }

  /** Gives up: no manifest is written; blobs already stored stay unreferenced until prune. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.cleanup();
  }

  private async cleanup(): Promise<void> {
    try {
      await this.lock.release();
    } finally {
      if (this.spoolDir) await fs.promises.rm(this.spoolDir, { recursive: true, force: true });
    }
  }
}

function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

const SPOOL_PREFIX = 'lifeboat-catalog-';

/**
 * Removes catalog spool folders of writers on this machine that died before
 * they could clean up (their pid is in the name and no longer runs).
 */
export async function sweepDeadSpools(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = /^lifeboat-catalog-(\d+)-/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
