/**
 * FastCDC content-defined chunking with normalized chunking (§6): a stricter
 * mask before the average size and a looser one after it pulls chunk sizes
 * toward the average. A boundary depends only on the bytes since the previous
 * one, so an insertion early in a file disturbs only the chunks around it.
 */

export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNKER: ChunkerParams = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 };

/** Bytes hashed before `min` so the first candidate cut already sees a full window. */
const WARMUP = 64;

export function checkChunkerParams(p: ChunkerParams): void {
  const ok =
    Number.isInteger(p.min) && Number.isInteger(p.avg) && Number.isInteger(p.max) &&
    p.min >= 64 && p.min < p.avg && p.avg < p.max && p.max <= 64 * 1024 * 1024 && p.avg >= 256;
  if (!ok) {
    throw new Error(
      `invalid chunker sizes min ${p.min} / avg ${p.avg} / max ${p.max}: need 64 ≤ min < avg < max ≤ 64 MiB (integers)`,
    );
  }
}

/** maskS = top (bits+2) bits, maskL = top (bits−2) bits of a u32, as signed int32 for fast tests. */
export function chunkerMasks(avg: number): { maskS: number; maskL: number } {
  const bits = Math.round(Math.log2(avg));
  const top = (n: number): number => (n <= 0 ? 0 : n >= 32 ? -1 : (~0 << (32 - n)) | 0);
  return { maskS: top(bits + 2), maskL: top(bits - 2) };
}

/**
 * Incremental chunker: push stream pieces, receive whole chunks. Each chunk
 * is a fresh Buffer that owns its memory (it can be moved to a worker).
 * Memory held: at most one `max`-sized chunk in progress.
 */
const INITIAL_WORK = 64 * 1024;

export class Chunker {
  private readonly gear: Int32Array;
  private readonly maskS: number;
  private readonly maskL: number;
  private work: Buffer;
  private len = 0;
  private h = 0;

  constructor(
    private readonly params: ChunkerParams,
    gear: Uint32Array,
  ) {
    checkChunkerParams(params);
    this.gear = new Int32Array(gear.buffer, gear.byteOffset, 256);
    ({ maskS: this.maskS, maskL: this.maskL } = chunkerMasks(params.avg));
    // Grown on demand: most files of a volume are far smaller than max, and a
    // max-sized buffer per file made small-file backups spend their time in GC.
    this.work = Buffer.allocUnsafeSlow(Math.min(params.max, INITIAL_WORK));
  }

  private reserve(total: number): void {
    if (total <= this.work.length) return;
    let size = this.work.length;
    while (size < total) size *= 2;
    const grown = Buffer.allocUnsafeSlow(Math.min(size, this.params.max));
    this.work.copy(grown, 0, 0, this.len);
    this.work = grown;
  }

  push(piece: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (off < piece.length) {
      const n = Math.min(piece.length - off, this.params.max - this.len);
      const cut = this.scan(piece, off, n);
      const take = cut < 0 ? n : cut;
      this.reserve(this.len + take);
      piece.copy(this.work, this.len, off, off + take);
      this.len += take;
      off += take;
      if (cut >= 0 || this.len === this.params.max) out.push(this.emit());
    }
    return out;
  }

  /** The last chunk (shorter than min if the stream was), or null if nothing is left. */
  end(): Buffer | null {
    return this.len > 0 ? this.emit() : null;
  }

  private emit(): Buffer {
    const c = Buffer.allocUnsafeSlow(this.len);
    this.work.copy(c, 0, 0, this.len);
    this.len = 0;
    this.h = 0;
    return c;
  }

  /**
   * Scans n bytes of piece from off, as positions len.. of the current chunk.
   * Returns how many bytes to take up to and including the cut, or −1.
   */
  private scan(piece: Buffer, off: number, n: number): number {
    const { min, avg } = this.params;
    const gear = this.gear;
    const maskS = this.maskS;
    const maskL = this.maskL;
    const end = off + n;
    // Position in the chunk of piece[i] is base + i. Each loop has a single precomputed
    // bound: a second condition per byte halves V8's speed on this loop.
    const base = this.len - off;
    let i = off;
    if (base + i < min - WARMUP) i = Math.min(end, min - WARMUP - base);
    let h = this.h;
    let stop = Math.min(end, min - base);
    for (; i < stop; i++) h = ((h << 1) + gear[piece[i]]) | 0;
    stop = Math.min(end, avg - base);
    for (; i < stop; i++) {
      h = ((h << 1) + gear[piece[i]]) | 0;
      if ((h & maskS) === 0) {
        this.h = h;
        return i + 1 - off;
      }
    }
    for (; i < end; i++) {
      h = ((h << 1) + gear[piece[i]]) | 0;
      if ((h & maskL) === 0) {
        this.h = h;
        return i + 1 - off;
      }
    }
    this.h = h;
    return -1;
  }
}
