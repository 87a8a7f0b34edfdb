import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobCodec } from '../../../src/engine/repo/blobWorkers';
import { randomMasterKeys, sha256 } from '../../../src/engine/repo/crypto';
import { packKey } from '../../../src/engine/repo/format';
import { readPackHeader } from '../../../src/engine/repo/pack';
import { Packer } from '../../../src/engine/repo/packer';
import { LocalBackend } from '../../../src/engine/storage/local';

describe('packs', () => {
  let dir: string;
  let backend: LocalBackend;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-pack-'));
    backend = new LocalBackend(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const encrypted of [true, false]) {
    it(`round-trips blobs through a stored pack and reads the header back with ranged reads (${encrypted ? 'encrypted' : 'unencrypted'})`, async () => {
      const keys = encrypted ? randomMasterKeys() : null;
      const packer = new Packer('metadata', 1 << 30, keys);
      const blobs = new Map<string, Buffer>();
      // 3000 entries make a header larger than the first tail read, forcing the second read.
      for (let i = 0; i < 3000; i++) {
        const data = Buffer.from(JSON.stringify({ kind: 'ConfigMap', name: `cm-${i}` }));
        const id = blobCodec.id(keys, data);
        blobs.set(id, data);
        packer.add(i % 2 ? 'tree' : 'resource', id, blobCodec.seal(keys, i % 2, id, data, true), data.length);
      }
      const fin = packer.finish();
      const name = sha256(fin.bytes).toString('hex');
      await backend.put(packKey(name), fin.bytes);
      const header = await readPackHeader(backend, keys, name);
      assert.deepEqual(header, fin.entries);
      for (const e of header.slice(0, 50)) {
        const env = await backend.get(packKey(name), { offset: e.offset, length: e.length });
        assert.ok(blobCodec.open(keys, e.kind === 'tree' ? 1 : 0, e.id, env, e.rawLength).equals(blobs.get(e.id) as Buffer));
      }
    });
  }

  it('closes a pack before it would pass the target size', () => {
    const packer = new Packer('data', 1000, null);
    assert.equal(packer.wouldOverflow(5000), false, 'an empty pack takes any blob');
    packer.add('data', 'aa'.repeat(32), Buffer.alloc(600), 600);
    assert.equal(packer.wouldOverflow(300), false);
    assert.equal(packer.wouldOverflow(500), true);
  });

  it('reports a missing pack by name', async () => {
    await assert.rejects(readPackHeader(backend, null, 'ab'.repeat(32)), /pack "abab.*missing/);
  });
});
