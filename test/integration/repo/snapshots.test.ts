import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  catalogFiles,
  deleteSnapshot,
  findSnapshot,
  listSnapshots,
  listVolumeFiles,
  openFile,
  prune,
  readCatalog,
  readManifest,
  readResource,
  Repository,
  restoreToDirectory,
  SnapshotWriter,
  verify,
  volumeTarStream,
} from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage';
import { tarEnd, tarHeader, tarPadding } from '../../../src/engine/repo/tar';
import { diffTrees, generateDataset, hashFile, hashTree, treeBytes, type DatasetSummary } from '../../support/datagen';

function tarOf(dir: string): Readable {
  const child = spawn('tar', ['-cf', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

async function untar(stream: Readable, dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn('tar', ['-xf', '-', '-C', dir], { stdio: ['pipe', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number>((resolve) => child.on('close', resolve));
  await pipeline(stream, child.stdin);
  const code = await exited;
  assert.equal(code, 0, `tar -x failed: ${stderr}`);
}

async function sha(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return h.digest('hex');
}

function deterministicStream(bytes: number, seed: number): Readable {
  let left = bytes;
  let counter = 0;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, 256 * 1024);
      const chunk = Buffer.alloc(n);
      for (let i = 0; i < n; i += 32) createHash('sha256').update(`${seed}:${counter++}`).digest().copy(chunk, i);
      left -= n;
      this.push(chunk);
    },
  });
}

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'api',
    namespace: 'shop',
    labels: { app: 'api' },
    annotations: { 'lifeboat.dev/backup': 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
  },
  spec: {
    replicas: 2,
    template: {
      metadata: { labels: { app: 'api' } },
      spec: { initContainers: [{ name: 'init', image: 'busybox:1.36' }], containers: [{ name: 'api', image: 'registry.example/api:1.4.2' }] },
    },
  },
};
const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: { mode: 'prod' } };

