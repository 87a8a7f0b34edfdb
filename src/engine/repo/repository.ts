import { Readable } from 'node:stream';
import { AlreadyExistsError, NotFoundError, type StorageBackend } from '../storage/backend';
import { BlobWorkerPool, blobCodec } from './blobWorkers';
import { Chunker, checkChunkerParams, DEFAULT_CHUNKER, type ChunkerParams } from './chunker';
import { encodeConfig, openConfig, parseConfig, type PrivateConfig } from './config';
import { randomHexId, randomMasterKeys, sha256, type MasterKeys } from './crypto';
import {
  BlobDamagedError,
  BlobNotFoundError,
  checkFileName,
  decodeFile,
  encodeFile,
  FormatError,
  HEX_ID_RE,
  KEYS,
  kindCode,
  NotARepositoryError,
  packClassOf,
  packKey,
  WrongPassphraseError,
  type BlobKind,
  type FileType,
  type PackClass,
} from './format';
import { randomGear } from './gear';
import { decodeIndex, encodeIndex, MasterIndex, type BlobLocation, type IndexedPack } from './index';
import { createKeyFile, DEFAULT_KDF, keyFileInfo, parseKeyFile, unlockKeyFile, type KdfParams } from './keys';
import { parseFooter, parseHeader, readPackHeader, type PackEntry } from './pack';
import { DEFAULT_PACK_SIZE, Packer, type FinishedPack } from './packer';

export {
  BlobDamagedError,
  BlobNotFoundError,
  FormatError,
  NotARepositoryError,
  UnsupportedFormatError,
  WrongPassphraseError,
  type BlobKind,
} from './format';
export type { ChunkerParams } from './chunker';
export type { KdfParams } from './keys';

export interface InitOptions {
  passphrase?: string;
  insecureNoEncryption?: boolean;
  chunker?: ChunkerParams;
  /** scrypt cost of the first key file (default N=2^16, r=8, p=1). */
  kdf?: KdfParams;
  /** Target pack size in bytes (default 16 MiB). */
  packSize?: number;
  /** Worker threads for hashing, compression and encryption (default: one per core). */
  workers?: number;
}

export interface OpenOptions {
  passphrase?: string;
  /** Worker threads for hashing, compression and encryption (default: one per core). */
  workers?: number;
}

export interface IndexedBlob {
  id: string;
  kind: BlobKind;
  pack: string;
  offset: number;
  length: number;
  rawLength: number;
}

export interface SavedStream {
  /** Data blob ids in stream order. */
  chunks: string[];
  /** Bytes read from the stream. */
  size: number;
  /** Chunks (and their plaintext bytes) this call stored; the rest were already in the repository. */
  addedChunks: number;
  addedBytes: number;
}

export interface CheckError {
  kind: 'missing-pack' | 'index-mismatch' | 'blob-damaged' | 'unindexed-pack' | 'format';
  blobId?: string;
  pack?: string;
  message: string;
}

export interface RewriteResult {
  packsDeleted: number;
  packsRepacked: number;
  blobsRemoved: number;
  bytesFreed: number;
  dryRun: boolean;
}

/** Blobs smaller than this are handled inline: a thread hop costs more than the work. */
const WORKER_MIN = 64 * 1024;
/** Packs uploading at once; more would only hold more memory. */
const MAX_UPLOADS = 2;
/** Write an index file after this many packs so a crash mid-capture loses little. */
const PACKS_PER_INDEX_WRITE = 64;
/** Packs per index file when the whole index is rewritten (prune, rebuild). */
const PACKS_PER_INDEX_FILE = 4096;
/** Chunks loadStream reads ahead. */
const PREFETCH = 4;

interface PendingBlob {
  kind: BlobKind;
  envelope: Buffer;
  rawLength: number;
}

type FileKind = FileType;

/**
 * A Lifeboat repository (docs/repository-format.md): deduplicated,
 * compressed, encrypted blobs in write-once packs, found through index files,
 * plus single encrypted files for snapshots, catalogs and locks.
 *
 * Writes are buffered: a blob is durable once `flush()` has returned (its pack
 * and an index file naming it are in the backend). Callers write their
 * snapshot only after flush, which keeps the write order of §11.
 */
export class Repository {
  readonly id: string;
  readonly encrypted: boolean;
  readonly formatVersion: number;

