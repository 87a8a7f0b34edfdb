import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SnapshotIntegrityError, SnapshotVerifier } from '../../../src/engine/etcd/verifier';

/** A byte stream laid out as etcd sends a snapshot: content, then the SHA-256 of the content. */
function withTrailer(content: Buffer): Buffer {
  return Buffer.concat([content, createHash('sha256').update(content).digest()]);
}

function chunked(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

async function through(data: Buffer, chunkSize: number): Promise<{ out: Buffer; verifier: SnapshotVerifier }> {
  const verifier = new SnapshotVerifier('test member');
  const out: Buffer[] = [];
  await pipeline(chunked(data, chunkSize), verifier, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return { out: Buffer.concat(out), verifier };
}

describe('the etcd snapshot verifier', () => {
  const content = randomBytes(100_000);
  const snapshot = withTrailer(content);

  for (const size of [1, 7, 31, 32, 33, 4096, 1 << 20]) {
    it(`passes a snapshot with a matching trailer through unchanged, in chunks of ${size} bytes`, async () => {
      const { out, verifier } = await through(snapshot, size);
      assert.ok(out.equals(snapshot));
      assert.deepEqual(verifier.result, { bytes: snapshot.length, sha256: snapshot.subarray(-32).toString('hex'), verified: true });
    });
  }

  it('accepts an empty snapshot body followed by its trailer', async () => {
    const { out } = await through(withTrailer(Buffer.alloc(0)), 5);
    assert.equal(out.length, 32);
  });

  for (const where of ['first', 'middle', 'trailer'] as const) {
    it(`fails on one flipped bit in the ${where} byte, never releasing the trailer`, async () => {
      const bad = Buffer.from(snapshot);
      const at = where === 'first' ? 0 : where === 'middle' ? bad.length >> 1 : bad.length - 1;
      bad[at] ^= 0x10;
      const verifier = new SnapshotVerifier('test member');
      let seen = 0;
      await assert.rejects(
        pipeline(chunked(bad, 1000), verifier, async (src: AsyncIterable<Buffer>) => {
          for await (const c of src) seen += c.length;
        }),
        (err: Error) => err instanceof SnapshotIntegrityError && /from test member is corrupt/.test(err.message),
      );
      assert.ok(seen <= bad.length - 32, 'the consumer never gets the whole stream');
      assert.equal(verifier.result, undefined);
    });
  }

  it('fails on a stream shorter than a trailer, saying it was cut short', async () => {
    await assert.rejects(through(Buffer.alloc(20), 3), /only 20 bytes long: it was cut short/);
  });

  it('fails on a snapshot missing its last bytes', async () => {
    await assert.rejects(through(snapshot.subarray(0, snapshot.length - 1), 4096), SnapshotIntegrityError);
  });
});
