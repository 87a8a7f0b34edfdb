import type { TreeEntry } from '../repo/tree';

/**
 * Incremental reads: before a volume with a parent snapshot is archived,
 * the mover lists its regular files with their attributes; the files whose
 * attributes match the parent's entries exactly are left out of the tar
 * stream (its `-X` exclude list), and the snapshot takes their content
 * from the parent. Anything the listing cannot say for certain keeps a file
 * in the archive: the full read is always the safe answer.
 */

/** Where the mover mounts the volume; the listing names files below it. */
export const LISTING_ROOT = '/data';

/**
 * The listing, in two steps that GNU and busybox tools both run: the names
 * (NUL-separated, so any byte is unambiguous), then `stat` of those names
 * in the same order, one line each. The stat lines carry no names, so an
 * odd file name cannot forge a line. Only files with one link are listed:
 * tar archives the later names of a hard-linked file as links to the first,
 * which must therefore stay in the archive.
 */
export const LIST_NAMES_COMMAND = ['find', LISTING_ROOT, '-type', 'f', '-links', '1', '-print0'];
/** Size, mtime (whole seconds), raw mode (hex), uid, gid, link count, user and group names. */
export const STAT_FORMAT = '%s %Y %f %u %g %h %U %G';
export const LIST_STATS_COMMAND = ['xargs', '-0', '-r', 'stat', '-c', STAT_FORMAT];

export interface ListedFile {
  /** Volume path as the archive reader normalises it ("a/b"). */
  path: string;
  size: number;
  /** Seconds since the epoch, as tar records it. */
  mtime: number;
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** The owner's names as stat prints them ("UNKNOWN" where the mover has none). */
  user: string;
  group: string;
}

export interface Listing {
  files: ListedFile[];
  /** Names passed over: not valid UTF-8, or not safe as an exclude pattern. They are read again. */
  skipped: number;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/**
 * Whether a volume path can stand in tar's exclude list for itself alone.
 * Exclude lines are globs (GNU tar and busybox alike), are split at
 * newlines, and GNU tar trims trailing white space from them: such a name
 * could exclude a different file, so it is never left out.
 */
export function safeToExclude(p: string): boolean {
  if (p === '' || /[*?[\\]/.test(p)) return false;
  // Control characters (newline, tab, carriage return...) and DEL.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p)) return false;
  return !/\s$/.test(p) && !/^\s/.test(p);
}

/** Splits the NUL-separated names of LIST_NAMES_COMMAND; undefined when the output is not such a list. */
export function parseNames(out: Buffer): Buffer[] | undefined {
  if (out.length === 0) return [];
  if (out[out.length - 1] !== 0) return undefined;
  const names: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== 0) continue;
    names.push(out.subarray(start, i));
    start = i + 1;
  }
  return names;
}

function volumePath(raw: Buffer): string | undefined {
  const text = raw.toString('utf8');
  // Invalid UTF-8 would not round-trip to the same bytes, nor match the parent tree's names.
  if (!Buffer.from(text, 'utf8').equals(raw)) return undefined;
  const prefix = LISTING_ROOT + '/';
  if (!text.startsWith(prefix)) return undefined;
  const rest = text.slice(prefix.length);
  const segs = rest.split('/');
  if (segs.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return rest;
}

const STAT_LINE = /^(\d+) (-?\d+) ([0-9a-fA-F]+) (\d+) (\d+) (\d+) (\S+) (\S+)$/;

/**
 * Pairs the names with the stat lines printed for them, in order. The whole
 * listing is refused (undefined, with a reason) when the counts differ: a
 * file vanished or stat could not read it, and no line can be trusted to
 * belong to its name. A file no longer regular, hard-linked, or with an odd
 * name is passed over.
 */
export function parseListing(names: Buffer, stats: string): { listing: Listing } | { error: string } {
  const raw = parseNames(names);
  if (!raw) return { error: 'the file names were not a NUL-separated list' };
  const lines = stats === '' ? [] : stats.replace(/\n$/, '').split('\n');
  if (lines.length !== raw.length) return { error: `stat printed ${lines.length} lines for ${raw.length} files` };
  const files: ListedFile[] = [];
  let skipped = 0;
  for (let i = 0; i < raw.length; i++) {
    const m = STAT_LINE.exec(lines[i]);
    if (!m) return { error: `stat line ${i + 1} is not in the expected format` };
    const p = volumePath(raw[i]);
    const rawMode = parseInt(m[3], 16);
    if (p === undefined || !safeToExclude(p) || (rawMode & S_IFMT) !== S_IFREG || m[6] !== '1') {
      skipped++;
      continue;
    }
    const nums = [m[1], m[2], m[4], m[5]].map(Number);
    if (!nums.every(Number.isSafeInteger)) {
      skipped++;
      continue;
    }
    files.push({ path: p, size: nums[0], mtime: nums[1], mode: rawMode & 0o7777, uid: nums[2], gid: nums[3], user: m[7], group: m[8] });
  }
  return { listing: { files, skipped } };
}

/** The ISO time the snapshot writer records for a whole-second tar mtime. */
function isoSeconds(seconds: number): string | undefined {
  const ms = seconds * 1000;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

/**
 * Whether the owner name tar would record matches the parent's. Where the
 * mover has no name for an id, stat prints "UNKNOWN" and tar records none
 * (GNU) or the number itself (busybox).
 */
function sameName(recorded: string | undefined, listed: string, id: number): boolean {
  if (listed === 'UNKNOWN') return recorded === undefined || recorded === String(id);
  return recorded === listed;
}

/**
 * Whether a listed file is what the parent stored, attribute for attribute
 * as the archive would record it: then a full read would store the same
 * entry. The parent's mtime must be whole seconds equal to the listing's
 * (a parent read from an archive with sub-second times cannot be compared
 * with stat's seconds, so its files count as changed).
 */
export function sameAsParent(file: ListedFile, prev: TreeEntry | undefined, hasBlob: (id: string) => boolean): boolean {
  return (
    prev !== undefined &&
    prev.type === 'file' &&
    Array.isArray(prev.chunks) &&
    prev.size === file.size &&
    prev.mtime === isoSeconds(file.mtime) &&
    prev.mode === file.mode &&
    prev.uid === file.uid &&
    prev.gid === file.gid &&
    sameName(prev.user, file.user, file.uid) &&
    sameName(prev.group, file.group, file.gid) &&
    prev.chunks.every(hasBlob)
  );
}

/**
 * The listed files the parent already holds, by volume path. `lookup` is
 * asked in listing order (find's depth-first order), which keeps a parent
 * tree reader on one path of directories at a time.
 */
export async function unchangedFiles(
  listing: Listing,
  lookup: (path: string) => Promise<TreeEntry | undefined>,
  hasBlob: (id: string) => boolean,
): Promise<{ paths: Set<string>; bytes: number }> {
  const paths = new Set<string>();
  let bytes = 0;
  for (const f of listing.files) {
    if (sameAsParent(f, await lookup(f.path), hasBlob)) {
      paths.add(f.path);
      bytes += f.size;
    }
  }
  return { paths, bytes };
}

/** Tar's exclude list for the unchanged files: one "./a/b" line each, as tar names members under `-C /data .`. */
export function excludeList(paths: Iterable<string>): Buffer {
  const lines: string[] = [];
  for (const p of paths) {
    if (!safeToExclude(p)) throw new Error(`"${p}" cannot be written as an exclude pattern`);
    lines.push(`./${p}\n`);
  }
  return Buffer.from(lines.join(''), 'utf8');
}
