/**
 * Snapshots whose trees were tampered with: entries named "../evil", "/abs",
 * "a/b", "", ".", "..", duplicates, a symlink with a directory of the same
 * name under which a file would be written through the link, hard links
 * leaving the volume. Built by writing tree blobs straight into the
 * repository, then restored into a claim on the dev sandbox (whose exec runs
 * tar as a real process on this host): every one is refused with
 * UnsafeSnapshotEntryError before its bytes leave Lifeboat, and nothing
 * appears outside the claim's directory.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { encodeManifest } from '../../../src/engine/repo/snapshot';
import { readManifest, SnapshotWriter, volumeTarStream } from '../../../src/engine/repo/api';
import { tarEnd, tarHeader, tarPadding } from '../../../src/engine/repo/tar';
import { encodeTree, type TreeEntry } from '../../../src/engine/repo/tree';
import { safeVolumeTarStream, UnsafeSnapshotEntryError } from '../../../src/engine/restore/safeTar';
import { writeVolume } from '../../../src/engine/restore/volumeWrite';
import { claimDir, newClaim, restoreMovers, startRestoreVolumeBed, stopRestoreVolumeBed, type RestoreVolumeBed } from './volumeBed';

const VOLUME = { namespace: 'app', pvc: 'files' };
const TIME = '2026-01-01T00:00:00.000Z';

describe('restoring a damaged or hostile snapshot', function () {
  this.timeout(240_000);
  let bed: RestoreVolumeBed;
  let base: string;
  let target: string;

  /** Every path below a host directory, "/"-joined and relative to it. */
  async function listAll(root: string, rel = ''): Promise<string[]> {
    const out: string[] = [];
    for (const name of (await readdir(path.join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      out.push(p);
      if ((await lstat(path.join(root, p))).isDirectory()) out.push(...(await listAll(root, p)));
    }
    return out;
  }

  const file = async (name: string, text: string): Promise<TreeEntry> => {
    const saved = await bed.repo.saveStream(Readable.from([Buffer.from(text)]));
    return { name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: TIME, size: saved.size, chunks: saved.chunks };
  };
  const dirOf = async (name: string, entries: TreeEntry[]): Promise<TreeEntry> => ({
    name,
    type: 'dir',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: TIME,
    size: 0,
    subtree: (await bed.repo.saveBlob('tree', encodeTree(entries))).id,
  });
  const symlinkTo = (name: string, target: string): TreeEntry => ({ name, type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: TIME, size: 0, target });

  /** A snapshot like the base one whose volume root lists these entries (as given: duplicates and all). */
  async function hostileSnapshot(entries: TreeEntry[]): Promise<string> {
    const tree = (await bed.repo.saveBlob('tree', encodeTree(entries))).id;
    await bed.repo.flush();
    const manifest = await readManifest(bed.repo, base);
    const id = randomBytes(32).toString('hex');
    await bed.repo.writeFile('snapshots', id, encodeManifest({ ...manifest, id, volumes: [{ ...manifest.volumes[0], tree }] }));
    return id;
  }

  before(async () => {
    bed = await startRestoreVolumeBed('restore-hostile');
    // A sound snapshot of one small volume, built from a tar stream.
    const parts = [
      tarHeader({ path: '.', type: 'dir', mode: 0o755, uid: 0, gid: 0, uname: '', gname: '', mtime: 1, size: 0 }, '.'),
      tarHeader({ path: 'ok.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: 1, size: 3 }, 'ok.txt'),
      Buffer.from('ok\n'),
      tarPadding(3),
      tarEnd(),
    ];
    const writer = await SnapshotWriter.begin(bed.repo, { cluster: 'sandbox-prod', scope: {} });
    await writer.addVolume(VOLUME, Readable.from(parts));
    base = (await writer.commit()).id;
    await newClaim(bed.devKube, bed.devKinds, 'app', 'files');
    target = await claimDir(bed.dev, 'app', 'files');
  });

  after(async () => stopRestoreVolumeBed(bed));

  /** The archive bytes emitted before the stream failed, and its error. */
  async function drain(snapshot: string): Promise<{ bytes: Buffer; error?: unknown }> {
    const chunks: Buffer[] = [];
    try {
      for await (const c of safeVolumeTarStream(bed.repo, snapshot, VOLUME)) chunks.push(c as Buffer);
      return { bytes: Buffer.concat(chunks) };
    } catch (error) {
      return { bytes: Buffer.concat(chunks), error };
    }
  }

  it('emits the same archive as volumeTarStream for a sound snapshot, ending on a whole 10240-byte record', async () => {
    const plain: Buffer[] = [];
    for await (const c of volumeTarStream(bed.repo, base, VOLUME)) plain.push(c as Buffer);
    const safe = await drain(base);
    assert.ifError(safe.error);
    assert.ok(safe.bytes.equals(Buffer.concat(plain)));
    assert.equal(safe.bytes.length % 10240, 0);
    await writeVolume(bed.devKube, bed.repo, { snapshot: base, source: VOLUME, target: { namespace: 'app', pvc: 'files' } });
    assert.deepEqual(await listAll(target), ['ok.txt']);
  });

  const cases: Array<{ what: string; entries: () => Promise<TreeEntry[]>; names: RegExp; marker: string }> = [
    { what: 'a name climbing out with ".."', entries: async () => [await file('a-first.txt', 'x'), await file('../evil', 'evil')], names: /snapshot entry \/"\.\.\/evil" of volume app\/files has a name that is not a single path component/, marker: 'evil' },
    { what: 'an absolute name', entries: async () => [await file('/abs-evil', 'evil')], names: /snapshot entry \/"\/abs-evil"/, marker: 'abs-evil' },
    { what: 'a name with a slash', entries: async () => [await file('a/b-evil', 'evil')], names: /snapshot entry \/"a\/b-evil"/, marker: 'b-evil' },
    { what: 'the name ".."', entries: async () => [await dirOf('..', [await file('dotdot-evil', 'evil')])], names: /snapshot entry \/"\.\."/, marker: 'dotdot-evil' },
    { what: 'the name "."', entries: async () => [await dirOf('.', [await file('dot-evil', 'evil')])], names: /snapshot entry \/"\."/, marker: 'dot-evil' },
    { what: 'an empty name', entries: async () => [await file('', 'evil')], names: /snapshot entry \/""/, marker: 'never-written' },
    { what: 'a NUL in a name', entries: async () => [await file('nul\0-evil', 'evil')], names: /snapshot entry \/"nul\\u0000-evil"/, marker: 'nul' },
    { what: 'a duplicate name', entries: async () => [await file('dup-evil', 'one'), await file('dup-evil', 'two')], names: /snapshot entry \/dup-evil of volume app\/files appears twice in its directory/, marker: 'never-written' },
    {
      what: 'a symlink out of the volume and a directory of the same name with a file under it',
      entries: async () => [symlinkTo('escape', '../../../../../../../../tmp'), await dirOf('escape', [await file('pwned-through-link', 'evil')])],
      names: /snapshot entry \/escape of volume app\/files appears twice in its directory/,
      marker: 'pwned-through-link',
    },
    {
      what: 'a symlink out of the volume and a file named through it',
      entries: async () => [symlinkTo('out', '/'), await file('out/pwned-by-name', 'evil')],
      names: /snapshot entry \/"out\/pwned-by-name"/,
      marker: 'pwned-by-name',
    },
    {
      what: 'a hard link to a path outside the volume',
      entries: async () => [{ name: 'hard-evil', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, mtime: TIME, size: 0, target: '../../etc/passwd' }],
      names: /snapshot entry \/hard-evil of volume app\/files is a hard link to "\.\.\/\.\.\/etc\/passwd", which is not a path inside the volume/,
      marker: 'hard-evil',
    },
    {
      what: 'a bad name deep in a subdirectory',
      entries: async () => [await dirOf('sub', [await dirOf('deeper', [await file('../../../deep-evil', 'evil')])])],
      names: /snapshot entry \/sub\/deeper\/"\.\.\/\.\.\/\.\.\/deep-evil"/,
      marker: 'deep-evil',
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.what}, before any byte of it is emitted, and writes nothing outside the claim`, async () => {
      const snapshot = await hostileSnapshot(await c.entries());
      const drained = await drain(snapshot);
      assert.ok(drained.error instanceof UnsafeSnapshotEntryError, `refused, not ${String(drained.error)}`);
      assert.match(drained.error.message, c.names);
      assert.match(drained.error.message, /the snapshot is damaged or hostile; the restore stopped before writing it and nothing more was written$/);
      assert.equal(drained.bytes.includes(c.marker), false, 'the entry is not in what was emitted');

      const around = path.dirname(target);
      const before = await listAll(around);
      await assert.rejects(writeVolume(bed.devKube, bed.repo, { snapshot, source: VOLUME, target: { namespace: 'app', pvc: 'files' } }), (err: unknown) => {
        assert.ok(err instanceof UnsafeSnapshotEntryError, `refused, not ${String(err)}`);
        assert.match(err.message, c.names);
        return true;
      });
      assert.deepEqual(await listAll(around), before, 'nothing new beside or inside the claim directories');
      assert.deepEqual((await readdir('/tmp')).filter((n) => n.includes(c.marker)), [], 'nothing written through a link');
      assert.deepEqual((await listAll(bed.dev.dataDir)).filter((p) => p.includes(c.marker)), [], 'nothing anywhere in the cluster data');
      assert.deepEqual(await restoreMovers(bed.devKube, bed.devKinds), [], 'the mover is gone');
    });
  }
});