describe('snapshots on a local repository', function () {
  this.timeout(120_000);
  let work: string;
  let src: string;
  let data: DatasetSummary;
  let repo: Repository;
  let first: string;
  const volume = { namespace: 'shop', pvc: 'data' };

  before(async function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-snap-'));
    src = path.join(work, 'src');
    data = await generateDataset(src, { totalBytes: 6 * 1024 * 1024, smallFiles: 120, seed: 7 });
    fs.linkSync(path.join(src, data.largest.path), path.join(src, 'special', 'hardlink-to-largest'));
    fs.chmodSync(path.join(src, 'special', 'empty-file'), 0o640);
    repo = await Repository.init(new LocalBackend(path.join(work, 'repo')), { passphrase: 'correct horse' });
  });

  after(async function () {
    await repo?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('commits a snapshot of resources, a volume and a data stream, and lists it', async function () {
    const w = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: { namespaces: ['shop'] }, tags: ['nightly'] });
    await w.addResource(deployment);
    await w.addResource(configMap);
    const vol = await w.addVolume(volume, tarOf(src), { storageClass: 'fast', capacity: '1Gi' });
    assert.equal(vol.files, data.files, 'every regular file once; the second name of a hard-linked file is a link');
    const etcd = await w.addData('etcd', deterministicStream(3 * 1024 * 1024 + 17, 1), { revision: 42 });
    assert.equal(etcd.bytes, 3 * 1024 * 1024 + 17);
    w.warn('one warning');
    const summary = await w.commit();
    first = summary.id;
    assert.equal(summary.cluster, 'prod');
    assert.deepEqual(summary.counts, { resources: 2, volumes: 1, files: vol.files, data: 1 });
    assert.deepEqual(summary.warnings, ['one warning']);
    assert.ok(summary.sizes.bytes >= data.bytes + etcd.bytes);
    assert.ok(summary.sizes.added > etcd.bytes, `a first snapshot adds most of what it captures (${summary.sizes.added})`);

    const all = await listSnapshots(repo);
    assert.equal(all.length, 1);
    assert.equal(all[0].id, first);
    assert.deepEqual(all[0].tags, ['nightly']);
    assert.equal((await findSnapshot(repo, first.slice(0, 6))).id, first);
    await assert.rejects(findSnapshot(repo, 'ffffffffffff'), /no snapshot "ffffffffffff"/);
  });

  it('reads one object back exactly as stored', async function () {
    assert.deepEqual(await readResource(repo, first, { kind: 'deployment', namespace: 'shop', name: 'api' }), deployment);
    assert.deepEqual(await readResource(repo, first, { group: '', kind: 'ConfigMap', namespace: 'shop', name: 'settings' }), configMap);
    await assert.rejects(readResource(repo, first, { kind: 'Secret', namespace: 'shop', name: 'x' }), /has no Secret shop\/x/);
  });

  it('catalogs objects with images and Lifeboat annotations, and every file with its size', async function () {
    const catalog = await readCatalog(repo, first);
    const dep = catalog.resources.find((r) => r.kind === 'Deployment')!;
    assert.equal(dep.group, 'apps');
    assert.equal(dep.version, 'v1');
    assert.deepEqual(dep.images, ['busybox:1.36', 'registry.example/api:1.4.2']);
    assert.deepEqual(dep.annotations, { 'lifeboat.dev/backup': 'true' });
    assert.deepEqual(dep.labels, { app: 'api' });
    assert.equal(catalog.volumes[0].storageClass, 'fast');
    assert.equal(catalog.data[0].name, 'etcd');
    const listed = new Map<string, number>();
    for await (const line of catalogFiles(repo, catalog.volumes[0])) if (!line.t) listed.set(line.p, line.s);
    for (const [rel, size] of data.sizes) assert.equal(listed.get('/' + rel), size, `catalog lists /${rel}`);
  });

  it('lists a directory and streams one file by path', async function () {
    const root = await listVolumeFiles(repo, first, volume);
    assert.deepEqual(
      root.map((f) => f.path),
      ['/random', '/shared', '/small', '/special', '/text'],
    );
    const special = await listVolumeFiles(repo, first, volume, '/special');
    const link = special.find((f) => f.path === '/special/link-to-largest')!;
    assert.equal(link.type, 'symlink');
    assert.equal(link.target, '../random/r000.bin');
    assert.equal(special.find((f) => f.path === '/special/empty-file')!.mode, 0o640);
    const wanted = await hashFile(path.join(src, data.largest.path));
    assert.equal(await sha(await openFile(repo, first, volume, '/' + data.largest.path)), wanted);
    // The hard link resolves to the same content, whichever of the two names tar stored first.
    assert.equal(await sha(await openFile(repo, first, volume, 'special/hardlink-to-largest')), wanted);
    await assert.rejects(openFile(repo, first, volume, '/nope.txt'), /does not exist/);
    await assert.rejects(openFile(repo, first, volume, '/special'), /is a directory/);
  });

  it('re-creates a tar of the volume that extracts byte-identical, links included', async function () {
    const out = path.join(work, 'untar-all');
    await untar(volumeTarStream(repo, first, volume), out);
    assert.deepEqual(diffTrees(await hashTree(src), await hashTree(out)), []);
    assert.equal(fs.statSync(path.join(out, 'special', 'hardlink-to-largest')).ino, fs.statSync(path.join(out, data.largest.path)).ino);
    assert.equal(fs.statSync(path.join(out, 'special', 'empty-file')).mode & 0o777, 0o640);
    assert.equal(
      Math.floor(fs.statSync(path.join(out, data.largest.path)).mtimeMs / 1000),
      Math.floor(fs.statSync(path.join(src, data.largest.path)).mtimeMs / 1000),
    );

    const sub = path.join(work, 'untar-special');
    await untar(volumeTarStream(repo, first, volume, '/special'), sub);
    // The hard link's partner is outside the subtree, so the link carries the content itself.
    assert.equal(await hashFile(path.join(sub, 'hardlink-to-largest')), await hashFile(path.join(src, data.largest.path)));
    assert.ok(fs.existsSync(path.join(sub, 'empty-dir')));
  });

  it('restores a volume into a local directory', async function () {
    const out = path.join(work, 'restored');
    const result = await restoreToDirectory(repo, first, volume, out);
    assert.deepEqual(result.skipped, []);
    assert.deepEqual(diffTrees(await hashTree(src), await hashTree(out)), []);
    assert.equal(fs.statSync(path.join(out, 'special', 'hardlink-to-largest')).ino, fs.statSync(path.join(out, data.largest.path)).ino);

    const sub = path.join(work, 'restored-special');
    const partial = await restoreToDirectory(repo, first, volume, sub, { subPath: '/special' });
    // Restored alone, the hard link carries the content; the symlink would point outside the target and is refused.
    assert.equal(await hashFile(path.join(sub, 'hardlink-to-largest')), await hashFile(path.join(src, data.largest.path)));
    assert.deepEqual(partial.skipped.map((s) => s.path), ['/link-to-largest']);
    assert.ok(!fs.existsSync(path.join(sub, 'link-to-largest')));
  });

  it('never writes outside the restore directory, whatever the archive held', async function () {
    const base = { uid: process.getuid!(), gid: process.getgid!(), uname: '', gname: '', mtime: 1_700_000_000 };
    const body = Buffer.from('content\n');
    const fileEntry = (name: string): Buffer[] => [
      tarHeader({ ...base, path: name, type: 'file', mode: 0o644, size: body.length }, name),
      body,
      tarPadding(body.length),
    ];
    const archive = Buffer.concat([
      ...fileEntry('../escape.txt'),
      ...fileEntry('ok.txt'),
      tarHeader({ ...base, path: 'up', type: 'symlink', mode: 0o777, size: 0, linkTarget: '../../etc' }, 'up'),
      tarHeader({ ...base, path: 'abs', type: 'symlink', mode: 0o777, size: 0, linkTarget: '/etc/passwd' }, 'abs'),
      tarHeader({ ...base, path: 'planted', type: 'dir', mode: 0o755, size: 0 }, 'planted'),
      ...fileEntry('planted/inside.txt'),
      tarEnd(),
    ]);
    const w = await SnapshotWriter.begin(repo, { cluster: 'hostile', scope: {} });
    await w.addVolume({ namespace: 'evil', pvc: 'data' }, Readable.from([archive]));
    const snap = await w.commit();
    assert.ok(snap.warnings.some((m) => /skipped "\.\.\/escape\.txt": the path leads outside the volume/.test(m)), snap.warnings.join('; '));

    const target = path.join(work, 'safe-target');
    const result = await restoreToDirectory(repo, snap.id, { namespace: 'evil', pvc: 'data' }, target);
    assert.deepEqual(result.skipped.map((x) => x.path).sort(), ['/abs', '/up']);
    assert.ok(fs.existsSync(path.join(target, 'ok.txt')));
    assert.ok(!fs.existsSync(path.join(work, 'escape.txt')));

    // A symlink already in the target must not redirect writes.
    const outside = path.join(work, 'outside');
    fs.mkdirSync(outside);
    const second = path.join(work, 'planted-target');
    fs.mkdirSync(second);
    fs.symlinkSync(outside, path.join(second, 'planted'));
    await assert.rejects(restoreToDirectory(repo, snap.id, { namespace: 'evil', pvc: 'data' }, second), /refusing to write through it/);
    assert.deepEqual(fs.readdirSync(outside), []);
  });

  it('refuses to commit a snapshot whose volume stream is truncated or not tar', async function () {
    const chunks: Buffer[] = [];
    for await (const c of tarOf(path.join(src, 'special'))) chunks.push(c as Buffer);
    const whole = Buffer.concat(chunks);
    const countBefore = (await listSnapshots(repo)).length;
    for (const bad of [whole.subarray(0, Math.floor(whole.length / 2) + 7), Buffer.alloc(8192, 'garbage ')]) {
      const w = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: { namespaces: ['shop'] } });
      await w.addResource(configMap);
      await assert.rejects(w.addVolume(volume, Readable.from([bad])), /volume shop\/data: .*(truncated|not a tar stream).*will not be committed/);
      await assert.rejects(w.commit(), /snapshot not committed: volume shop\/data/);
    }
    assert.equal((await listSnapshots(repo)).length, countBefore, 'no snapshot was added');
  });

  it('prune after delete removes what only the deleted snapshot used and keeps shared data; verify is clean', async function () {
    // A second snapshot of the same volume plus a new file and different etcd data.
    fs.writeFileSync(path.join(src, 'added-later.txt'), 'new in the second snapshot\n');
    const packBytesBefore = await treeBytes(path.join(work, 'repo', 'data'));
    const w = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: { namespaces: ['shop'] } });
    await w.addResource(deployment);
    const vol = await w.addVolume(volume, tarOf(src));
    const second = await w.commit();
    const growth = (await treeBytes(path.join(work, 'repo', 'data'))) - packBytesBefore;
    assert.ok(growth < vol.bytes / 10, `an unchanged volume deduplicates: packs grew ${growth} bytes for ${vol.bytes} bytes of files`);
    assert.ok(second.sizes.added < vol.bytes / 10, `the summary counts only new data as added (${second.sizes.added})`);
    assert.ok(second.sizes.added > 0, 'the added file and the changed directory listings are new');

    const firstManifestData = (await readCatalog(repo, first)).data;
    assert.equal(firstManifestData.length, 1);
    const firstEtcdChunks = (await readManifest(repo, first)).data[0].chunks;
    const configBlob = (await readCatalog(repo, first)).resources.find((r) => r.kind === 'ConfigMap')!.blob;
    assert.ok(firstEtcdChunks.every((c) => repo.hasBlob(c)));

    await deleteSnapshot(repo, first);
    const dry = await prune(repo, { dryRun: true, repackBelowUsedFraction: 1 });
    assert.ok(dry.blobsRemoved >= firstEtcdChunks.length + 1, `a dry run reports ${dry.blobsRemoved} blobs to remove`);
    assert.ok(firstEtcdChunks.every((c) => repo.hasBlob(c)), 'and removes none');

    const before = await treeBytes(path.join(work, 'repo', 'data'));
    // Repack every pack that holds garbage, so the freed space shows on disk.
    const report = await prune(repo, { repackBelowUsedFraction: 1 });
    const after = await treeBytes(path.join(work, 'repo', 'data'));
    assert.ok(report.blobsRemoved >= firstEtcdChunks.length + 1, `removed ${report.blobsRemoved} blobs`);
    assert.ok(before - after > 3 * 1024 * 1024 * 0.9, `the data packs shrank from ${before} to ${after} bytes`);
    assert.ok(firstEtcdChunks.every((c) => !repo.hasBlob(c)), 'the etcd stream only the first snapshot had is gone');
    assert.ok(!repo.hasBlob(configBlob), 'the ConfigMap only the first snapshot had is gone');

    // Reopen from the backend: what is on disk, not what this process remembers.
    await repo.close();
    repo = await Repository.open(new LocalBackend(path.join(work, 'repo')), { passphrase: 'correct horse' });
    const check = await verify(repo, { readData: true });
    assert.deepEqual(check.errors, []);
    assert.equal(check.snapshots, 2, 'the second snapshot and the one of a hostile archive remain');
    assert.equal(await sha(await openFile(repo, second.id, volume, data.largest.path)), await hashFile(path.join(src, data.largest.path)));
    const out = path.join(work, 'restored-second');
    await restoreToDirectory(repo, second.id, volume, out);
    assert.deepEqual(diffTrees(await hashTree(src), await hashTree(out)), []);
  });
});

