import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { blobCodec } from '../../../src/engine/repo/blobWorkers';
import { encodeConfig, openConfig, parseConfig } from '../../../src/engine/repo/config';
import { randomMasterKeys, sha256, type MasterKeys } from '../../../src/engine/repo/crypto';
import { decodeFile, encodeFile, FormatError, NotARepositoryError, UnsupportedFormatError } from '../../../src/engine/repo/format';
import { randomGear } from '../../../src/engine/repo/gear';
import { decodeIndex, encodeIndex } from '../../../src/engine/repo/index';
import { createKeyFile, parseKeyFile, unlockKeyFile } from '../../../src/engine/repo/keys';
import { parsePack } from '../../../src/engine/repo/pack';
import { Packer } from '../../../src/engine/repo/packer';

/** Every proper prefix (sampled when long) and every byte with one bit flipped must be rejected with a named error. */
function assertRejectsDamage(good: Buffer, decode: (b: Buffer) => unknown, named: RegExp, step = 1): void {
  decode(good); // the intact structure decodes
  for (let n = 0; n < good.length; n += n < 64 || good.length - n < 64 ? 1 : step) {
    assert.throws(() => decode(good.subarray(0, n)), (err: Error) => named.test(err.message), `truncated to ${n} bytes`);
  }
  for (let i = 0; i < good.length; i += i < 64 || good.length - i < 64 ? 1 : step) {
    const bad = Buffer.from(good);
    bad[i] ^= 1 << (i % 8);
    assert.throws(() => decode(bad), (err: Error) => named.test(err.message), `bit flipped at ${i}`);
  }
  assert.throws(() => decode(Buffer.concat([good, Buffer.from([0])])), (err: Error) => named.test(err.message), 'extra byte');
}

for (const encrypted of [true, false]) {
  describe(`format structures reject damage (${encrypted ? 'encrypted' : 'unencrypted'})`, () => {
    const keys: MasterKeys | null = encrypted ? randomMasterKeys() : null;

    it('config', () => {
      const priv = { chunker: { min: 1024, avg: 4096, max: 16384 }, gear: randomGear(), packSize: 1 << 20 };
      const good = encodeConfig(keys, { id: 'ab'.repeat(32), created: new Date().toISOString(), encrypted }, priv);
      const decode = (b: Buffer): unknown => openConfig(parseConfig(b, 'mem:'), keys, 'mem:');
      const back = decode(good) as typeof priv;
      assert.deepEqual(back.gear, priv.gear);
      assertRejectsDamage(good, decode, /config|not a Lifeboat repository|newer Lifeboat/, 7);
    });

    it('config from a newer format is refused with an upgrade hint, before any key is needed', () => {
      const good = encodeConfig(keys, { id: 'ab'.repeat(32), created: '', encrypted }, { chunker: { min: 1024, avg: 4096, max: 16384 }, gear: randomGear(), packSize: 1 << 20 });
      const newer = Buffer.from(good);
      newer.writeUInt16BE(2, 4);
      assert.throws(() => parseConfig(newer, 'mem:'), (e: Error) => e instanceof UnsupportedFormatError && /v2.*upgrade Lifeboat/.test(e.message));
      assert.throws(() => parseConfig(Buffer.from('{"something":"else"}'), 'mem:'), NotARepositoryError);
    });

    it('unpacked file (snapshots/catalogs/locks) and its name binding', () => {
      const good = encodeFile(keys, 'snapshots', 's1', Buffer.from(JSON.stringify({ hello: 'world'.repeat(50) })));
      assert.equal(JSON.parse(decodeFile(keys, 'snapshots', 's1', good).toString()).hello.length, 250);
      assertRejectsDamage(good, (b) => decodeFile(keys, 'snapshots', 's1', b), /file "snapshots\/s1"/);
      assert.throws(() => decodeFile(keys, 'snapshots', 's2', good), /file "snapshots\/s2".*(authenticate|checksum)/);
      assert.throws(() => decodeFile(keys, 'catalogs', 's1', good), /catalogs\/s1/);
    });

    it('index file', () => {
      const entries = Array.from({ length: 5 }, (_, i) => ({ kind: 'data' as const, id: randomBytes(32).toString('hex'), offset: i * 100, length: 100, rawLength: 90 }));
      const content = { supersedes: [randomBytes(32).toString('hex')], packs: [{ pack: randomBytes(32).toString('hex'), entries }] };
      assert.deepEqual(decodeIndex(encodeIndex(content), 'i'), content);
      const good = encodeFile(keys, 'index', '', encodeIndex(content));
      assertRejectsDamage(good, (b) => decodeIndex(decodeFile(keys, 'index', '', b), 'index/x'), /(file|index file) "index/, 3);
      // A well-sealed but truncated body is caught by the index decoder itself (alteration is the seal's job).
      const body = encodeIndex(content);
      for (let n = 0; n < body.length; n++) {
        assert.throws(() => decodeIndex(body.subarray(0, n), 'index/x'), /index file "index\/x" .*truncated/);
      }
    });

    it('blob envelope', () => {
      const data = Buffer.from('{"kind":"ConfigMap","data":{"a":"' + 'x'.repeat(300) + '"}}');
      const id = blobCodec.id(keys, data);
      const good = blobCodec.seal(keys, 0, id, data, true);
      assert.ok(blobCodec.open(keys, 0, id, good, data.length).equals(data));
      assertRejectsDamage(good, (b) => blobCodec.open(keys, 0, id, b, data.length), /authentication failed|checksum mismatch|decode|bytes/);
      assert.throws(() => blobCodec.open(keys, 1, id, good, data.length), /authentication failed|checksum/, 'another kind');
    });

    it('pack trailer and pack content', () => {
      const packer = new Packer('metadata', 1 << 20, keys);
      for (let i = 0; i < 20; i++) {
        const data = Buffer.from(`{"n":${i}}`);
        const id = blobCodec.id(keys, data);
        packer.add('resource', id, blobCodec.seal(keys, 0, id, data, true), data.length);
      }
      const { bytes, entries } = packer.finish();
      const name = sha256(bytes).toString('hex');
      const check = (b: Buffer): boolean => sha256(b).toString('hex') === name;
      assert.deepEqual(parsePack(keys, bytes, name, check), entries);
      assertRejectsDamage(bytes, (b) => parsePack(keys, b, name, check), new RegExp(`pack (header )?"${name}"`));
    });
  });
}

describe('key files reject damage', () => {
  it('detects truncation and alteration before running scrypt, and a wrong passphrase by authentication', async () => {
    const keys = randomMasterKeys();
    const repo = 'cd'.repeat(32);
    const { id, bytes } = await createKeyFile('correct horse', keys, repo, { N: 1024, r: 8, p: 1 });
    const json = parseKeyFile(bytes, id, repo);
    const k = await unlockKeyFile(json, 'correct horse');
    assert.ok(k && k.enc.equals(keys.enc) && k.mac.equals(keys.mac));
    assert.equal(await unlockKeyFile(json, 'wrong horse'), null);
    assertRejectsDamage(bytes, (b) => parseKeyFile(b, id, repo), new RegExp(`key file "keys/${id}"`));
    // Consistent name but hostile cost parameters: refused, not run.
    const hostile = Buffer.from(bytes.toString().replace('"N": 1024', '"N": 1073741824'));
    assert.throws(() => parseKeyFile(hostile, sha256(hostile).toString('hex'), repo), /out of range/);
    assert.throws(() => parseKeyFile(bytes, id, 'ef'.repeat(32)), /another repository/);
    assert.ok(FormatError);
  });
});
