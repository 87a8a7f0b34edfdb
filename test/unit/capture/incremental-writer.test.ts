/**
 * The snapshot writer completing a volume from its parent: archives made by
 * the host's GNU tar, with and without an exclude list, into a real
 * repository on disk.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { excludeList } from '../../../src/engine/capture/incremental';
import { readManifest, Repository, SnapshotWriter, type VolumeRoot } from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage/local';

const VOLUME = { namespace: 'shop', pvc: 'data' };

/** `tar -cf - -C dir .`, leaving out the given paths through -X as the mover does. */
function tarOf(dir: string, leaveOut: string[] = []): Readable {
  const child = spawn('tar', ['-cf', '-', '-X', '-', '-C', dir, '.'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(excludeList(leaveOut));
  // Piped at once: a child's unread output is dropped when it exits.
  return child.stdout.pipe(new PassThrough({ highWaterMark: 1 << 20 }));
}

describe('a snapshot writer completing a volume from its parent', function () {
  this.timeout(60_000);
  let work: string;
  let dir: string;
  let repo: Repository;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-incremental-writer-'));
    repo = await Repository.init(new LocalBackend(path.join(work, 'repo')), { insecureNoEncryption: true });
    dir = path.join(work, 'volume');
    await mkdir(path.join(dir, 'base', '1'), { recursive: true });
    await mkdir(path.join(dir, 'empty-dir'));
    for (const [p, text] of [
      ['PG_VERSION', '16\n'],
      ['base/1/1259', 'x'.repeat(70_000)],
      ['base/1/1260', 'y'.repeat(10)],
      ['base/notes', 'kept\n'],
      ['zeta', ''],
    ]) await writeFile(path.join(dir, p), text);
    await chmod(path.join(dir, 'base/1/1260'), 0o600);
    await symlink('base/notes', path.join(dir, 'link'));
    const t = new Date('2025-01-02T03:04:05Z');
    for (const p of ['PG_VERSION', 'base/1/1259', 'base/1/1260', 'base/notes', 'zeta', 'base/1', 'base', 'empty-dir', '.']) await utimes(path.join(dir, p), t, t);
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function store(tar: Readable, info: { parent?: string; reuse?: Set<string> } = {}): Promise<{ id: string; root: VolumeRoot; reused: { files: number; bytes: number } }> {
    const writer = await SnapshotWriter.begin(repo, { cluster: 'c', scope: {} });
    try {
      const stored = await writer.addVolume(VOLUME, tar, info);
      const summary = await writer.commit();
      return { id: summary.id, root: (await readManifest(repo, summary.id)).volumes[0], reused: stored.reused };
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  let first: string;

  it('stores the same tree as a full read when the unchanged files are left out of the archive', async () => {
    const parent = (await store(tarOf(dir))).id;
    first = parent;
    const full = await store(tarOf(dir));
    const leftOut = ['PG_VERSION', 'base/1/1259', 'base/1/1260', 'zeta'];
    const incremental = await store(tarOf(dir, leftOut), { parent, reuse: new Set(leftOut) });
    assert.equal(incremental.root.tree, full.root.tree, 'the root tree blobs are the same');
    assert.deepEqual(incremental.root.root, full.root.root);
    // The four left out, and base/notes, which the archive carried unchanged.
    assert.deepEqual(incremental.reused, { files: 5, bytes: 3 + 70_000 + 10 + 5 });
    assert.equal(incremental.root.files, full.root.files);
    assert.equal(incremental.root.bytes, full.root.bytes);
  });

  it('fails the volume when a file left out is not in the parent', async () => {
    const parent = first;
    await writeFile(path.join(dir, 'base', 'new'), 'new\n');
    try {
      await assert.rejects(store(tarOf(dir, ['base/new']), { parent, reuse: new Set(['base/new']) }), /file base\/new was left out of the archive as unchanged, but parent snapshot \w+ holds no content for it/);
    } finally {
      await rm(path.join(dir, 'base', 'new'));
    }
  });

  it('fails the volume when the archive holds a file said to be left out of it', async () => {
    const parent = first;
    await assert.rejects(store(tarOf(dir), { parent, reuse: new Set(['PG_VERSION']) }), /the archive holds PG_VERSION, which was to be left out of it as unchanged/);
  });

  it('leaves out, with a warning, files whose directory the archive lacks', async () => {
    const writer = await SnapshotWriter.begin(repo, { cluster: 'c', scope: {} });
    await writer.addVolume(VOLUME, tarOf(dir), { parent: first, reuse: new Set(['gone/file']) });
    const summary = await writer.commit();
    assert.deepEqual(summary.warnings, ['volume shop/data: directory "gone" vanished while the volume was read; its 1 unchanged files are not in the snapshot']);
  });

  it('refuses files vouched unchanged without a parent', async () => {
    await assert.rejects(store(tarOf(dir), { reuse: new Set(['PG_VERSION']) }), /vouched unchanged but no parent snapshot was named/);
  });
});
