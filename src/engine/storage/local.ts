import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream, type Dirent } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  AlreadyExistsError,
  NotFoundError,
  OutOfRangeError,
  type ByteRange,
  type DeleteOptions,
  type ObjectInfo,
  type PutOptions,
  type StorageBackend,
  type UnfinishedSweep,
} from './backend';
import { checkKey, checkPrefix, checkRange, TEMP_PREFIX } from './keys';

/**
 * A repository in a local directory. Each key is a file under the root.
 *
 * Durability and write-once come from the file system itself: the body goes
 * to a temp file in the target directory, is fsynced, then hard-linked to its
 * final name. link(2) fails with EEXIST instead of replacing, so of two
 * writers racing for one key exactly one wins and the other's bytes never
 * become visible; the directory is fsynced so the new name survives a power
 * loss. A crash leaves only `.tmp-*` files, which are never listed and are
 * removed by `cleanupTemp`.
 */
export class LocalBackend implements StorageBackend {
  readonly root: string;
  readonly location: string;

  constructor(dir: string) {
    if (!dir) throw new Error('local repository path is empty: give a directory path');
    this.root = path.resolve(dir);
    this.location = this.root;
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<void> {
    checkKey(key);
    const ifAbsent = options.ifAbsent ?? true;
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    await this.ensureDir(dir);

    const temp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let published = false;
    try {
      await writeDurably(temp, body, options.length, () => `${this.location}: "${key}"`);
      if (ifAbsent) {
        try {
          await fs.link(temp, target);
        } catch (err) {
          if (code(err) === 'EEXIST') throw new AlreadyExistsError(key, this.location);
          throw err;
        }
        published = true;
        await fs.unlink(temp);
      } else {
        await fs.rename(temp, target);
        published = true;
      }
      await fsyncDir(dir);
    } finally {
      if (!published || ifAbsent) await fs.rm(temp, { force: true }).catch(() => undefined);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    checkKey(key);
    const handle = await this.open(key);
    try {
      const size = (await handle.stat()).size;
      const offset = range?.offset ?? 0;
      const length = range ? range.length : size;
      if (range) {
        checkRange(range.offset, range.length);
        if (offset + length > size) throw new OutOfRangeError(key, this.location, offset, length, size);
      }
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new OutOfRangeError(key, this.location, offset, length, offset + done);
        done += bytesRead;
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    checkKey(key);
    const handle = await this.open(key);
    try {
      const size = (await handle.stat()).size;
      if (range) {
        checkRange(range.offset, range.length);
        if (range.offset + range.length > size) {
          throw new OutOfRangeError(key, this.location, range.offset, range.length, size);
        }
      }
      const start = range?.offset ?? 0;
      const length = range ? range.length : size;
      if (length === 0) {
        await handle.close();
        return Readable.from([]);
      }
      // The stream owns the already-open handle: a concurrent delete cannot
      // make a stream that was handed out fail with ENOENT.
      return createReadStream('', { fd: handle, start, end: start + length - 1, autoClose: true });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    // Only the directory the prefix names (up to its last "/") can hold matches.
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const baseDir = baseKey ? this.pathOf(baseKey) : this.root;
    for await (const file of walk(baseDir)) {
      if (path.basename(file.path).startsWith(TEMP_PREFIX)) continue;
      const key = path.relative(this.root, file.path).split(path.sep).join('/');
      if (!key.startsWith(prefix)) continue;
      yield { key, size: file.size };
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    checkKey(key);
    try {
      const st = await fs.stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** A local directory has no retention, so DeleteOptions.retained never applies. */
  async delete(key: string, _options?: DeleteOptions): Promise<void> {
    checkKey(key);
    try {
      await fs.unlink(this.pathOf(key));
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
  }

  /**
   * Removes unfinished writes older than `olderThanMs` (by modification
   * time). A writer that is still running keeps touching its temp file, so
   * an age well above the longest single put never removes live work.
   * Returns how many files were removed.
   */
  async cleanupTemp(olderThanMs: number): Promise<number> {
    return (await this.sweepUnfinished(olderThanMs)).removed;
  }

  async sweepUnfinished(olderThanMs: number): Promise<UnfinishedSweep> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    let bytes = 0;
    for await (const file of walk(this.root)) {
      if (!path.basename(file.path).startsWith(TEMP_PREFIX)) continue;
      if (file.mtimeMs > cutoff) continue;
      await fs.rm(file.path, { force: true });
      removed++;
      bytes += file.size;
    }
    return { removed, bytes };
  }

  async close(): Promise<void> {
    // No pooled handles: every operation closes what it opens.
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private async open(key: string): Promise<fs.FileHandle> {
    try {
      const handle = await fs.open(this.pathOf(key), fsConstants.O_RDONLY);
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw new NotFoundError(key, this.location);
      }
      return handle;
    } catch (err) {
      if (isMissing(err) || code(err) === 'EISDIR') throw new NotFoundError(key, this.location);
      throw err;
    }
  }

  /** Creates the directory chain and makes each new entry durable in its parent. */
  private async ensureDir(dir: string): Promise<void> {
    const first = await fs.mkdir(dir, { recursive: true });
    if (!first) return;
    let current = dir;
    const created: string[] = [];
    while (current.length >= first.length) {
      created.push(current);
      if (current === first) break;
      current = path.dirname(current);
    }
    for (const d of created) await fsyncDir(path.dirname(d));
  }
}

async function writeDurably(
  file: string,
  body: Buffer | Readable,
  expectedLength: number | undefined,
  what: () => string,
): Promise<void> {
  const handle = await fs.open(file, 'wx', 0o644);
  try {
    let written = 0;
    if (Buffer.isBuffer(body)) {
      while (written < body.length) {
        const { bytesWritten } = await handle.write(body, written, body.length - written);
        written += bytesWritten;
      }
    } else {
      // Awaiting each write before pulling the next chunk is the backpressure
      // that keeps memory flat whatever the object's size.
      for await (const chunk of body) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await handle.write(buf, off, buf.length - off);
          off += bytesWritten;
        }
        written += buf.length;
      }
    }
    if (expectedLength !== undefined && written !== expectedLength) {
      throw new Error(`${what()}: body had ${written} bytes but ${expectedLength} were announced; nothing was written`);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch (err) {
    // Some platforms (Windows, some network file systems) cannot fsync a
    // directory; the rename/link itself is then the best there is.
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EACCES', 'ENOTSUP'].includes(code(err) ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}

interface WalkedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Files under dir, depth first; a missing dir (or one removed meanwhile) yields nothing. */
async function* walk(dir: string): AsyncGenerator<WalkedFile> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* walk(full);
    } else if (entry.isFile()) {
      try {
        const st = await fs.stat(full);
        yield { path: full, size: st.size, mtimeMs: st.mtimeMs };
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function isMissing(err: unknown): boolean {
  const c = code(err);
  return c === 'ENOENT' || c === 'ENOTDIR';
}
