import * as assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { BlobWorkerPool, blobCodec } from '../../../src/engine/repo/blobWorkers';
import { randomMasterKeys, sealing } from '../../../src/engine/repo/crypto';
import { compression } from '../../../src/engine/repo/compression';

describe('sealed boxes and blob envelopes', () => {
  const keys = randomMasterKeys();
  const ctx = Buffer.from('lifeboat/test');

  it('opens what it sealed, only under the same key and context', () => {
    const box = sealing.seal(keys, ctx, [Buffer.from('hello '), Buffer.from('world')]);
    assert.equal(sealing.open(keys, ctx, box)?.toString(), 'hello world');
    assert.equal(sealing.open(keys, Buffer.from('lifeboat/other'), box), null);
    assert.equal(sealing.open(randomMasterKeys(), ctx, box), null);
    assert.equal(box.length, 11 + sealing.overhead(keys));
  });

  it('uses a fresh nonce for every box, so equal plaintexts give different ciphertexts', () => {
    const a = sealing.seal(keys, ctx, [Buffer.from('same')]);
    const b = sealing.seal(keys, ctx, [Buffer.from('same')]);
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a.subarray(0, 12), b.subarray(0, 12));
  });

  it('keys blob ids with the id key when encrypted, plain SHA-256 when not', () => {
    const data = Buffer.from('content');
    assert.equal(blobCodec.id(keys, data), createHmac('sha256', keys.mac).update(data).digest('hex'));
    assert.equal(blobCodec.id(null, data), createHash('sha256').update(data).digest('hex'));
  });

  it('stores raw when compression does not shrink the data, compressed when it does', () => {
    const text = Buffer.from('apiVersion: v1\nkind: ConfigMap\n'.repeat(200));
    const [encT] = compression.encode(text, true);
    assert.equal(encT[0], 1);
    const [encR, bodyR] = compression.encode(randomBytes(10000), true);
    assert.equal(encR[0], 0);
    assert.equal(bodyR.length, 10000);
    const [encBig] = compression.encode(randomBytes(1 << 20), true);
    assert.equal(encBig[0], 0, 'a large incompressible blob is judged by a sample and stored raw');
    const [encText, bodyText] = compression.encode(Buffer.from('- name: web\n  image: nginx:1.25\n'.repeat(40000)), true);
    assert.equal(encText[0], 1);
    assert.ok(bodyText.length < 100_000);
    assert.throws(() => compression.decode(Buffer.from([7, 1, 2]), 10), /unknown encoding byte 7/);
  });

  it('refuses a compressed blob that inflates past its declared size', () => {
    const big = Buffer.alloc(1 << 20);
    const [e, b] = compression.encode(big, true);
    assert.throws(() => compression.decode(Buffer.concat([e, b]), 1000), /does not decode/);
  });

  for (const encrypted of [true, false]) {
    it(`worker threads and the main thread produce interchangeable envelopes (${encrypted ? 'encrypted' : 'unencrypted'})`, async () => {
      const k = encrypted ? keys : null;
      const pool = new BlobWorkerPool(k, 2);
      try {
        const data = Buffer.concat([randomBytes(100_000), Buffer.alloc(200_000, 7)]);
        const { id, data: back } = await pool.id(Buffer.from(data));
        assert.equal(id, blobCodec.id(k, data));
        assert.ok(back.equals(data));
        const fromWorker = await pool.seal(2, id, Buffer.from(data), true);
        assert.ok(blobCodec.open(k, 2, id, fromWorker, data.length).equals(data));
        const fromMain = blobCodec.seal(k, 2, id, data, true);
        assert.ok((await pool.open(2, id, fromMain, data.length)).equals(data));
        const bad = Buffer.from(fromMain);
        bad[bad.length - 40] ^= 4;
        await assert.rejects(pool.open(2, id, bad, data.length), /authentication failed|checksum mismatch|decode/);
        const shared = Buffer.from(new SharedArrayBuffer(data.length));
        data.copy(shared);
        assert.equal(await pool.digest(shared), createHash('sha256').update(data).digest('hex'));
        assert.ok(shared.equals(data), 'the caller keeps its shared buffer');
      } finally {
        await pool.close();
      }
    });
  }
});
