import type { Readable } from 'node:stream';
import type { Repository, VolumeRef } from '../repo/api';
import { volumeTarStream, type VolumeTarOptions } from '../repo/snapshotReader';
import type { TreeEntry } from '../repo/tree';

/**
 * The archive a restore streams into a mover's `tar -x`. The mover runs on
 * the target cluster with the volume mounted read-write, so whatever the
 * archive names is written there: a snapshot whose trees were tampered with
 * (or damaged) must not get a name like "../x" or "a/b" through, nor two
 * entries of one name in a directory (a symlink "a" then a directory "a"
 * with files under it would write through the link). Every directory's
 * listing is checked when it is read, before any of its entries goes into
 * the archive; the first bad entry stops the stream with
 * UnsafeSnapshotEntryError, so nothing from it onwards reaches the mover.
 *
 * What is not checked, on purpose: where a symlink points. A symlink is data
 * (it may point anywhere, as it did in the volume); tar creates it as a
 * link, and since no later entry can have a path through it (names are
 * single components and unique per directory), nothing is written through it.
 * Hard links in the archive always name an entry written earlier in the same
 * archive (a link whose partner is outside the restored subtree, or later in
 * it, carries the content itself; see volumeTarStream).
 */

/** A snapshot entry that a restore refuses to write: the snapshot is damaged or was tampered with. */
export class UnsafeSnapshotEntryError extends Error {
  constructor(
    /** The entry's volume path, with a leading "/" (names shown as JSON strings when they hold odd characters). */
    readonly entry: string,
    readonly problem: string,
    volume?: VolumeRef,
  ) {
    super(
      `snapshot entry ${entry}${volume ? ` of volume ${volume.namespace}/${volume.pvc}` : ''} ${problem}: ` +
        'the snapshot is damaged or hostile; the restore stopped before writing it and nothing more was written',
    );
    this.name = 'UnsafeSnapshotEntryError';
  }
}

const TYPES: ReadonlySet<string> = new Set(['file', 'dir', 'symlink', 'hardlink']);

/** Whether a name can be one path component on the target: not empty, ".", "..", and without "/" or NUL. */
export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

function shown(dir: string, name: unknown): string {
  const plain = typeof name === 'string' && /^[\x21-\x7e]+$/.test(name) && isSafeName(name);
  const n = plain ? (name as string) : JSON.stringify(name);
  return `/${dir ? `${dir}/` : ''}${n}`;
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The problem with one entry of a directory listing, or undefined. */
function problemOf(e: TreeEntry, seen: Set<string>): string | undefined {
  if (!isSafeName(e.name)) return 'has a name that is not a single path component ("", ".", "..", or holding "/" or NUL)';
  if (seen.has(e.name)) return 'appears twice in its directory';
  if (!TYPES.has(e.type)) return `has an unknown type ${JSON.stringify(e.type)}`;
  if (!isCount(e.mode) || !isCount(e.uid) || !isCount(e.gid) || !isCount(e.size)) return 'has a mode, owner or size that is not a non-negative whole number';
  if (e.type === 'symlink' && (typeof e.target !== 'string' || e.target.includes('\0'))) return 'is a symbolic link without a usable target';
  if (e.type === 'hardlink') {
    const segs = typeof e.target === 'string' ? e.target.split('/') : [];
    if (segs.length === 0 || !segs.every(isSafeName)) return `is a hard link to ${JSON.stringify(e.target)}, which is not a path inside the volume`;
  }
  if (e.type === 'dir' && typeof e.subtree !== 'string') return 'is a directory without a listing';
  return undefined;
}

/** Throws UnsafeSnapshotEntryError for the first entry of a directory listing that must not be written. */
export function checkDirectory(entries: TreeEntry[], dir: string, volume?: VolumeRef): void {
  const seen = new Set<string>();
  for (const e of entries) {
    const problem = problemOf(e, seen);
    if (problem) throw new UnsafeSnapshotEntryError(shown(dir, e?.name), problem, volume);
    seen.add(e.name);
  }
}

/**
 * volumeTarStream with every directory checked before its entries are
 * emitted (see above). The stream fails with UnsafeSnapshotEntryError at
 * the first unsafe entry. It ends padded to a whole 10240-byte record.
 */
export function safeVolumeTarStream(
  repo: Repository,
  snapshotId: string,
  volume: VolumeRef,
  subPath?: string,
  options: Omit<VolumeTarOptions, 'checkDir'> = {},
): Readable {
  return volumeTarStream(repo, snapshotId, volume, subPath, { ...options, checkDir: (entries, dir) => checkDirectory(entries, dir, volume) });
}
