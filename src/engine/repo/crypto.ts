import * as nodeCrypto from 'node:crypto';

/**
 * The repository's secrets: `enc` encrypts every stored structure
 * (AES-256-GCM), `mac` keys blob ids (HMAC-SHA-256). Null means an
 * unencrypted repository (ids are plain SHA-256, boxes carry a checksum).
 */
export interface MasterKeys {
  enc: Buffer;
  mac: Buffer;
}

export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
export const CHECKSUM_SIZE = 32;

export interface Sealing {
  /** Sealed box of §2.1: the context is authenticated, never stored. */
  seal(keys: MasterKeys | null, context: Buffer, parts: Buffer[]): Buffer;
  /** Plaintext, or null when the box is damaged, moved, or under another key. */
  open(keys: MasterKeys | null, context: Buffer, box: Buffer): Buffer | null;
  /** 32-byte blob id of §2.3. */
  blobId(keys: MasterKeys | null, data: Buffer): Buffer;
  /** Plain SHA-256, for names of content-addressed objects (packs, index files). */
  digest(data: Buffer): Buffer;
  overhead(keys: MasterKeys | null): number;
}

/**
 * Builds the sealing functions from the crypto module it is given. The body
 * references nothing outside itself, because the blob workers run the same
 * source text (Function.prototype.toString) in their own threads: one
 * implementation of the format, on both sides of the thread boundary.
 */
export function makeSealing(crypto: typeof nodeCrypto): Sealing {
  const NONCE = 12;
  const TAG = 16;
  const SUM = 32;
  return {
    seal(keys, context, parts) {
      if (!keys) {
        const h = crypto.createHash('sha256').update(context).update(Buffer.alloc(1));
        for (const p of parts) h.update(p);
        return Buffer.concat([...parts, h.digest()]);
      }
      const nonce = crypto.randomBytes(NONCE);
      const c = crypto.createCipheriv('aes-256-gcm', keys.enc, nonce);
      c.setAAD(context);
      const out: Buffer[] = [nonce];
      for (const p of parts) out.push(c.update(p));
      out.push(c.final(), c.getAuthTag());
      return Buffer.concat(out);
    },
    open(keys, context, box) {
      if (!keys) {
        if (box.length < SUM) return null;
        const body = box.subarray(0, box.length - SUM);
        const sum = crypto.createHash('sha256').update(context).update(Buffer.alloc(1)).update(body).digest();
        return crypto.timingSafeEqual(sum, box.subarray(box.length - SUM)) ? body : null;
      }
      if (box.length < NONCE + TAG) return null;
      try {
        const d = crypto.createDecipheriv('aes-256-gcm', keys.enc, box.subarray(0, NONCE), { authTagLength: TAG });
        d.setAAD(context);
        d.setAuthTag(box.subarray(box.length - TAG));
        const a = d.update(box.subarray(NONCE, box.length - TAG));
        const b = d.final();
        return b.length ? Buffer.concat([a, b]) : a;
      } catch {
        return null;
      }
    },
    blobId(keys, data) {
      return keys ? crypto.createHmac('sha256', keys.mac).update(data).digest() : crypto.createHash('sha256').update(data).digest();
    },
    digest(data) {
      return crypto.createHash('sha256').update(data).digest();
    },
    overhead(keys) {
      return keys ? NONCE + TAG : SUM;
    },
  };
}

export const sealing = makeSealing(nodeCrypto);

export function randomMasterKeys(): MasterKeys {
  return { enc: nodeCrypto.randomBytes(32), mac: nodeCrypto.randomBytes(32) };
}

export function sha256(data: Buffer | Buffer[]): Buffer {
  const h = nodeCrypto.createHash('sha256');
  for (const d of Array.isArray(data) ? data : [data]) h.update(d);
  return h.digest();
}

export function randomHexId(): string {
  return nodeCrypto.randomBytes(32).toString('hex');
}
