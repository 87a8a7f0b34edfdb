/**
 * Restoring one file or one directory of a snapshot's volume: into a claim
 * on the dev sandbox (at its own path and at another), and into a local
 * folder; compared by content hash, mode and mtime with the snapshot.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { JobProgress } from '../../../src/engine/progress';
import { placement, restoreFile } from '../../../src/engine/restore/restoreFile';
import type { RestoreFileRequest } from '../../../src/engine/restore/types';
import { assertSameTree, hostTree, snapshotTree, type FileFacts } from '../capture/volumeFixtures';
import { addFilesOfEveryKind, captureDb, claimDir, DB, newClaim, ownerOf, restoreMovers, startRestoreVolumeBed, stopRestoreVolumeBed, type RestoreVolumeBed } from './volumeBed';

describe('restoring a single file or directory', function () {
  this.timeout(240_000);
  let bed: RestoreVolumeBed;
  let snapshot: string;
  let captured: Map<string, FileFacts>;
  let dir: string;

  before(async () => {
    bed = await startRestoreVolumeBed('restore-file');
    await addFilesOfEveryKind(await claimDir(bed.prod, DB.namespace, DB.pvc));
    snapshot = await captureDb(bed);
    captured = await snapshotTree(bed.repo, snapshot, DB);
    await newClaim(bed.devKube, bed.devKinds, 'files', 'target');
    dir = await claimDir(bed.dev, 'files', 'target');
  });

  after(async () => stopRestoreVolumeBed(bed));

  const toClaim = (targetPath?: string): RestoreFileRequest['to'] => ({ kind: 'pvc', kubeconfig: bed.sandbox.kubeconfigPath, context: 'sandbox-dev', namespace: 'files', pvc: 'target', targetPath });

  /** The captured entries below a volume directory, keyed relative to it. */
  function capturedUnder(prefix: string): Map<string, FileFacts> {
    return new Map([...captured].filter(([p]) => p.startsWith(`${prefix}/`)).map(([p, f]) => [p.slice(prefix.length), f]));
  }

  it('puts one file back at its own path in the claim, byte-identical, with its mode, mtime and owner', async () => {
    const progress: JobProgress[] = [];
    const result = await restoreFile(bed.repo, { snapshot, volume: DB, path: '/pgdata/postgresql.conf', to: toClaim() }, { onProgress: (p) => progress.push(p) });
    const tree = await hostTree(dir);
    assert.deepEqual(result, { files: 1, dirs: 0, bytes: (await readFile(path.join(dir, 'pgdata/postgresql.conf'))).length, skipped: [] });
    assert.deepEqual(tree.get('/pgdata/postgresql.conf'), captured.get('/pgdata/postgresql.conf'));
    assert.deepEqual([...tree.keys()], ['/pgdata', '/pgdata/postgresql.conf'], 'only the file (and its directory) was written');
    assert.equal((await ownerOf(path.join(dir, 'pgdata/postgresql.conf'))).uid, 999);
    assert.ok(progress.some((p) => p.bytesDone === result.bytes && p.bytesTotal === result.bytes));
    assert.deepEqual(await restoreMovers(bed.devKube, bed.devKinds), []);
  });

  it('puts one file at another path and under another name; into a directory when the path ends with "/"', async () => {
    await restoreFile(bed.repo, { snapshot, volume: DB, path: '/pgdata/pg_hba.conf', to: toClaim('/restored/hba-yesterday.conf') });
    await restoreFile(bed.repo, { snapshot, volume: DB, path: '/pgdata/pg_hba.conf', to: toClaim('/restored/into/') });
    const tree = await hostTree(dir);
    assert.equal(tree.get('/restored/hba-yesterday.conf')?.sha256, captured.get('/pgdata/pg_hba.conf')!.sha256);
    assert.equal(tree.get('/restored/into/pg_hba.conf')?.sha256, captured.get('/pgdata/pg_hba.conf')!.sha256);
  });

  it('restores a hard-linked file whose partner is not restored with it, carrying the content', async () => {
    await restoreFile(bed.repo, { snapshot, volume: DB, path: '/extra/linked.bin', to: toClaim('/links/') });
    assert.equal((await hostTree(dir)).get('/links/linked.bin')?.sha256, captured.get('/extra/original.bin')!.sha256);
  });

  it('puts a directory back as that directory, at its own path and at another', async () => {
    const own = await restoreFile(bed.repo, { snapshot, volume: DB, path: '/pgdata/base', to: toClaim() });
    await restoreFile(bed.repo, { snapshot, volume: DB, path: '/pgdata/base', to: toClaim('/copy/of-base') });
    const want = capturedUnder('/pgdata/base');
    assertSameTree(await hostTree(path.join(dir, 'pgdata', 'base')), want);
    assertSameTree(await hostTree(path.join(dir, 'copy', 'of-base')), want);
    assert.equal(own.files, [...want.values()].filter((f) => f.type === 'file').length);
    assert.equal(own.dirs, [...want.values()].filter((f) => f.type === 'dir').length + 1, 'the directory itself and those below it');
  });

  it('restores a file and a directory into a local folder, byte-identical', async () => {
    const local = await mkdtemp(path.join(bed.work, 'local-'));
    const file = await restoreFile(bed.repo, { snapshot, volume: DB, path: '/pgdata/PG_VERSION', to: { kind: 'dir', directory: local } });
    assert.deepEqual(file, { files: 1, dirs: 0, bytes: 3, skipped: [] });
    assert.equal(await readFile(path.join(local, 'PG_VERSION'), 'utf8'), '16\n');
    const folder = path.join(local, 'extra');
    const result = await restoreFile(bed.repo, { snapshot, volume: DB, path: '/extra', to: { kind: 'dir', directory: folder } });
    const tree = await hostTree(folder);
    for (const [p, want] of capturedUnder('/extra')) {
      if (want.type === 'file') assert.deepEqual(tree.get(p), want, `local copy of /extra${p}`);
    }
    assert.deepEqual(
      result.skipped.map((s) => s.path).sort(),
      ['/absolute-link'],
      'a symlink that would point out of the folder is not created, and said so',
    );
  });

  it('names what is missing: the snapshot, the volume, the path', async () => {
    await assert.rejects(restoreFile(bed.repo, { snapshot: 'abcdef', volume: DB, path: '/x', to: toClaim() }), /no snapshot "abcdef"/);
    await assert.rejects(restoreFile(bed.repo, { snapshot, volume: { namespace: 'shop', pvc: 'gone' }, path: '/x', to: toClaim() }), /has no volume shop\/gone/);
    await assert.rejects(restoreFile(bed.repo, { snapshot, volume: DB, path: '/pgdata/nope.conf', to: toClaim() }), /volume shop\/data-db-0 in snapshot \w{12} has no \/pgdata\/nope\.conf/);
    await assert.rejects(restoreFile(bed.repo, { snapshot, volume: DB, path: '/../etc', to: toClaim() }), /contains "\.\."/);
  });

  it('places files and directories as documented', () => {
    assert.deepEqual(placement(['a', 'b.txt'], false, undefined), { dir: '/a' });
    assert.deepEqual(placement(['a', 'b.txt'], false, '/c/d.txt'), { dir: '/c', fileName: 'd.txt' });
    assert.deepEqual(placement(['a', 'b.txt'], false, '/c/'), { dir: '/c' });
    assert.deepEqual(placement(['a', 'b'], true, undefined), { dir: '/a/b' });
    assert.deepEqual(placement(['a', 'b'], true, '/x'), { dir: '/x' });
    assert.deepEqual(placement([], true, undefined), { dir: '/' });
  });
});
