import { checkChunkerParams, type ChunkerParams } from './chunker';
import { compression } from './compression';
import { sealing, sha256, type MasterKeys } from './crypto';
import {
  CONFIG_MAGIC,
  FORMAT_MAJOR,
  FORMAT_MINOR,
  FormatError,
  HEX_ID_RE,
  NotARepositoryError,
  Reader,
  UnsupportedFormatError,
} from './format';
import { decodeGear, encodeGear, GEAR_BYTES } from './gear';

/** Readable without a passphrase: enough to refuse a newer format and to find the keys. */
export interface PublicConfig {
  id: string;
  created: string;
  encrypted: boolean;
}

/** Sealed with the repository key: the chunker's secrets. */
export interface PrivateConfig {
  chunker: ChunkerParams;
  gear: Uint32Array;
  packSize: number;
}

export interface ParsedConfig {
  major: number;
  minor: number;
  pub: PublicConfig;
  /** The bytes the sealed part is bound to, and the sealed part itself. */
  context: Buffer;
  sealed: Buffer;
}

const MAX_PACK_SIZE = 1024 * 1024 * 1024;

export function encodeConfig(keys: MasterKeys | null, pub: PublicConfig, priv: PrivateConfig): Buffer {
  const pubBytes = Buffer.from(JSON.stringify(pub), 'utf8');
  const head = Buffer.alloc(12);
  CONFIG_MAGIC.copy(head, 0);
  head.writeUInt16BE(FORMAT_MAJOR, 4);
  head.writeUInt16BE(FORMAT_MINOR, 6);
  head.writeUInt32BE(pubBytes.length, 8);
  const privJson = JSON.stringify({
    chunker: priv.chunker,
    gear: encodeGear(priv.gear).toString('base64'),
    packSize: priv.packSize,
  });
  const sealedLen = Buffer.alloc(4);
  const context = Buffer.concat([head, pubBytes, sealedLen]);
  // The sealed part's length is part of its own context; fill it before sealing.
  const plain = compression.encode(Buffer.from(privJson, 'utf8'), false);
  const boxLen = plain[0].length + plain[1].length + sealing.overhead(keys);
  context.writeUInt32BE(boxLen, context.length - 4);
  const box = sealing.seal(keys, context, plain);
  const body = Buffer.concat([context, box]);
  return Buffer.concat([body, sha256(body)]);
}

/** Checks magic, version and checksum; throws the error a user can act on. */
export function parseConfig(bytes: Buffer, location: string): ParsedConfig {
  if (bytes.length < 4 || !bytes.subarray(0, 4).equals(CONFIG_MAGIC)) {
    throw new NotARepositoryError(location, '"config" is not a Lifeboat repository configuration');
  }
  const r = new Reader(bytes, 'config', `${location}/config`);
  r.pos = 4;
  const major = r.u16('major version');
  const minor = r.u16('minor version');
  if (major > FORMAT_MAJOR) throw new UnsupportedFormatError(location, major);
  if (major < 1) r.fail(`format version ${major} does not exist`);
  const p = r.u32('public part length');
  const pubBytes = r.bytes(p, 'public part');
  const s = r.u32('sealed part length');
  const context = bytes.subarray(0, r.pos);
  const sealed = r.bytes(s, 'sealed part');
  const body = bytes.subarray(0, r.pos);
  const sum = r.bytes(32, 'checksum');
  r.end();
  if (!sha256(body).equals(sum)) r.fail('checksum mismatch (altered or truncated)');
  let pub: PublicConfig;
  try {
    pub = JSON.parse(pubBytes.toString('utf8')) as PublicConfig;
  } catch {
    return r.fail('public part is not JSON');
  }
  if (!pub || typeof pub !== 'object' || typeof pub.id !== 'string' || !HEX_ID_RE.test(pub.id) || typeof pub.encrypted !== 'boolean') {
    r.fail('public part lacks a valid id or encrypted flag');
  }
  return { major, minor, pub, context, sealed };
}

export function openConfig(parsed: ParsedConfig, keys: MasterKeys | null, location: string): PrivateConfig {
  const object = `${location}/config`;
  const plain = sealing.open(keys, parsed.context, parsed.sealed);
  if (!plain) throw new FormatError('config', object, 'sealed part does not authenticate with this repository key');
  let raw: { chunker?: ChunkerParams; gear?: string; packSize?: number };
  try {
    raw = JSON.parse(compression.decode(plain, 1024 * 1024).toString('utf8')) as typeof raw;
  } catch (err) {
    throw new FormatError('config', object, `sealed part does not decode (${(err as Error).message})`);
  }
  const gear = Buffer.from(typeof raw.gear === 'string' ? raw.gear : '', 'base64');
  if (gear.length !== GEAR_BYTES) throw new FormatError('config', object, 'gear table missing or of the wrong size');
  const chunker = raw.chunker;
  try {
    if (!chunker) throw new Error('missing');
    checkChunkerParams(chunker);
  } catch (err) {
    throw new FormatError('config', object, `chunker sizes invalid (${(err as Error).message})`);
  }
  const packSize = raw.packSize;
  if (typeof packSize !== 'number' || !Number.isInteger(packSize) || packSize < 1024 || packSize > MAX_PACK_SIZE) {
    throw new FormatError('config', object, 'pack size missing or out of range');
  }
  return { chunker: { min: chunker.min, avg: chunker.avg, max: chunker.max }, gear: decodeGear(gear), packSize };
}
