import type { StorageBackend } from '../storage/backend';
import { sealing, type MasterKeys } from './crypto';
import {
  BLOB_KINDS,
  ENTRY_SIZE,
  ID_SIZE,
  kindCode,
  PACK_FOOTER_SIZE,
  PACK_HEADER_VERSION,
  PACK_MAGIC,
  PACK_VERSION,
  packKey,
  Reader,
  FormatError,
  type BlobKind,
} from './format';

/** One blob's place in a pack: the header entry of §7 and the index entry of §8. */
export interface PackEntry {
  kind: BlobKind;
  id: string;
  offset: number;
  length: number;
  rawLength: number;
}

const HEADER_CONTEXT = Buffer.from('lifeboat/pack-header', 'latin1');

export function encodeEntry(e: PackEntry, out: Buffer, at: number): void {
  out[at] = kindCode(e.kind);
  out.write(e.id, at + 1, ID_SIZE, 'hex');
  out.writeUInt32BE(e.offset, at + 33);
  out.writeUInt32BE(e.length, at + 37);
  out.writeUInt32BE(e.rawLength, at + 41);
}

export function decodeEntry(r: Reader, what: string): PackEntry {
  const code = r.u8(`${what} kind`);
  const kind = BLOB_KINDS[code];
  if (!kind) r.fail(`${what} has unknown blob kind ${code}`);
  const id = r.bytes(ID_SIZE, `${what} id`).toString('hex');
  const offset = r.u32(`${what} offset`);
  const length = r.u32(`${what} length`);
  const rawLength = r.u32(`${what} raw length`);
  return { kind, id, offset, length, rawLength };
}

/** Header box ‖ footer, appended after the blob envelopes. */
export function packTrailer(keys: MasterKeys | null, entries: PackEntry[]): Buffer {
  const plain = Buffer.alloc(5 + ENTRY_SIZE * entries.length);
  plain[0] = PACK_HEADER_VERSION;
  plain.writeUInt32BE(entries.length, 1);
  entries.forEach((e, i) => encodeEntry(e, plain, 5 + i * ENTRY_SIZE));
  const box = sealing.seal(keys, HEADER_CONTEXT, [plain]);
  const footer = Buffer.alloc(PACK_FOOTER_SIZE);
  footer.writeUInt32BE(box.length, 0);
  footer[4] = PACK_VERSION;
  PACK_MAGIC.copy(footer, 8);
  return Buffer.concat([box, footer]);
}

/** Length of the header box, from the footer, checked against the pack size. */
export function parseFooter(footer: Buffer, pack: string, packSize: number): number {
  const r = new Reader(footer, 'pack', pack);
  if (packSize < PACK_FOOTER_SIZE) r.fail(`only ${packSize} bytes, shorter than a pack footer`);
  const headerLength = r.u32('header length');
  const version = r.u8('pack version');
  r.zeros(3, 'footer padding');
  r.expect(PACK_MAGIC, 'footer magic');
  if (version !== PACK_VERSION) r.fail(`pack version ${version} is unknown (this Lifeboat reads ${PACK_VERSION})`);
  if (headerLength > packSize - PACK_FOOTER_SIZE) {
    r.fail(`footer says the header has ${headerLength} bytes but the pack has only ${packSize}`);
  }
  return headerLength;
}

/** Entries of a header box found at headerOffset; checks they tile the pack up to the header. */
export function parseHeader(keys: MasterKeys | null, box: Buffer, pack: string, headerOffset: number): PackEntry[] {
  const plain = sealing.open(keys, HEADER_CONTEXT, box);
  if (!plain) {
    throw new FormatError('pack', pack, keys ? 'header does not authenticate (altered or truncated)' : 'header checksum mismatch');
  }
  const r = new Reader(plain, 'pack header', pack);
  const version = r.u8('header version');
  if (version !== PACK_HEADER_VERSION) r.fail(`header version ${version} is unknown`);
  const n = r.u32('entry count');
  r.need(n * ENTRY_SIZE, 'entries');
  const entries: PackEntry[] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    const e = decodeEntry(r, `entry ${i}`);
    if (e.offset !== next) r.fail(`entry ${i} starts at ${e.offset}, expected ${next}`);
    next = e.offset + e.length;
    entries.push(e);
  }
  r.end();
  if (next !== headerOffset) r.fail(`entries end at ${next} but the header starts at ${headerOffset}`);
  return entries;
}

/** Entries of a whole pack held in memory; also checks the pack's name. */
export function parsePack(keys: MasterKeys | null, bytes: Buffer, pack: string, checkName: (b: Buffer) => boolean): PackEntry[] {
  const headerLength = parseFooter(bytes.subarray(bytes.length - PACK_FOOTER_SIZE), pack, bytes.length);
  const headerOffset = bytes.length - PACK_FOOTER_SIZE - headerLength;
  const entries = parseHeader(keys, bytes.subarray(headerOffset, bytes.length - PACK_FOOTER_SIZE), pack, headerOffset);
  if (!checkName(bytes)) throw new FormatError('pack', pack, 'content does not hash to the pack name');
  return entries;
}

/** Guess of the tail size that holds most headers in one ranged read. */
const TAIL_GUESS = 64 * 1024;

/** Reads a pack's header with one ranged read of its tail (two when the header is large). */
export async function readPackHeader(
  backend: StorageBackend,
  keys: MasterKeys | null,
  pack: string,
  size?: number,
): Promise<PackEntry[]> {
  const key = packKey(pack);
  const packSize = size ?? (await backend.stat(key))?.size;
  if (packSize === undefined) throw new FormatError('pack', pack, 'missing from the backend');
  const tailLen = Math.min(packSize, TAIL_GUESS);
  let tail = packSize > 0 ? await backend.get(key, { offset: packSize - tailLen, length: tailLen }) : Buffer.alloc(0);
  if (tail.length !== tailLen) throw new FormatError('pack', pack, `short read of the tail (${tail.length} of ${tailLen} bytes)`);
  const headerLength = parseFooter(tail.subarray(Math.max(0, tail.length - PACK_FOOTER_SIZE)), pack, packSize);
  const need = headerLength + PACK_FOOTER_SIZE;
  if (need > tail.length) {
    tail = await backend.get(key, { offset: packSize - need, length: need });
    if (tail.length !== need) throw new FormatError('pack', pack, 'short read of the header');
  }
  const headerOffset = packSize - need;
  const box = tail.subarray(tail.length - need, tail.length - PACK_FOOTER_SIZE);
  return parseHeader(keys, box, pack, headerOffset);
}
