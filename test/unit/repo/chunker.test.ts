import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Chunker, chunkerMasks, type ChunkerParams } from '../../../src/engine/repo/chunker';
import { decodeGear, encodeGear, randomGear } from '../../../src/engine/repo/gear';

const P: ChunkerParams = { min: 8 * 1024, avg: 32 * 1024, max: 128 * 1024 };

function chunkAll(data: Buffer, params: ChunkerParams, gear: Uint32Array, piece = 4096): Buffer[] {
  const c = new Chunker(params, gear);
  const out: Buffer[] = [];
  for (let o = 0; o < data.length; o += piece) out.push(...c.push(data.subarray(o, o + piece)));
  const tail = c.end();
  if (tail) out.push(tail);
  return out;
}

function hex(chunks: Buffer[]): string[] {
  return chunks.map((c) => c.toString('hex').slice(0, 32) + c.length);
}

describe('FastCDC chunker', () => {
  const gear = randomGear();
  const data = randomBytes(4 * 1024 * 1024);

  it('reassembles to the input and respects min and max sizes', () => {
    const chunks = chunkAll(data, P, gear);
    assert.ok(Buffer.concat(chunks).equals(data));
    chunks.slice(0, -1).forEach((c) => assert.ok(c.length > P.min && c.length <= P.max, `chunk of ${c.length}`));
    const avg = data.length / chunks.length;
    assert.ok(avg > P.min && avg < P.max, `average ${avg}`);
  });

  it('finds the same boundaries whatever size the stream pieces have', () => {
    const a = hex(chunkAll(data, P, gear, 4096));
    const b = hex(chunkAll(data, P, gear, 1_000_003));
    const c = hex(chunkAll(data, P, gear, 77));
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
  });

  it('keeps later boundaries when bytes are inserted early in a file', () => {
    const before = chunkAll(data, P, gear);
    const edited = Buffer.concat([data.subarray(0, 1000), randomBytes(333), data.subarray(1000)]);
    const after = chunkAll(edited, P, gear);
    const old = new Set(hex(before));
    const shared = hex(after).filter((h) => old.has(h)).length;
    // Only the chunk around the insertion may change; a fixed-size splitter would share none.
    assert.ok(shared >= before.length - 2, `${shared} of ${before.length} chunks survived`);
  });

  it('cuts at max when no boundary appears (constant input)', () => {
    const chunks = chunkAll(Buffer.alloc(600 * 1024), P, gear);
    assert.ok(chunks.length >= 4);
  });

  it('depends on the gear table, so boundaries differ between repositories', () => {
    assert.notDeepEqual(hex(chunkAll(data, P, randomGear())), hex(chunkAll(data, P, gear)));
  });

  it('refuses sizes that are not min < avg < max', () => {
    assert.throws(() => new Chunker({ min: 100, avg: 50, max: 200 }, gear), /invalid chunker sizes/);
    assert.throws(() => new Chunker({ min: 10, avg: 500, max: 2000 }, gear), /invalid chunker sizes/);
  });

  it('uses a stricter mask below the average than above it', () => {
    const { maskS, maskL } = chunkerMasks(1 << 20);
    const bits = (m: number): number => (m >>> 0).toString(2).replace(/0/g, '').length;
    assert.equal(bits(maskS), 22);
    assert.equal(bits(maskL), 18);
  });

  it('stores the gear table as 1024 bytes and reads it back', () => {
    assert.deepEqual(decodeGear(encodeGear(gear)), gear);
    assert.throws(() => decodeGear(Buffer.alloc(100)), /gear table has 100 bytes/);
  });
});
