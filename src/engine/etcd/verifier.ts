import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Length of the SHA-256 etcd appends to a snapshot (`etcdctl snapshot restore` checks it). */
export const TRAILER_BYTES = 32;

export class SnapshotIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotIntegrityError';
  }
}

export interface VerifiedSnapshot {
  /** Whole stream, trailer included. */
  bytes: number;
  /** The trailer, hex: the SHA-256 of everything before it. */
  sha256: string;
  verified: true;
}

/**
 * Passes an etcd snapshot through unchanged while hashing all but its last
 * 32 bytes. Those 32 bytes are held back until the end and released only when
 * they equal the hash, so a consumer that stores the stream never sees a
 * complete snapshot whose trailer does not match: the stream fails instead.
 * `source` names where the snapshot came from, for the error.
 */
export class SnapshotVerifier extends Transform {
  private readonly hash = createHash('sha256');
  private tail = Buffer.alloc(0);
  private total = 0;
  result: VerifiedSnapshot | undefined;

  /** Bytes received so far (how far the source has run ahead of the consumer, with readableLength). */
  get bytesIn(): number {
    return this.total;
  }

  constructor(private readonly source: string) {
    super({ highWaterMark: 1 << 16 });
  }

  private release(data: Buffer): void {
    if (data.length === 0) return;
    this.hash.update(data);
    this.push(data);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.total += chunk.length;
    if (chunk.length >= TRAILER_BYTES) {
      this.release(this.tail);
      this.release(chunk.subarray(0, chunk.length - TRAILER_BYTES));
      // A copy, so the held-back bytes do not pin the whole chunk in memory.
      this.tail = Buffer.from(chunk.subarray(chunk.length - TRAILER_BYTES));
    } else {
      const joined = Buffer.concat([this.tail, chunk]);
      const keep = Math.min(joined.length, TRAILER_BYTES);
      this.release(joined.subarray(0, joined.length - keep));
      this.tail = joined.subarray(joined.length - keep);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.tail.length < TRAILER_BYTES) {
      done(new SnapshotIntegrityError(`the etcd snapshot from ${this.source} is only ${this.total} bytes long: it was cut short`));
      return;
    }
    const expected = this.hash.digest();
    if (!expected.equals(this.tail)) {
      done(
        new SnapshotIntegrityError(
          `the etcd snapshot from ${this.source} is corrupt: its SHA-256 trailer does not match its ${this.total - TRAILER_BYTES} bytes ` +
            '(damaged in transit or on the member\'s disk); nothing was stored — capture again, or from another member',
        ),
      );
      return;
    }
    this.result = { bytes: this.total, sha256: this.tail.toString('hex'), verified: true };
    this.push(this.tail);
    done();
  }
}