  private index = new MasterIndex();
  /** Index files this session has read or written: what a full rewrite supersedes. */
  private indexFiles = new Set<string>();
  /** Index files that did not decode at open (reported by check). */
  private readonly damagedIndexFiles: Array<{ name: string; message: string }> = [];
  private readonly pool: BlobWorkerPool;
  private readonly packers: Record<PackClass, Packer>;
  /** Sealed blobs not yet in an uploaded pack: findable by hasBlob and loadBlob. */
  private readonly pending = new Map<string, PendingBlob>();
  /** Blobs being hashed-and-sealed right now, so a second save of the same content waits instead of storing twice. */
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly uploads = new Set<Promise<void>>();
  /** Uploaded packs not yet named by an index file. */
  private unsaved: IndexedPack[] = [];
  private autoIndex = true;
  /** Chunks in the pipeline across all concurrent saveStream calls: memory does not grow with their number. */
  private readonly chunkSlots: Semaphore;
  private indexWrite: Promise<void> = Promise.resolve();
  /** The first failed upload: the session cannot guarantee durability after it. */
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    readonly backend: StorageBackend,
    private readonly keys: MasterKeys | null,
    private readonly cfg: PrivateConfig,
    id: string,
    formatVersion: number,
    private readonly keyId: string | undefined,
    workers?: number,
  ) {
    this.id = id;
    this.encrypted = keys !== null;
    this.formatVersion = formatVersion;
    this.pool = new BlobWorkerPool(keys, workers);
    this.chunkSlots = new Semaphore(this.pool.size * 4);
    this.packers = {
      metadata: new Packer('metadata', cfg.packSize, keys),
      data: new Packer('data', cfg.packSize, keys),
    };
  }

  // ── create and open ────────────────────────────────────────────────────

  static async init(backend: StorageBackend, options: InitOptions): Promise<Repository> {
    const encrypted = !options.insecureNoEncryption;
    if (encrypted && !options.passphrase) {
      throw new Error('a passphrase is required to create an encrypted repository (or choose insecureNoEncryption explicitly)');
    }
    const chunker = options.chunker ?? DEFAULT_CHUNKER;
    checkChunkerParams(chunker);
    const packSize = options.packSize ?? DEFAULT_PACK_SIZE;
    if (!Number.isInteger(packSize) || packSize < 1024 || packSize > 1024 * 1024 * 1024) {
      throw new Error(`pack size ${packSize} is out of range (1 KiB to 1 GiB)`);
    }
    if (await backend.stat(KEYS.config)) {
      throw new Error(`${backend.location} already holds a Lifeboat repository: open it instead of creating one`);
    }
    for (const prefix of [KEYS.keysPrefix, KEYS.dataPrefix, KEYS.indexPrefix, 'snapshots/']) {
      for await (const o of backend.list(prefix)) {
        throw new Error(`${backend.location} is not empty ("${o.key}" exists): create a repository in an empty location`);
      }
    }
    const keys = encrypted ? randomMasterKeys() : null;
    const id = randomHexId();
    let keyId: string | undefined;
    if (keys) {
      const kf = await createKeyFile(options.passphrase as string, keys, id, options.kdf ?? DEFAULT_KDF);
      await backend.put(`${KEYS.keysPrefix}${kf.id}`, kf.bytes, { ifAbsent: true });
      keyId = kf.id;
    }
    const priv: PrivateConfig = { chunker: { ...chunker }, gear: randomGear(), packSize };
    // config last: its presence is what makes the location a repository.
    const config = encodeConfig(keys, { id, created: new Date().toISOString(), encrypted }, priv);
    try {
      await backend.put(KEYS.config, config, { ifAbsent: true });
    } catch (err) {
      if (err instanceof AlreadyExistsError) {
        throw new Error(`${backend.location} was made a repository by someone else at the same moment: open it instead`);
      }
      throw err;
    }
    return new Repository(backend, keys, priv, id, 1, keyId, options.workers);
  }

  static async open(backend: StorageBackend, options: OpenOptions = {}): Promise<Repository> {
    let bytes: Buffer;
    try {
      bytes = await backend.get(KEYS.config);
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotARepositoryError(backend.location, 'it has no "config" object; create a repository there first');
      }
      throw err;
    }
    const parsed = parseConfig(bytes, backend.location);
    let keys: MasterKeys | null = null;
    let keyId: string | undefined;
    if (parsed.pub.encrypted) {
      if (!options.passphrase) throw new Error(`the repository at ${backend.location} is encrypted: give its passphrase`);
      const problems: string[] = [];
      let tried = 0;
      for await (const o of backend.list(KEYS.keysPrefix)) {
        const name = o.key.slice(KEYS.keysPrefix.length);
        if (!HEX_ID_RE.test(name)) continue;
        try {
          const json = parseKeyFile(await backend.get(o.key), name, parsed.pub.id);
          tried++;
          keys = await unlockKeyFile(json, options.passphrase);
        } catch (err) {
          problems.push((err as Error).message);
          continue;
        }
        if (keys) {
          keyId = name;
          break;
        }
      }
      if (!keys) {
        if (tried === 0) {
          throw new FormatError('key file', `${backend.location}/keys`, problems.length ? problems.join('; ') : 'the repository has no key files');
        }
        throw new WrongPassphraseError(backend.location);
      }
    }
    const priv = openConfig(parsed, keys, backend.location);
    const repo = new Repository(backend, keys, priv, parsed.pub.id, parsed.major, keyId, options.workers);
    await repo.loadIndex();
    return repo;
  }

  // ── blobs ──────────────────────────────────────────────────────────────

  blobId(plaintext: Buffer): string {
    return blobCodec.id(this.keys, plaintext);
  }

  hasBlob(id: string): boolean {
    return this.index.has(id) || this.pending.has(id) || this.inflight.has(id);
  }

  async saveBlob(kind: BlobKind, plaintext: Buffer): Promise<{ id: string; added: boolean }> {
    this.assertUsable();
    const code = kindCode(kind);
    let data = plaintext;
    let id: string;
    if (plaintext.length >= WORKER_MIN) {
      // The pool moves buffers between threads; the caller keeps its own.
      ({ id, data } = await this.pool.id(Buffer.from(plaintext)));
    } else {
      id = blobCodec.id(this.keys, plaintext);
    }
    const added = await this.store(kind, code, id, data);
    return { id, added };
  }

  async loadBlob(id: string): Promise<Buffer> {
    this.assertOpen();
    const waiting = this.inflight.get(id);
    if (waiting) await waiting;
    const p = this.pending.get(id);
    if (p) return this.openEnvelope(id, p.kind, p.envelope, p.rawLength, '(pack not yet written)');
    const locations = this.index.locations(id);
    if (locations.length === 0) throw new BlobNotFoundError(id);
    let firstError: unknown;
    // A blob stored twice (concurrent writers) is read from its other copy when one is damaged.
    for (const loc of locations) {
      try {
        return await this.loadFrom(id, loc);
      } catch (err) {
        if (!(err instanceof BlobDamagedError)) throw err;
        firstError ??= err;
      }
    }
    throw firstError;
  }

  private async loadFrom(id: string, loc: BlobLocation): Promise<Buffer> {
    let envelope: Buffer;
    try {
      envelope = await this.backend.get(packKey(loc.pack), { offset: loc.offset, length: loc.length });
    } catch (err) {
      if (err instanceof NotFoundError) throw new BlobDamagedError(id, loc.pack, 'its pack is missing from the backend');
      throw err;
    }
    if (envelope.length !== loc.length) {
      throw new BlobDamagedError(id, loc.pack, `pack is shorter than the index says (read ${envelope.length} of ${loc.length} bytes)`);
    }
    return this.openEnvelope(id, loc.kind, envelope, loc.rawLength, loc.pack);
  }

  /**
   * Splits a stream into content-defined data blobs and stores the new ones.
   * Hashing and sealing run on the worker pool while the main thread chunks
   * and uploads; at most a few chunks per worker are in flight, so memory
   * stays flat whatever the stream's size.
   */
  async saveStream(content: Readable): Promise<SavedStream> {
    this.assertUsable();
    const chunker = new Chunker(this.cfg.chunker, this.cfg.gear);
    const chunks: string[] = [];
    let size = 0;
    let addedChunks = 0;
    let addedBytes = 0;
    const window = new Set<Promise<void>>();
    const limit = this.pool.size * 3;
    let failed: Error | undefined;
    const submit = async (chunk: Buffer): Promise<void> => {
      const at = chunks.length;
      chunks.push('');
      const length = chunk.length;
      size += length;
      await this.chunkSlots.acquire();
      const job = this.storeChunk(chunk).finally(() => this.chunkSlots.release()).then(
        ({ id, added }) => {
          chunks[at] = id;
          if (added) {
            addedChunks++;
            addedBytes += length;
          }
        },
        (err: unknown) => {
          failed ??= err instanceof Error ? err : new Error(String(err));
        },
      );
      window.add(job);
      void job.finally(() => window.delete(job));
      while (window.size >= limit) await Promise.race(window);
    };
    try {
      for await (const piece of content) {
        if (failed) break;
        const buf = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
        for (const c of chunker.push(buf)) await submit(c);
      }
      const tail = chunker.end();
      if (tail && !failed) await submit(tail);
    } finally {
      await Promise.all(window);
    }
    if (failed) {
      content.destroy();
      throw failed;
    }
    return { chunks, size, addedChunks, addedBytes };
  }

  /** The content of a chunk list as a stream, reading a few chunks ahead. */
  loadStream(chunks: string[]): Readable {
    let next = 0;
    const queue: Array<Promise<Buffer>> = [];
    const fill = (): void => {
      while (queue.length < PREFETCH && next < chunks.length) {
        const p = this.loadBlob(chunks[next++]);
        p.catch(() => undefined);
        queue.push(p);
      }
    };
    return new Readable({
      highWaterMark: 0,
      read() {
        fill();
        const head = queue.shift();
        if (!head) {
          this.push(null);
          return;
        }
        head.then(
          (b) => {
            fill();
            this.push(b);
          },
          (err: Error) => this.destroy(err),
        );
      },
    });
  }

  /** Finishes open packs, waits for uploads, then names them in an index file (packs before index, §11). */
  async flush(): Promise<void> {
    this.assertOpen();
    await this.flushPacks();
    await this.writeUnsavedIndex();
  }

  // ── single files ───────────────────────────────────────────────────────

  async writeFile(type: FileKind, name: string, data: Buffer): Promise<void> {
    this.assertOpen();
    checkFileName(type, name);
    await this.backend.put(`${type}/${name}`, encodeFile(this.keys, type, name, data), { ifAbsent: true });
  }

  async readFile(type: FileKind, name: string): Promise<Buffer> {
    this.assertOpen();
    checkFileName(type, name);
    return decodeFile(this.keys, type, name, await this.backend.get(`${type}/${name}`));
  }

  async *listFiles(type: FileKind): AsyncIterable<string> {
    checkFileName(type, 'x');
    const prefix = `${type}/`;
    for await (const o of this.backend.list(prefix)) {
      const name = o.key.slice(prefix.length);
      if (/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(name)) yield name;
    }
  }

  async deleteFile(type: FileKind, name: string): Promise<void> {
    this.assertOpen();
    checkFileName(type, name);
    // Locks are short-lived by nature: in an object-lock bucket their retained
    // data is hidden behind a delete marker instead of blocking every release.
    await this.backend.delete(`${type}/${name}`, type === 'locks' ? { retained: 'hide' } : undefined);
  }

  // ── keys ───────────────────────────────────────────────────────────────

  async listKeys(): Promise<Array<{ id: string; created: string; host?: string; current: boolean }>> {
    const out: Array<{ id: string; created: string; host?: string; current: boolean }> = [];
    for await (const o of this.backend.list(KEYS.keysPrefix)) {
      const name = o.key.slice(KEYS.keysPrefix.length);
      if (!HEX_ID_RE.test(name)) continue;
      const info = keyFileInfo(parseKeyFile(await this.backend.get(o.key), name, this.id), name);
      out.push({ ...info, current: name === this.keyId });
    }
    return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  async addKey(newPassphrase: string, kdf: KdfParams = DEFAULT_KDF): Promise<{ id: string }> {
    this.assertOpen();
    if (!this.keys) throw new Error('the repository is not encrypted: it has no passphrases to add to');
    const kf = await createKeyFile(newPassphrase, this.keys, this.id, kdf);
    await this.backend.put(`${KEYS.keysPrefix}${kf.id}`, kf.bytes, { ifAbsent: true });
    return { id: kf.id };
  }

  /** Accepts a full key id or a unique prefix of it (as listKeys shows). */
  async removeKey(id: string): Promise<void> {
    this.assertOpen();
    const keys = await this.listKeys();
    const matches = keys.filter((k) => k.id === id || (id.length >= 4 && k.id.startsWith(id)));
    if (matches.length === 0) throw new Error(`no key "${id}" in the repository: see the list of keys`);
    if (matches.length > 1) throw new Error(`key id "${id}" is ambiguous: give more of it`);
    const k = matches[0];
    if (k.current) throw new Error(`key ${k.id} is the one this session opened the repository with: open with another passphrase to remove it`);
    if (keys.length <= 1) throw new Error('refusing to remove the last key: the repository would become unreadable');
    await this.backend.delete(`${KEYS.keysPrefix}${k.id}`);
  }

  // ── index ──────────────────────────────────────────────────────────────

  *indexedBlobs(): Iterable<IndexedBlob> {
    for (const [id, l] of this.index.entries()) yield { id, ...l };
  }

  /** Recreates the index from the pack headers alone and replaces every index file. */
  async rebuildIndex(): Promise<{ packs: number; blobs: number; unreadable: string[] }> {
    this.assertOpen();
    await this.flush();
    const oldIndexFiles = await this.listIndexFiles();
    const packs: IndexedPack[] = [];
    const unreadable: string[] = [];
    await forEachLimit(await this.listPacks(), 4, async ([pack, size]) => {
      try {
        packs.push({ pack, entries: await readPackHeader(this.backend, this.keys, pack, size) });
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        unreadable.push(pack);
      }
    });
    packs.sort((a, b) => a.pack.localeCompare(b.pack));
    const written = await this.writeIndexFiles(packs, oldIndexFiles);
    for (const name of oldIndexFiles) await this.backend.delete(`${KEYS.indexPrefix}${name}`);
    this.replaceIndex(packs, written);
    return { packs: packs.length, blobs: this.index.size, unreadable };
  }

  // ── prune mechanics ────────────────────────────────────────────────────

  /**
   * Keeps exactly the blobs in `keep`. The caller holds the exclusive lock.
   * Order (§11): copy kept blobs out of mostly-garbage packs into new packs,
   * write the new index superseding every old one, delete old index files,
   * then delete packs nothing indexes. A crash at any point leaves every kept
   * blob reachable.
   */
  async rewrite(keep: Set<string>, options: { dryRun?: boolean; repackBelowUsedFraction?: number } = {}): Promise<RewriteResult> {
    this.assertUsable();
    const dryRun = options.dryRun ?? false;
    const threshold = options.repackBelowUsedFraction ?? 0.5;
    await this.flush();
    const missing: string[] = [];
    for (const id of keep) if (!this.index.has(id)) missing.push(id);
    if (missing.length) {
      throw new Error(
        `${missing.length} blob(s) to keep are not in the index (first: ${missing[0]}); nothing was changed: ` +
          'run a check, and rebuild the index if packs hold them',
      );
    }
    const present = await this.listPacks();
    const byPack = this.index.byPack();
    for (const [pack, entries] of byPack) {
      if (!present.has(pack) && entries.some((e) => keep.has(e.id))) {
        throw new Error(`pack ${pack} holding blobs to keep is missing from the backend; nothing was changed: run a check`);
      }
    }
    const toDelete: string[] = [];
    const toRepack: string[] = [];
    let blobsRemoved = 0;
    let bytesFreed = 0;
    for (const [pack, size] of present) {
      const entries = byPack.get(pack) ?? [];
      const kept = entries.filter((e) => keep.has(e.id));
      blobsRemoved += entries.length - kept.length;
      if (kept.length === 0) {
        toDelete.push(pack);
        bytesFreed += size;
      } else if (kept.length < entries.length) {
        const used = kept.reduce((n, e) => n + e.length, 0);
        if (used / size < threshold) {
          toRepack.push(pack);
          bytesFreed += size - used;
        }
      }
    }
    if (dryRun) {
      return { packsDeleted: toDelete.length, packsRepacked: toRepack.length, blobsRemoved, bytesFreed, dryRun };
    }
    const oldIndexFiles = await this.listIndexFiles();
    this.autoIndex = false;
    let newPacks: IndexedPack[];
    try {
      for (const pack of toRepack) {
        const bytes = await this.backend.get(packKey(pack));
        for (const e of byPack.get(pack) ?? []) {
          if (!keep.has(e.id)) continue;
          const envelope = Buffer.from(bytes.subarray(e.offset, e.offset + e.length));
          // Copy only what still opens: never spread damage into new packs.
          await this.openEnvelope(e.id, e.kind, envelope, e.rawLength, pack);
          await this.addToPack(e.kind, e.id, envelope, e.rawLength);
        }
      }
      await this.flushPacks();
      newPacks = this.unsaved;
      this.unsaved = [];
    } finally {
      this.autoIndex = true;
    }
    const repacked = new Set(toRepack);
    const gone = new Set([...toDelete, ...toRepack]);
    const finalPacks: IndexedPack[] = [];
    for (const [pack, entries] of byPack) {
      if (gone.has(pack)) continue;
      const kept = entries.filter((e) => keep.has(e.id));
      if (kept.length) finalPacks.push({ pack, entries: kept });
    }
    finalPacks.push(...newPacks);
    const written = await this.writeIndexFiles(finalPacks, oldIndexFiles);
    for (const name of oldIndexFiles) await this.backend.delete(`${KEYS.indexPrefix}${name}`);
    for (const pack of gone) await this.backend.delete(packKey(pack));
    // What the backend holds less now: every removed pack, minus the packs that
    // took the survivors of repacking (their headers included).
    bytesFreed = 0;
    for (const pack of gone) bytesFreed += present.get(pack) ?? 0;
    for (const p of newPacks) bytesFreed -= (await this.backend.stat(packKey(p.pack)))?.size ?? 0;
    this.replaceIndex(finalPacks, written);
    return { packsDeleted: toDelete.length, packsRepacked: repacked.size, blobsRemoved, bytesFreed, dryRun };
  }

  // ── check ──────────────────────────────────────────────────────────────

  /**
   * Structure: every index file decodes, every indexed pack exists and its
   * header agrees with the index, every pack is indexed. With readData, every
   * pack is read whole and every blob opened and hashed.
   */
  async check(options: { readData: boolean; onProgress?: (done: number, total: number) => void }): Promise<{ errors: CheckError[] }> {
    this.assertOpen();
    await this.flush();
    const errors: CheckError[] = [];
    for (const d of this.damagedIndexFiles) errors.push({ kind: 'format', message: d.message });
    for await (const o of this.backend.list(KEYS.keysPrefix)) {
      const name = o.key.slice(KEYS.keysPrefix.length);
      try {
        if (!HEX_ID_RE.test(name)) throw new FormatError('key file', o.key, 'its name is not a SHA-256 hex id');
        parseKeyFile(await this.backend.get(o.key), name, this.id);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        errors.push({ kind: 'format', message: err.message });
      }
    }
    const present = await this.listPacks();
    const byPack = this.index.byPack(true);
    for (const [pack, entries] of byPack) {
      if (!present.has(pack)) {
        errors.push({ kind: 'missing-pack', pack, message: `pack ${pack} is indexed (${entries.length} blobs) but missing from the backend` });
      }
    }
    const total = present.size;
    let done = 0;
    options.onProgress?.(0, total);
    await forEachLimit(present, 2, async ([pack, size]) => {
      const indexed = byPack.get(pack);
      if (!indexed) errors.push({ kind: 'unindexed-pack', pack, message: `pack ${pack} is in no index file (left by an interrupted write; prune removes it)` });
      let header: PackEntry[] | undefined;
      let bytes: Buffer | undefined;
      try {
        if (options.readData) {
          bytes = await this.backend.get(packKey(pack));
          const headerLength = parseFooter(bytes.subarray(Math.max(0, bytes.length - 12)), pack, bytes.length);
          const headerOffset = bytes.length - 12 - headerLength;
          header = parseHeader(this.keys, bytes.subarray(headerOffset, bytes.length - 12), pack, headerOffset);
        } else {
          header = await readPackHeader(this.backend, this.keys, pack, size);
        }
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        errors.push({ kind: 'format', pack, message: err.message });
      }
      if (header && indexed) {
        const inHeader = new Map(header.map((e) => [e.id, e]));
        for (const e of indexed) {
          const h = inHeader.get(e.id);
          if (!h || h.offset !== e.offset || h.length !== e.length || h.kind !== e.kind || h.rawLength !== e.rawLength) {
            errors.push({
              kind: 'index-mismatch',
              blobId: e.id,
              pack,
              message: `blob ${e.id}: the index places it in pack ${pack} at ${e.offset}+${e.length}, the pack header ${h ? `at ${h.offset}+${h.length}` : 'does not list it'}`,
            });
          }
        }
      }
      if (bytes) {
        let damaged = 0;
        const seen = new Set<string>();
        for (const e of [...(header ?? []), ...(indexed ?? [])]) {
          if (seen.has(e.id)) continue;
          seen.add(e.id);
          const env = e.offset + e.length <= bytes.length ? bytes.subarray(e.offset, e.offset + e.length) : Buffer.alloc(0);
          try {
            await this.openEnvelope(e.id, e.kind, Buffer.from(env), e.rawLength, pack);
          } catch (err) {
            damaged++;
            errors.push({ kind: 'blob-damaged', blobId: e.id, pack, message: (err as Error).message });
          }
        }
        if (damaged === 0 && header && sha256(bytes).toString('hex') !== pack) {
          errors.push({ kind: 'format', pack, message: `pack ${pack}: content does not hash to its name (its header or padding was altered)` });
        }
      }
      options.onProgress?.(++done, total);
    });
    return { errors };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failure) await this.flush();
    } finally {
      this.closed = true;
      await this.pool.close();
    }
  }

  // ── internals ──────────────────────────────────────────────────────────

  private assertOpen(): void {
    if (this.closed) throw new Error(`the repository at ${this.backend.location} is closed`);
  }

  private assertUsable(): void {
    this.assertOpen();
    if (this.failure) throw new Error(`an earlier write to ${this.backend.location} failed, so this session cannot save more: ${this.failure.message}`);
  }

  /** Stores a blob unless it is known; returns whether it was added. */
  private async store(kind: BlobKind, code: number, id: string, data: Buffer): Promise<boolean> {
    if (this.index.has(id) || this.pending.has(id)) return false;
    const running = this.inflight.get(id);
    if (running) {
      await running;
      return false;
    }
    // Read the length now: sealing moves the buffer to a worker and detaches it here.
    const rawLength = data.length;
    const job = (async () => {
      const envelope = data.length >= WORKER_MIN ? await this.pool.seal(code, id, data, true) : blobCodec.seal(this.keys, code, id, data, true);
      await this.addToPack(kind, id, envelope, rawLength);
    })();
    this.inflight.set(id, job);
    try {
      await job;
    } finally {
      this.inflight.delete(id);
    }
    return true;
  }

  private async storeChunk(chunk: Buffer): Promise<{ id: string; added: boolean }> {
    const { id, data } = await this.pool.id(chunk);
    return { id, added: await this.store('data', 2, id, data) };
  }

  private async openEnvelope(id: string, kind: BlobKind, envelope: Buffer, rawLength: number, pack: string): Promise<Buffer> {
    try {
      if (envelope.length >= WORKER_MIN) return await this.pool.open(kindCode(kind), id, Buffer.from(envelope), rawLength);
      return blobCodec.open(this.keys, kindCode(kind), id, envelope, rawLength);
    } catch (err) {
      throw new BlobDamagedError(id, pack, (err as Error).message);
    }
  }

  private async addToPack(kind: BlobKind, id: string, envelope: Buffer, rawLength: number): Promise<void> {
    const cls = packClassOf(kind);
    const packer = this.packers[cls];
    while (packer.wouldOverflow(envelope.length)) await this.finishPack(cls, envelope.length);
    packer.add(kind, id, envelope, rawLength);
    this.pending.set(id, { kind, envelope, rawLength });
    if (packer.size >= this.cfg.packSize) await this.finishPack(cls, 0);
  }

  /**
   * Closes the open pack of a class and starts its upload. Waits for an
   * upload slot first, so finished packs exist only while uploading; a
   * caller that finds the pack already closed by someone else meanwhile
   * has nothing left to do. `room` is the space the caller needs (a pack
   * that still has it stays open); null closes whatever is there (flush).
   */
  private async finishPack(cls: PackClass, room: number | null): Promise<void> {
    const packer = this.packers[cls];
    while (this.uploads.size >= MAX_UPLOADS) await Promise.race(this.uploads);
    if (this.failure) throw this.failure;
    if (packer.count === 0) return;
    if (room !== null && !packer.wouldOverflow(room) && packer.size < this.cfg.packSize) return;
    const fin = packer.finish();
    const u = this.upload(fin).catch((err: unknown) => {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
    });
    this.uploads.add(u);
    void u.finally(() => this.uploads.delete(u));
  }

  private async upload(fin: FinishedPack): Promise<void> {
    const data = fin.bytes;
    // Serve pending blobs from the pack itself so their separate envelopes can be freed.
    for (const e of fin.entries) {
      const p = this.pending.get(e.id);
      if (p) p.envelope = data.subarray(e.offset, e.offset + e.length);
    }
    const pack = await this.pool.digest(data);
    try {
      await this.backend.put(packKey(pack), data, { ifAbsent: true, length: data.length });
    } catch (err) {
      // Same name means same bytes: another writer stored this very pack.
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    this.index.add(pack, fin.entries);
    this.unsaved.push({ pack, entries: fin.entries });
    for (const e of fin.entries) this.pending.delete(e.id);
    if (this.autoIndex && this.unsaved.length >= PACKS_PER_INDEX_WRITE) await this.writeUnsavedIndex();
  }

  private async flushPacks(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight.values()]);
    await this.finishPack('metadata', null);
    await this.finishPack('data', null);
    while (this.uploads.size) await Promise.all([...this.uploads]);
    if (this.failure) throw this.failure;
  }

  /** Index writes are serialized so each names a disjoint set of packs. */
  private writeUnsavedIndex(): Promise<void> {
    const run = this.indexWrite.then(async () => {
      if (!this.unsaved.length) return;
      const packs = this.unsaved;
      this.unsaved = [];
      try {
        const name = await this.putIndexFile({ supersedes: [], packs });
        this.indexFiles.add(name);
      } catch (err) {
        this.unsaved = packs.concat(this.unsaved);
        throw err;
      }
    });
    this.indexWrite = run.catch(() => undefined);
    return run;
  }

  private async putIndexFile(content: { supersedes: string[]; packs: IndexedPack[] }): Promise<string> {
    const stored = encodeFile(this.keys, 'index', '', encodeIndex(content));
    const name = sha256(stored).toString('hex');
    try {
      await this.backend.put(`${KEYS.indexPrefix}${name}`, stored, { ifAbsent: true });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    return name;
  }

  /**
   * Writes a complete index in files of bounded size. Only the last file
   * lists the superseded ones, so until it exists the old files stay in
   * force and a crash midway loses nothing.
   */
  private async writeIndexFiles(packs: IndexedPack[], supersedes: string[]): Promise<string[]> {
    const names: string[] = [];
    const groups: IndexedPack[][] = [];
    for (let i = 0; i < packs.length; i += PACKS_PER_INDEX_FILE) groups.push(packs.slice(i, i + PACKS_PER_INDEX_FILE));
    if (groups.length === 0) groups.push([]);
    for (let g = 0; g < groups.length; g++) {
      const last = g === groups.length - 1;
      names.push(await this.putIndexFile({ supersedes: last ? supersedes : [], packs: groups[g] }));
    }
    return names;
  }

  private replaceIndex(packs: IndexedPack[], files: string[]): void {
    this.index = new MasterIndex();
    for (const p of packs) this.index.add(p.pack, p.entries);
    this.indexFiles = new Set(files);
  }

  private async listIndexFiles(): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.backend.list(KEYS.indexPrefix)) {
      const name = o.key.slice(KEYS.indexPrefix.length);
      if (HEX_ID_RE.test(name)) out.push(name);
    }
    return out;
  }

  private async listPacks(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const o of this.backend.list(KEYS.dataPrefix)) {
      const m = /^data\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(o.key);
      if (m && m[2].startsWith(m[1])) out.set(m[2], o.size);
    }
    return out;
  }

  private async loadIndex(): Promise<void> {
    const names = await this.listIndexFiles();
    const files = new Map<string, { supersedes: string[]; packs: IndexedPack[] }>();
    await forEachLimit(names, 8, async (name) => {
      try {
        const stored = await this.backend.get(`${KEYS.indexPrefix}${name}`);
        if (sha256(stored).toString('hex') !== name) {
          throw new FormatError('index file', `index/${name}`, 'content does not hash to its name (altered or truncated)');
        }
        files.set(name, decodeIndex(decodeFile(this.keys, 'index', '', stored), `index/${name}`));
      } catch (err) {
        if (err instanceof NotFoundError) return; // removed by a concurrent prune
        if (!(err instanceof FormatError)) throw err;
        this.damagedIndexFiles.push({ name, message: err.message });
      }
    });
    const superseded = new Set<string>();
    for (const f of files.values()) for (const s of f.supersedes) superseded.add(s);
    for (const name of [...files.keys()].sort()) {
      if (superseded.has(name)) continue;
      for (const p of (files.get(name) as { packs: IndexedPack[] }).packs) this.index.add(p.pack, p.entries);
      this.indexFiles.add(name);
    }
  }
}

class Semaphore {
  private waiters: Array<() => void> = [];
  constructor(private free: number) {}

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
}

async function forEachLimit<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  let failed: unknown;
  const lane = async (): Promise<void> => {
    for (let n = it.next(); !n.done && failed === undefined; n = it.next()) {
      try {
        await fn(n.value);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  if (failed !== undefined) throw failed;
}
