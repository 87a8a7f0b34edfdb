import * as nodeZlib from 'node:zlib';

/** Encoding byte of §2.2. */
export const ENCODING_RAW = 0;
export const ENCODING_BROTLI = 1;

export interface Compression {
  /** Encoding byte and payload; raw whenever compression does not shrink the data. */
  encode(data: Buffer, compress: boolean): [Buffer, Buffer];
  /** Inverse of encode; throws an Error describing what is wrong. */
  decode(encoded: Buffer, maxLength: number): Buffer;
}

/**
 * Brotli quality 1 (chosen by measurement, docs/repository-format.md §2.2).
 * Self-contained like makeSealing: the blob workers run its source text.
 */
export function makeCompression(zlib: typeof nodeZlib): Compression {
  const RAW = Buffer.from([0]);
  const BROTLI = Buffer.from([1]);
  return {
    encode(data, compress) {
      // Tiny inputs never shrink enough to pay for the decoder's work.
      if (!compress || data.length < 64) return [RAW, data];
      const brotli = (b: Buffer): Buffer =>
        zlib.brotliCompressSync(b, {
          params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length },
        });
      // Volume data is often compressed already (images, archives): a 64 KiB sample from the
      // middle that does not shrink spares compressing the whole blob for nothing.
      if (data.length >= 512 * 1024) {
        const at = (data.length >> 1) - 32 * 1024;
        if (brotli(data.subarray(at, at + 64 * 1024)).length > 63 * 1024) return [RAW, data];
      }
      const out = brotli(data);
      return out.length < data.length ? [BROTLI, out] : [RAW, data];
    },
    decode(encoded, maxLength) {
      if (encoded.length < 1) throw new Error('empty payload (no encoding byte)');
      const body = encoded.subarray(1);
      if (encoded[0] === 0) return body;
      if (encoded[0] === 1) {
        try {
          // maxOutputLength bounds a hostile stream that would inflate without end.
          return zlib.brotliDecompressSync(body, { maxOutputLength: Math.max(1, maxLength) });
        } catch (err) {
          throw new Error(`brotli stream does not decode (${(err as Error).message})`);
        }
      }
      throw new Error(`unknown encoding byte ${encoded[0]} (this Lifeboat knows 0 raw and 1 brotli)`);
    },
  };
}

export const compression = makeCompression(nodeZlib);