describe('incremental volume capture from a parent snapshot', function () {
  this.timeout(120_000);
  let work: string;
  let src: string;
  let repo: Repository;
  const volume = { namespace: 'shop', pvc: 'data' };
  const when = new Date('2026-03-01T10:00:00Z');

  function writeFile(rel: string, content: Buffer, mtime = when): void {
    const file = path.join(src, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    fs.utimesSync(file, mtime, mtime);
  }

  async function capture(parent?: string): Promise<{ id: string; added: number; files: number; reused: number }> {
    const w = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: {} });
    const vol = await w.addVolume(volume, tarOf(src), { parent });
    const summary = await w.commit();
    return { id: summary.id, added: summary.sizes.added, files: vol.files, reused: vol.reused.files };
  }

  async function restored(id: string, name: string): Promise<Map<string, string>> {
    const out = path.join(work, name);
    await restoreToDirectory(repo, id, volume, out);
    return hashTree(out);
  }

  async function volumeOf(id: string): Promise<{ tree: string; fileList: string[]; parent?: unknown }> {
    const root = (await readManifest(repo, id)).volumes[0];
    const cat = (await readCatalog(repo, id)).volumes[0];
    return { tree: root.tree, fileList: cat.fileList, parent: root.parent };
  }

  beforeEach(async function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-parent-'));
    src = path.join(work, 'src');
    for (let i = 0; i < 6; i++) writeFile(`dir${i % 2}/sub/f${i}.bin`, Buffer.from(createHash('sha256').update(`f${i}`).digest('hex').repeat(4000 + i)));
    writeFile('top.txt', Buffer.from('top level\n'));
    writeFile('empty', Buffer.alloc(0));
    fs.symlinkSync('top.txt', path.join(src, 'link'));
    repo = await Repository.init(new LocalBackend(path.join(work, 'repo')), { passphrase: 'p' });
  });

  afterEach(async function () {
    await repo?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('takes unchanged files from the parent without storing anything new, and the result equals a full capture', async function () {
    const first = await capture();
    assert.equal(first.reused, 0);
    const second = await capture(first.id);
    assert.equal(second.files, 8);
    assert.equal(second.reused, 8, 'every file was unchanged');
    assert.equal(second.added, 0, 'no blob was new to the repository');
    const full = await capture();
    const [a, b, c] = [await volumeOf(first.id), await volumeOf(second.id), await volumeOf(full.id)];
    assert.equal(b.tree, c.tree, 'the same tree as a full capture');
    assert.deepEqual(b.fileList, c.fileList, 'the same file list as a full capture');
    assert.equal(a.parent, undefined);
    assert.deepEqual(b.parent, { snapshot: first.id, files: 8, bytes: (await readManifest(repo, second.id)).volumes[0].bytes });
    assert.deepEqual(diffTrees(await hashTree(src), await restored(second.id, 'out')), []);
  });

  it('reads a file again when its modification time changed, even with the same size', async function () {
    const first = await capture();
    const changed = Buffer.from(fs.readFileSync(path.join(src, 'dir0/sub/f0.bin')).toString().toUpperCase());
    writeFile('dir0/sub/f0.bin', changed, new Date(when.getTime() + 5000));
    writeFile('dir1/new.txt', Buffer.from('new file\n'));
    const second = await capture(first.id);
    assert.equal(second.files, 9);
    assert.equal(second.reused, 7, 'the changed and the new file were read');
    assert.ok(second.added >= changed.length, `the changed content was stored (${second.added} bytes added)`);
    assert.deepEqual(diffTrees(await hashTree(src), await restored(second.id, 'out')), []);
    const full = await capture();
    assert.equal((await volumeOf(second.id)).tree, (await volumeOf(full.id)).tree);
  });

  it('keeps the parent content of a file changed without changing size or modification time; a full read sees it', async function () {
    const first = await capture();
    const file = path.join(src, 'dir1/sub/f1.bin');
    const old = await hashFile(file);
    writeFile('dir1/sub/f1.bin', Buffer.from(fs.readFileSync(file).toString().toUpperCase()));
    const second = await capture(first.id);
    assert.equal(second.reused, 8, 'size and mtime are all that is compared');
    assert.equal((await restored(second.id, 'with-parent')).get('dir1/sub/f1.bin'), old);
    const full = await capture();
    assert.equal(full.reused, 0);
    assert.equal((await restored(full.id, 'full')).get('dir1/sub/f1.bin'), await hashFile(file));
  });

  it('reads around a damaged directory listing of the parent, with a warning', async function () {
    const first = await capture();
    const root = (await readManifest(repo, first.id)).volumes[0].tree;
    const dir0 = (await listVolumeFiles(repo, first.id, volume, '/')).find((f) => f.path === '/dir0');
    assert.ok(dir0);
    const rootListing = JSON.parse((await repo.loadBlob(root)).toString()) as { entries: Array<{ name: string; subtree?: string }> };
    const listing = rootListing.entries.find((e) => e.name === 'dir0')!.subtree!;
    const where = [...repo.indexedBlobs()].find((b) => b.id === listing)!;
    // Real damage on disk: one flipped byte inside the sealed listing.
    await repo.close();
    const file = path.join(work, 'repo', 'data', where.pack.slice(0, 2), where.pack);
    const bytes = fs.readFileSync(file);
    bytes[where.offset + Math.floor(where.length / 2)] ^= 0xff;
    fs.writeFileSync(file, bytes);
    repo = await Repository.open(new LocalBackend(path.join(work, 'repo')), { passphrase: 'p' });

    const w = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: {} });
    const vol = await w.addVolume(volume, tarOf(src), { parent: first.id });
    const second = await w.commit();
    assert.equal(vol.reused.files, 5, 'the three files below dir0 were read again');
    assert.equal(second.warnings.length, 1);
    assert.match(second.warnings[0], /volume shop\/data: a directory listing of parent snapshot [0-9a-f]{12} could not be read/);
    assert.equal(vol.files, 8);
    // The new listing of dir0 equals the damaged one, so it shares that blob, as any deduplicating capture would.
  });

  it('reads everything when the parent data was pruned away', async function () {
    const first = await capture();
    const manifest = await repo.readFile('snapshots', first.id);
    const rootTree = (await readManifest(repo, first.id)).volumes[0].tree;
    // Only the top-level listing is kept below; a file there has its chunks gone.
    const rootListing = await repo.loadBlob(rootTree);
    await deleteSnapshot(repo, first.id);
    await prune(repo, { repackBelowUsedFraction: 1 });
    assert.ok(!repo.hasBlob(rootTree));
    // The manifest comes back: a parent whose blobs are gone.
    await repo.writeFile('snapshots', first.id, manifest);
    const second = await capture(first.id);
    assert.equal(second.reused, 0, 'nothing can be taken from a parent whose trees are gone');
    assert.deepEqual(diffTrees(await hashTree(src), await restored(second.id, 'out')), []);

    // The parent's top listing survives, its data does not: the file listed there is still read.
    await deleteSnapshot(repo, first.id);
    await deleteSnapshot(repo, second.id);
    await prune(repo, { repackBelowUsedFraction: 1 });
    await repo.saveBlob('tree', rootListing);
    await repo.flush();
    assert.ok(repo.hasBlob(rootTree));
    await repo.writeFile('snapshots', first.id, manifest);
    const fourth = await capture(first.id);
    assert.equal(fourth.reused, 1, 'only the empty file, which has no chunks, is taken');
    assert.deepEqual(diffTrees(await hashTree(src), await restored(fourth.id, 'out2')), []);
    const full = await capture();
    assert.equal((await volumeOf(fourth.id)).tree, (await volumeOf(full.id)).tree);
  });
});
