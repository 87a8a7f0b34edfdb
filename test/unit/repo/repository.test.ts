import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  BlobDamagedError,
  NotARepositoryError,
  Repository,
  UnsupportedFormatError,
  WrongPassphraseError,
  type InitOptions,
} from '../../../src/engine/repo/repository';
import { LocalBackend } from '../../../src/engine/storage/local';

/** Cheap scrypt so the suite stays fast; the cost is per key file, real keys use the default. */
const KDF = { N: 1024, r: 8, p: 1 };
const SMALL: InitOptions = { chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 }, packSize: 256 * 1024, kdf: KDF };

async function listAll(backend: LocalBackend): Promise<string[]> {
  const out: string[] = [];
  for await (const o of backend.list('')) out.push(`${o.key}:${o.size}`);
  return out.sort();
}

describe('Repository', () => {
  let dir: string;
  let backend: LocalBackend;
  const open: Repository[] = [];
  const track = (r: Repository): Repository => (open.push(r), r);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-repo-'));
    backend = new LocalBackend(dir);
  });
  afterEach(async () => {
    for (const r of open.splice(0)) await r.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const encrypted of [true, false]) {
    const opts: InitOptions = encrypted ? { ...SMALL, passphrase: 'pw' } : { ...SMALL, insecureNoEncryption: true };
    describe(encrypted ? 'encrypted' : 'unencrypted', () => {
      it('saves blobs and files, and reads them back after reopening', async () => {
        const repo = track(await Repository.init(backend, opts));
        assert.equal(repo.encrypted, encrypted);
        assert.equal(repo.formatVersion, 1);
        const res = await repo.saveBlob('resource', Buffer.from('{"kind":"Pod"}'));
        const tree = await repo.saveBlob('tree', Buffer.from('[]'));
        const big = randomBytes(300 * 1024);
        const data = await repo.saveBlob('data', big);
        assert.ok(res.added && tree.added && data.added);
        assert.equal((await repo.loadBlob(res.id)).toString(), '{"kind":"Pod"}', 'readable before flush');
        await repo.flush();
        await repo.writeFile('snapshots', 'snap-1', Buffer.from('manifest'));
        await repo.close();
        const again = track(await Repository.open(backend, { passphrase: 'pw' }));
        assert.equal(again.id, repo.id);
        assert.ok(again.hasBlob(res.id) && again.hasBlob(data.id));
        assert.ok((await again.loadBlob(data.id)).equals(big));
        assert.equal((await again.readFile('snapshots', 'snap-1')).toString(), 'manifest');
        const names: string[] = [];
        for await (const n of again.listFiles('snapshots')) names.push(n);
        assert.deepEqual(names, ['snap-1']);
        await assert.rejects(again.writeFile('snapshots', 'snap-1', Buffer.from('x')), /already exists/);
        await again.deleteFile('snapshots', 'snap-1');
        await assert.rejects(again.readFile('snapshots', 'snap-1'), /does not exist/);
        const blobs = [...again.indexedBlobs()];
        assert.deepEqual(blobs.map((b) => b.kind).sort(), ['data', 'resource', 'tree']);
        // Metadata and data never share a pack.
        assert.notEqual(blobs.find((b) => b.kind === 'data')?.pack, blobs.find((b) => b.kind === 'tree')?.pack);
        assert.equal(blobs.find((b) => b.kind === 'tree')?.pack, blobs.find((b) => b.kind === 'resource')?.pack);
      });

      it('stores the same content once, and similar streams share most chunks', async () => {
        const repo = track(await Repository.init(backend, opts));
        const first = await repo.saveBlob('resource', Buffer.from('same'));
        const second = await repo.saveBlob('resource', Buffer.from('same'));
        assert.equal(first.id, second.id);
        assert.equal(second.added, false);
        const base = randomBytes(3 * 1024 * 1024);
        const a = await repo.saveStream(Readable.from([base]));
        await repo.flush();
        const before = await listAll(backend);
        const again = await repo.saveStream(Readable.from([base]));
        await repo.flush();
        assert.deepEqual(again.chunks, a.chunks);
        assert.equal(a.addedBytes, base.length);
        assert.equal(again.addedChunks, 0);
        assert.deepEqual(await listAll(backend), before, 'saving the same content twice writes nothing');
        const edited = Buffer.concat([base.subarray(0, 5000), Buffer.from('inserted line\n'), base.subarray(5000)]);
        const b = await repo.saveStream(Readable.from([edited]));
        const shared = b.chunks.filter((c) => a.chunks.includes(c)).length;
        assert.ok(shared >= a.chunks.length - 2, `${shared} of ${a.chunks.length} chunks shared`);
        const back: Buffer[] = [];
        for await (const c of repo.loadStream(b.chunks)) back.push(c as Buffer);
        assert.ok(Buffer.concat(back).equals(edited));
      });

      it('rebuilds an index equal to the original from the packs alone', async () => {
        const repo = track(await Repository.init(backend, opts));
        for (let i = 0; i < 200; i++) await repo.saveBlob(i % 2 ? 'tree' : 'resource', Buffer.from(`{"i":${i},"pad":"${'p'.repeat(i * 50)}"}`));
        await repo.saveStream(Readable.from([randomBytes(1024 * 1024)]));
        await repo.flush();
        const original = [...repo.indexedBlobs()].sort((x, y) => x.id.localeCompare(y.id));
        for await (const o of backend.list('index/')) await backend.delete(o.key);
        const blind = track(await Repository.open(backend, { passphrase: 'pw' }));
        assert.equal([...blind.indexedBlobs()].length, 0);
        const r = await blind.rebuildIndex();
        assert.equal(r.blobs, original.length);
        assert.ok(r.packs >= 2);
        assert.deepEqual([...blind.indexedBlobs()].sort((x, y) => x.id.localeCompare(y.id)), original);
        const reopened = track(await Repository.open(backend, { passphrase: 'pw' }));
        assert.equal([...reopened.indexedBlobs()].length, original.length);
        assert.deepEqual((await reopened.check({ readData: true })).errors, []);
      });

      it('rewrite keeps exactly the kept blobs, frees the rest, and the repository still checks', async () => {
        const repo = track(await Repository.init(backend, opts));
        const ids: string[] = [];
        for (let i = 0; i < 60; i++) ids.push((await repo.saveBlob('data', randomBytes(20 * 1024))).id);
        for (let i = 0; i < 30; i++) ids.push((await repo.saveBlob('resource', Buffer.from(`{"n":${i}}`))).id);
        await repo.flush();
        // Keep every third data blob (mostly-garbage packs get repacked) and all metadata.
        const keep = new Set(ids.filter((_, i) => i >= 60 || i % 3 === 0));
        const dry = await repo.rewrite(keep, { dryRun: true });
        assert.equal(dry.dryRun, true);
        assert.equal(dry.blobsRemoved, 40);
        const untouched = await listAll(backend);
        assert.deepEqual(await listAll(backend), untouched);
        const packBytes = async () => {
          let n = 0;
          for await (const o of backend.list('data/')) n += o.size;
          return n;
        };
        const before = await packBytes();
        const res = await repo.rewrite(keep, { repackBelowUsedFraction: 0.5 });
        assert.equal(res.blobsRemoved, 40);
        assert.equal(res.bytesFreed, before - (await packBytes()), 'bytesFreed is what the backend holds less');
        assert.ok(res.packsRepacked > 0 && res.bytesFreed > 0, JSON.stringify(res));
        assert.deepEqual(new Set([...repo.indexedBlobs()].map((b) => b.id)), keep);
        const reopened = track(await Repository.open(backend, { passphrase: 'pw' }));
        assert.deepEqual(new Set([...reopened.indexedBlobs()].map((b) => b.id)), keep);
        for (const id of keep) await reopened.loadBlob(id);
        assert.deepEqual((await reopened.check({ readData: true })).errors, []);
        await assert.rejects(reopened.rewrite(new Set(['ab'.repeat(32)]), {}), /not in the index.*nothing was changed/);
      });

      it('check names the blob whose pack has a flipped byte, and loadBlob refuses it', async () => {
        const repo = track(await Repository.init(backend, opts));
        const victim = await repo.saveBlob('data', randomBytes(100 * 1024));
        const other = await repo.saveBlob('data', randomBytes(1000));
        await repo.flush();
        assert.deepEqual((await repo.check({ readData: true })).errors, []);
        const loc = [...repo.indexedBlobs()].find((b) => b.id === victim.id);
        assert.ok(loc);
        const file = join(dir, 'data', loc.pack.slice(0, 2), loc.pack);
        const bytes = readFileSync(file);
        bytes[loc.offset + 5000] ^= 0x10;
        writeFileSync(file, bytes);
        const structural = await repo.check({ readData: false });
        assert.deepEqual(structural.errors, [], 'the header is intact');
        const progress: number[] = [];
        const { errors } = await repo.check({ readData: true, onProgress: (d) => progress.push(d) });
        assert.equal(errors.length, 1);
        assert.equal(errors[0].kind, 'blob-damaged');
        assert.equal(errors[0].blobId, victim.id);
        assert.equal(errors[0].pack, loc.pack);
        assert.ok(progress.length > 1);
        const reopened = track(await Repository.open(backend, { passphrase: 'pw' }));
        await assert.rejects(reopened.loadBlob(victim.id), (e: Error) => e instanceof BlobDamagedError && e.blobId === victim.id && e.pack === loc.pack);
        assert.equal((await reopened.loadBlob(other.id)).length, 1000);
      });

      it('check reports a missing pack and a pack no index names', async () => {
        const repo = track(await Repository.init(backend, opts));
        await repo.saveBlob('resource', Buffer.from('a'));
        await repo.flush();
        const pack = [...repo.indexedBlobs()][0].pack;
        const bytes = await backend.get(`data/${pack.slice(0, 2)}/${pack}`);
        await backend.delete(`data/${pack.slice(0, 2)}/${pack}`);
        assert.deepEqual((await repo.check({ readData: false })).errors.map((e) => e.kind), ['missing-pack']);
        await backend.put(`data/${pack.slice(0, 2)}/${pack}`, bytes);
        for await (const o of backend.list('index/')) await backend.delete(o.key);
        const blind = track(await Repository.open(backend, { passphrase: 'pw' }));
        assert.deepEqual((await blind.check({ readData: false })).errors.map((e) => e.kind), ['unindexed-pack']);
      });
    });
  }

  it('names blobs by plain SHA-256 only when unencrypted, and keeps encrypted content unreadable at rest', async () => {
    const plain = track(await Repository.init(backend, { ...SMALL, insecureNoEncryption: true }));
    const text = Buffer.from('{"kind":"Secret","data":{"password":"c3VwZXI="}}'.repeat(3));
    assert.equal(plain.blobId(text), createHash('sha256').update(text).digest('hex'));
    const other = new LocalBackend(join(dir, 'enc'));
    const enc = track(await Repository.init(other, { ...SMALL, passphrase: 'p' }));
    assert.notEqual(enc.blobId(text), plain.blobId(text));
    await enc.saveBlob('resource', text);
    await enc.writeFile('catalogs', 'c1', text);
    await enc.flush();
    for await (const o of other.list('')) {
      const stored = await other.get(o.key);
      assert.ok(!stored.includes('password') && !stored.includes('Secret'), `${o.key} leaks plaintext`);
    }
  });

  it('opens despite a damaged index file, reports it in check, and rebuildIndex repairs it', async () => {
    const repo = track(await Repository.init(backend, { ...SMALL, passphrase: 'p' }));
    const { id } = await repo.saveBlob('tree', Buffer.from('[1,2,3]'));
    await repo.flush();
    let indexKey = '';
    for await (const o of backend.list('index/')) indexKey = o.key;
    const file = join(dir, indexKey);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(file, bytes);
    const damaged = track(await Repository.open(backend, { passphrase: 'p' }));
    assert.equal(damaged.hasBlob(id), false);
    const { errors } = await damaged.check({ readData: false });
    assert.deepEqual(errors.map((e) => e.kind).sort(), ['format', 'unindexed-pack']);
    assert.match(errors.find((e) => e.kind === 'format')?.message ?? '', new RegExp(`index file "${indexKey}"`));
    await damaged.rebuildIndex();
    const repaired = track(await Repository.open(backend, { passphrase: 'p' }));
    assert.equal((await repaired.loadBlob(id)).toString(), '[1,2,3]');
    assert.deepEqual((await repaired.check({ readData: true })).errors, []);
  });

  it('saves many streams at once, each intact, sharing what they have in common', async () => {
    const repo = track(await Repository.init(backend, { ...SMALL, passphrase: 'p', workers: 2 }));
    const common = randomBytes(600 * 1024);
    const inputs = Array.from({ length: 12 }, (_, i) => Buffer.concat([randomBytes(1000 * i), common, randomBytes(50_000)]));
    const results = await Promise.all(inputs.map((b) => repo.saveStream(Readable.from([b]))));
    await repo.flush();
    const stored = results.reduce((n, r) => n + r.addedBytes, 0);
    const total = inputs.reduce((n, b) => n + b.length, 0);
    assert.ok(stored < total * 0.5, `stored ${stored} of ${total} bytes`);
    const again = track(await Repository.open(backend, { passphrase: 'p' }));
    for (let i = 0; i < inputs.length; i++) {
      const back: Buffer[] = [];
      for await (const c of again.loadStream(results[i].chunks)) back.push(c as Buffer);
      assert.ok(Buffer.concat(back).equals(inputs[i]), `stream ${i}`);
    }
  });

  it('reads a blob that two writers both stored from its other copy when one is damaged', async () => {
    const a = track(await Repository.init(backend, { ...SMALL, passphrase: 'p' }));
    const b = track(await Repository.open(backend, { passphrase: 'p' }));
    const content = randomBytes(100 * 1024);
    const x = await a.saveBlob('data', content);
    const y = await b.saveBlob('data', Buffer.concat([content, Buffer.from('!')]).subarray(0, content.length));
    assert.equal(x.id, y.id);
    await a.flush();
    await b.flush();
    const c = track(await Repository.open(backend, { passphrase: 'p' }));
    const primary = [...c.indexedBlobs()].find((e) => e.id === x.id);
    assert.ok(primary);
    const file = join(dir, 'data', primary.pack.slice(0, 2), primary.pack);
    const bytes = readFileSync(file);
    bytes[primary.offset + 100] ^= 1;
    writeFileSync(file, bytes);
    assert.ok((await c.loadBlob(x.id)).equals(content));
    const { errors } = await c.check({ readData: true });
    assert.deepEqual(errors.map((e) => [e.kind, e.blobId, e.pack]), [['blob-damaged', x.id, primary.pack]]);
  });

  it('handles an empty stream and reports a blob it does not know', async () => {
    const repo = track(await Repository.init(backend, { ...SMALL, passphrase: 'p' }));
    assert.deepEqual(await repo.saveStream(Readable.from([])), { chunks: [], size: 0, addedChunks: 0, addedBytes: 0 });
    const chunks: Buffer[] = [];
    for await (const c of repo.loadStream([])) chunks.push(c as Buffer);
    assert.equal(chunks.length, 0);
    const missing = 'ab'.repeat(32);
    await assert.rejects(async () => {
      for await (const _ of repo.loadStream([missing])) void _;
    }, /not in the repository index/);
  });

  it('refuses a wrong passphrase with WrongPassphraseError and writes nothing', async () => {
    const repo = track(await Repository.init(backend, { passphrase: 'Tr0ub4dor-secret', kdf: KDF }));
    await repo.close();
    const before = await listAll(backend);
    await assert.rejects(Repository.open(backend, { passphrase: 'Tr0ub4dor-guess' }), (e: Error) => e instanceof WrongPassphraseError && /wrong passphrase/.test(e.message) && !e.message.includes('Tr0ub4dor'));
    await assert.rejects(Repository.open(backend, {}), /encrypted: give its passphrase/);
    assert.deepEqual(await listAll(backend), before);
  });

  it('refuses to create over an existing repository, and requires a passphrase or an explicit opt-out', async () => {
    await assert.rejects(Repository.init(backend, {}), /passphrase is required/);
    track(await Repository.init(backend, { passphrase: 'x', kdf: KDF }));
    await assert.rejects(Repository.init(backend, { passphrase: 'y', kdf: KDF }), /already holds a Lifeboat repository/);
  });

  it('says clearly when the location is not a repository or is from a newer format', async () => {
    await assert.rejects(Repository.open(backend, { passphrase: 'x' }), NotARepositoryError);
    await backend.put('config', Buffer.from('hello'));
    await assert.rejects(Repository.open(backend, { passphrase: 'x' }), NotARepositoryError);
    await backend.delete('config');
    track(await Repository.init(backend, { passphrase: 'x', kdf: KDF }));
    const config = readFileSync(join(dir, 'config'));
    config.writeUInt16BE(2, 4);
    writeFileSync(join(dir, 'config'), config);
    await assert.rejects(Repository.open(backend, { passphrase: 'x' }), (e: Error) => e instanceof UnsupportedFormatError && /upgrade Lifeboat/.test(e.message));
  });

  it('manages several passphrases: add, list, open with each, remove', async () => {
    const repo = track(await Repository.init(backend, { passphrase: 'one', kdf: KDF }));
    const id0 = await repo.saveBlob('resource', Buffer.from('x'));
    await repo.flush();
    const two = await repo.addKey('two', KDF);
    let keys = await repo.listKeys();
    assert.equal(keys.length, 2);
    assert.equal(keys.filter((k) => k.current).length, 1);
    assert.ok(keys.some((k) => k.id === two.id && !k.current));
    const viaTwo = track(await Repository.open(backend, { passphrase: 'two' }));
    assert.equal((await viaTwo.loadBlob(id0.id)).toString(), 'x');
    const oneId = keys.find((k) => k.current)?.id as string;
    await assert.rejects(repo.removeKey(oneId), /the one this session opened/);
    const keyFile = join(dir, 'keys', two.id);
    const good = readFileSync(keyFile);
    writeFileSync(keyFile, good.subarray(0, 40));
    assert.match((await repo.check({ readData: false })).errors.map((e) => e.message).join(), new RegExp(`key file "keys/${two.id}"`));
    writeFileSync(keyFile, good);
    await viaTwo.removeKey(oneId);
    await assert.rejects(Repository.open(backend, { passphrase: 'one' }), WrongPassphraseError);
    await assert.rejects(viaTwo.removeKey(two.id), /the one this session opened|last key/);
    keys = await viaTwo.listKeys();
    assert.deepEqual(keys.map((k) => k.id), [two.id]);
  });

  it('lets index files written by two writers coexist, and a later rewrite supersedes both', async () => {
    const a = track(await Repository.init(backend, { passphrase: 'p', kdf: KDF }));
    const b = track(await Repository.open(backend, { passphrase: 'p' }));
    const x = await a.saveBlob('resource', Buffer.from('from a'));
    const y = await b.saveBlob('resource', Buffer.from('from b'));
    await a.flush();
    await b.flush();
    const c = track(await Repository.open(backend, { passphrase: 'p' }));
    assert.ok(c.hasBlob(x.id) && c.hasBlob(y.id));
    await c.rewrite(new Set([x.id, y.id]), {});
    const indexFiles: string[] = [];
    for await (const o of backend.list('index/')) indexFiles.push(o.key);
    assert.equal(indexFiles.length, 1);
    const d = track(await Repository.open(backend, { passphrase: 'p' }));
    assert.equal((await d.loadBlob(y.id)).toString(), 'from b');
  });
});
