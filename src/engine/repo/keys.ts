import { createCipheriv, createDecipheriv, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import * as os from 'node:os';
import { sha256, type MasterKeys } from './crypto';
import { FormatError, KEY_FILE_VERSION } from './format';

/** scrypt cost; stored per key file so new keys can be made costlier without touching old ones. */
export interface KdfParams {
  N: number;
  r: number;
  p: number;
}

/** 64 MiB, about 0.2 s per attempt on a current core. */
export const DEFAULT_KDF: KdfParams = { N: 2 ** 16, r: 8, p: 1 };

/** A damaged or hostile key file must not make a reader allocate gigabytes. */
const LIMITS = { N: 2 ** 20, r: 32, p: 16 };

interface KeyFileJson {
  version: number;
  created: string;
  host?: string;
  repository: string;
  kdf: { name: string; N: number; r: number; p: number; salt: string };
  data: string;
}

export interface KeyFileInfo {
  id: string;
  created: string;
  host?: string;
}

function derive(passphrase: string, salt: Buffer, kdf: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function aad(repository: string): Buffer {
  return Buffer.from(`lifeboat/key/${repository}`, 'utf8');
}

export function checkKdf(kdf: KdfParams): void {
  const pow2 = Number.isInteger(kdf.N) && kdf.N >= 2 && (kdf.N & (kdf.N - 1)) === 0;
  if (!pow2 || kdf.N > LIMITS.N || !Number.isInteger(kdf.r) || kdf.r < 1 || kdf.r > LIMITS.r || !Number.isInteger(kdf.p) || kdf.p < 1 || kdf.p > LIMITS.p) {
    throw new Error(`scrypt parameters N=${kdf.N} r=${kdf.r} p=${kdf.p} are out of range (N a power of two ≤ 2^20, r ≤ 32, p ≤ 16)`);
  }
}

/** A new key file wrapping the master keys under a passphrase; its id is the hash of its bytes. */
export async function createKeyFile(
  passphrase: string,
  keys: MasterKeys,
  repository: string,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<{ id: string; bytes: Buffer }> {
  if (!passphrase) throw new Error('the passphrase is empty: choose a non-empty passphrase');
  checkKdf(kdf);
  const salt = randomBytes(32);
  const wrap = await derive(passphrase, salt, kdf);
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', wrap, nonce);
  c.setAAD(aad(repository));
  const data = Buffer.concat([nonce, c.update(Buffer.concat([keys.enc, keys.mac])), c.final(), c.getAuthTag()]);
  const json: KeyFileJson = {
    version: KEY_FILE_VERSION,
    created: new Date().toISOString(),
    host: os.hostname(),
    repository,
    kdf: { name: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, salt: salt.toString('base64') },
    data: data.toString('base64'),
  };
  const bytes = Buffer.from(JSON.stringify(json, null, 1) + '\n', 'utf8');
  return { id: sha256(bytes).toString('hex'), bytes };
}

/** Validates a key file against its name and shape, without the passphrase. */
export function parseKeyFile(bytes: Buffer, id: string, repository: string): KeyFileJson {
  const fail = (detail: string): never => {
    throw new FormatError('key file', `keys/${id}`, detail);
  };
  if (sha256(bytes).toString('hex') !== id) fail('content does not hash to its name (altered or truncated)');
  let json: KeyFileJson;
  try {
    json = JSON.parse(bytes.toString('utf8')) as KeyFileJson;
  } catch {
    return fail('not JSON');
  }
  if (!json || typeof json !== 'object') fail('not a JSON object');
  if (json.version !== KEY_FILE_VERSION) fail(`key file version ${String(json.version)} is unknown`);
  if (json.repository !== repository) fail('belongs to another repository');
  const k = json.kdf;
  if (!k || k.name !== 'scrypt' || typeof k.salt !== 'string') fail('kdf is not scrypt with a salt');
  try {
    checkKdf(k);
  } catch (err) {
    fail((err as Error).message);
  }
  if (typeof json.data !== 'string' || Buffer.from(json.data, 'base64').length !== 12 + 64 + 16) fail('wrapped key has the wrong size');
  return json;
}

export function keyFileInfo(json: KeyFileJson, id: string): KeyFileInfo {
  return { id, created: String(json.created), host: typeof json.host === 'string' ? json.host : undefined };
}

/** The master keys, or null when the passphrase is not this key file's. */
export async function unlockKeyFile(json: KeyFileJson, passphrase: string): Promise<MasterKeys | null> {
  const wrap = await derive(passphrase, Buffer.from(json.kdf.salt, 'base64'), json.kdf);
  const data = Buffer.from(json.data, 'base64');
  try {
    const d = createDecipheriv('aes-256-gcm', wrap, data.subarray(0, 12), { authTagLength: 16 });
    d.setAAD(aad(json.repository));
    d.setAuthTag(data.subarray(data.length - 16));
    const plain = Buffer.concat([d.update(data.subarray(12, data.length - 16)), d.final()]);
    return { enc: plain.subarray(0, 32), mac: plain.subarray(32, 64) };
  } catch {
    return null;
  }
}

export function sameKeys(a: MasterKeys, b: MasterKeys): boolean {
  return timingSafeEqual(a.enc, b.enc) && timingSafeEqual(a.mac, b.mac);
}
