import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Repository } from './repository';
import { readManifest, resolveSnapshotId, SnapshotNotFoundError, treeLoader, type VolumeRef } from './snapshotReader';
import { lookupPath, volumePathSegments, walkTree, type TreeEntry } from './tree';

/**
 * Restores a volume (or a directory or file in it) from a snapshot into a
 * local directory. Nothing is ever written outside the target: names are
 * checked, existing symlinks are never followed, symlinks from the snapshot
 * are created last and only when they point inside the target, and hard
 * links only join files restored in the same run.
 */

export interface LocalRestoreResult {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  bytes: number;
  /** Entries not restored, with why. */
  skipped: Array<{ path: string; reason: string }>;
}

function validName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

/** Ensures a directory exists at p and is a real directory (not a symlink planted there). */
async function ensureDir(p: string, mode: number): Promise<void> {
  try {
    await fs.promises.mkdir(p, { mode: mode | 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await fs.promises.lstat(p);
  if (!st.isDirectory()) throw new Error(`${p} exists and is not a directory (refusing to write through it)`);
}

async function applyMeta(p: string, e: Pick<TreeEntry, 'mode' | 'uid' | 'gid' | 'mtime'>, isRoot: boolean): Promise<void> {
  if (isRoot) {
    await fs.promises.chown(p, e.uid, e.gid).catch(() => undefined);
  }
  await fs.promises.chmod(p, e.mode & 0o7777);
  const t = new Date(e.mtime);
  await fs.promises.utimes(p, t, t);
}

export async function restoreToDirectory(
  repo: Repository,
  snapshotId: string,
  volume: VolumeRef,
  target: string,
  options: { subPath?: string; onFile?: (path: string, bytes: number) => void } = {},
): Promise<LocalRestoreResult> {
  const manifest = await readManifest(repo, await resolveSnapshotId(repo, snapshotId));
  const root = manifest.volumes.find((v) => v.namespace === volume.namespace && v.pvc === volume.pvc);
  if (!root) throw new SnapshotNotFoundError(`snapshot ${manifest.id.slice(0, 12)} has no volume ${volume.namespace}/${volume.pvc}`);
  const loader = treeLoader(repo);
  const base = volumePathSegments(options.subPath ?? '/');
  const top = await lookupPath(loader, root.tree, root.root, base);
  if (!top) throw new SnapshotNotFoundError(`volume ${volume.namespace}/${volume.pvc} has no /${base.join('/')}`);

  const targetDir = path.resolve(target);
  await fs.promises.mkdir(targetDir, { recursive: true });
  const realTarget = await fs.promises.realpath(targetDir);
  const isRoot = process.getuid?.() === 0;
  const result: LocalRestoreResult = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, bytes: 0, skipped: [] };
  const prefix = base.join('/');
  /** Volume path of a restored file → its local path, for hard links. */
  const restored = new Map<string, string>();
  const deferredLinks: Array<{ rel: string; entry: TreeEntry }> = [];
  const dirMeta: Array<{ local: string; entry: TreeEntry }> = [];

  const writeFile = async (local: string, e: TreeEntry, rel: string): Promise<void> => {
    // O_NOFOLLOW: an existing symlink at this name must not redirect the write.
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
    const handle = await fs.promises.open(local, flags, 0o600);
    try {
      for await (const chunk of repo.loadStream(e.chunks ?? [])) {
        const b = chunk as Buffer;
        let at = 0;
        while (at < b.length) at += (await handle.write(b, at, b.length - at)).bytesWritten;
      }
    } finally {
      await handle.close();
    }
    const st = await fs.promises.lstat(local);
    if (st.size !== e.size) throw new Error(`/${rel}: wrote ${st.size} bytes, the snapshot says ${e.size}: the repository may be damaged`);
    await applyMeta(local, e, isRoot);
    result.files++;
    result.bytes += e.size;
    options.onFile?.('/' + rel, e.size);
  };

  const handle = async (rel: string, e: TreeEntry): Promise<void> => {
    const segs = rel.split('/');
    if (!segs.every(validName)) {
      result.skipped.push({ path: '/' + rel, reason: 'unsafe name' });
      return;
    }
    const local = path.join(targetDir, ...segs);
    const volPath = prefix ? `${prefix}/${rel}` : rel;
    switch (e.type) {
      case 'dir':
        await ensureDir(local, e.mode);
        dirMeta.push({ local, entry: e });
        result.dirs++;
        break;
      case 'file':
        await writeFile(local, e, rel);
        restored.set(volPath, local);
        break;
      case 'symlink':
      case 'hardlink':
        deferredLinks.push({ rel, entry: e });
        break;
    }
  };

  if (top.type === 'dir' && top.subtree) {
    for await (const { path: rel, entry } of walkTree(loader, top.subtree)) {
      // Each parent was created by the walk before its children; check it is still ours.
      await handle(rel, entry);
    }
  } else {
    const name = base[base.length - 1];
    if (!name) throw new Error('nothing to restore');
    await handle(name, top);
  }

  for (const { rel, entry } of deferredLinks) {
    const local = path.join(targetDir, ...rel.split('/'));
    if (entry.type === 'hardlink') {
      const target = entry.target ?? '';
      const source = restored.get(target);
      if (source) {
        await fs.promises.rm(local, { force: true });
        await fs.promises.link(source, local);
        result.hardlinks++;
        continue;
      }
      // Its partner lies outside what is restored: this name gets the content itself.
      const content = await lookupPath(loader, root.tree, root.root, volumePathSegments(target));
      if (content?.type !== 'file') {
        result.skipped.push({ path: '/' + rel, reason: `hard link to /${target}, which is not a file in the snapshot` });
        continue;
      }
      await writeFile(local, content, rel);
      restored.set(target, local);
      continue;
    }
    const linkTarget = entry.target ?? '';
    const resolved = path.resolve(path.dirname(path.join(realTarget, ...rel.split('/'))), linkTarget);
    if (path.isAbsolute(linkTarget) || (resolved !== realTarget && !resolved.startsWith(realTarget + path.sep))) {
      result.skipped.push({ path: '/' + rel, reason: `symbolic link to "${linkTarget}" points outside the restore directory` });
      continue;
    }
    await fs.promises.rm(local, { force: true });
    await fs.promises.symlink(linkTarget, local);
    result.symlinks++;
  }

  // Directory times last: writing their contents changed them.
  for (const { local, entry } of dirMeta.reverse()) await applyMeta(local, entry, isRoot);
  if (top.type === 'dir') await applyMeta(targetDir, top, isRoot).catch(() => undefined);
  return result;
}
