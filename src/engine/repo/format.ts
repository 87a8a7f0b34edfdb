/**
 * Constants and error types of the on-disk format (docs/repository-format.md),
 * plus a bounds-checked reader so every decoder reports a truncated or altered
 * structure by name instead of crashing on an out-of-range read.
 */

import { compression } from './compression';
import { sealing, type MasterKeys } from './crypto';

export const FORMAT_MAJOR = 1;
/** 1: snapshot manifests may carry a volume's `parent` record, which older readers ignore. */
export const FORMAT_MINOR = 1;

export const CONFIG_MAGIC = Buffer.from('LBRC', 'latin1');
export const PACK_MAGIC = Buffer.from('LBPK', 'latin1');
export const FILE_MAGIC = Buffer.from('LBFL', 'latin1');
export const INDEX_MAGIC = Buffer.from('LBIX', 'latin1');

export const PACK_VERSION = 1;
export const PACK_HEADER_VERSION = 1;
export const FILE_VERSION = 1;
export const INDEX_VERSION = 1;
export const KEY_FILE_VERSION = 1;

export const PACK_FOOTER_SIZE = 12;
/** kind (1) ‖ id (32) ‖ offset (4) ‖ length (4) ‖ rawLength (4) */
export const ENTRY_SIZE = 45;
export const ID_SIZE = 32;

export type BlobKind = 'resource' | 'tree' | 'data';
export const BLOB_KINDS: readonly BlobKind[] = ['resource', 'tree', 'data'];

export function kindCode(kind: BlobKind): number {
  const code = BLOB_KINDS.indexOf(kind);
  if (code < 0) throw new Error(`unknown blob kind "${String(kind)}": expected resource, tree or data`);
  return code;
}

/** Metadata and data blobs live in separate packs so listing a snapshot never downloads file contents. */
export type PackClass = 'metadata' | 'data';
export function packClassOf(kind: BlobKind): PackClass {
  return kind === 'data' ? 'data' : 'metadata';
}

export type FileType = 'snapshots' | 'catalogs' | 'locks';
export const FILE_TYPES: readonly FileType[] = ['snapshots', 'catalogs', 'locks'];
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export function checkFileName(type: string, name: string): void {
  if (!FILE_TYPES.includes(type as FileType)) {
    throw new Error(`unknown repository file type "${type}": expected one of ${FILE_TYPES.join(', ')}`);
  }
  if (!NAME_RE.test(name)) {
    throw new Error(
      `invalid ${type} name "${name}": use 1-128 characters of letters, digits, ".", "_" or "-", not starting with "."`,
    );
  }
}

export const HEX_ID_RE = /^[0-9a-f]{64}$/;

export function packKey(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}

/** Object keys of the repository (§1). */
export const KEYS = {
  config: 'config',
  keysPrefix: 'keys/',
  dataPrefix: 'data/',
  indexPrefix: 'index/',
} as const;

/** A stored structure is truncated, altered, or not what its name says. */
export class FormatError extends Error {
  constructor(
    readonly structure: string,
    readonly object: string,
    detail: string,
  ) {
    super(`${structure} "${object}" is damaged or not a Lifeboat ${structure}: ${detail}`);
    this.name = 'FormatError';
  }
}

/** The passphrase unlocks none of the repository's key files. */
export class WrongPassphraseError extends Error {
  constructor(location: string) {
    super(
      `wrong passphrase for the repository at ${location}: it unlocks none of its keys; ` +
        'check the passphrase (or ask whoever added it for the right one)',
    );
    this.name = 'WrongPassphraseError';
  }
}

/** The backend holds no repository (no `config`), or something else entirely. */
export class NotARepositoryError extends Error {
  constructor(location: string, detail: string) {
    super(`${location} is not a Lifeboat repository: ${detail}`);
    this.name = 'NotARepositoryError';
  }
}

/** The repository was written by a newer Lifeboat with a format this one cannot read. */
export class UnsupportedFormatError extends Error {
  constructor(
    location: string,
    readonly version: number,
  ) {
    super(
      `the repository at ${location} uses format v${version}, created by a newer Lifeboat; ` +
        `this Lifeboat reads format v${FORMAT_MAJOR} and older: upgrade Lifeboat to open it`,
    );
    this.name = 'UnsupportedFormatError';
  }
}

/** A blob failed to decrypt, decompress, or hash back to its id. */
export class BlobDamagedError extends Error {
  constructor(
    readonly blobId: string,
    readonly pack: string,
    detail: string,
  ) {
    super(`blob ${blobId} in pack ${pack} is damaged: ${detail}; run "lifeboat verify --read-data" to find all damage`);
    this.name = 'BlobDamagedError';
  }
}

/** No index entry and no pending write knows this blob. */
export class BlobNotFoundError extends Error {
  constructor(readonly blobId: string) {
    super(`blob ${blobId} is not in the repository index; if packs exist that hold it, rebuild the index`);
    this.name = 'BlobNotFoundError';
  }
}

/** Sequential reader over a structure that throws FormatError rather than reading past the end. */
export class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly structure: string,
    readonly object: string,
  ) {}

  fail(detail: string): never {
    throw new FormatError(this.structure, this.object, detail);
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      this.fail(`truncated: ${what} needs ${n} bytes at offset ${this.pos}, only ${this.buf.length - this.pos} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  expect(magic: Buffer, what: string): void {
    const got = this.bytes(magic.length, what);
    if (!got.equals(magic)) this.fail(`bad ${what}: expected "${magic.toString('latin1')}"`);
  }

  zeros(n: number, what: string): void {
    const got = this.bytes(n, what);
    if (got.some((b) => b !== 0)) this.fail(`${what} must be zero`);
  }

  end(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} unexpected bytes after the end`);
  }
}

export function u32be(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

/**
 * Unpacked file of §9 (snapshots, catalogs, locks, index): magic ‖ version ‖
 * zero ‖ sealed box whose context binds the header and "<type>/<name>", so a
 * file renamed or moved into another folder fails to open.
 */
export function encodeFile(keys: MasterKeys | null, type: string, name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  FILE_MAGIC.copy(header, 0);
  header[4] = FILE_VERSION;
  const box = sealing.seal(keys, fileContext(header, type, name), compression.encode(data, true));
  return Buffer.concat([header, box]);
}

export function decodeFile(keys: MasterKeys | null, type: string, name: string, stored: Buffer, maxLength = 2 ** 31 - 1): Buffer {
  const object = name ? `${type}/${name}` : type;
  const r = new Reader(stored, 'file', object);
  r.expect(FILE_MAGIC, 'magic');
  const version = r.u8('file version');
  if (version !== FILE_VERSION) r.fail(`file version ${version} is unknown (this Lifeboat reads ${FILE_VERSION})`);
  r.zeros(3, 'header padding');
  const plain = sealing.open(keys, fileContext(stored.subarray(0, 8), type, name), stored.subarray(8));
  if (!plain) return r.fail(keys ? 'does not authenticate (altered, truncated, renamed, or another repository’s)' : 'checksum mismatch (altered or truncated)');
  try {
    return compression.decode(plain, maxLength);
  } catch (err) {
    return r.fail((err as Error).message);
  }
}

function fileContext(header: Buffer, type: string, name: string): Buffer {
  return Buffer.concat([header, Buffer.from(`${type}/${name}`, 'utf8')]);
}
