import { strict as assert } from 'node:assert';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { readManifest, Repository } from '../../../src/engine/repo/api';
import { treeLoader } from '../../../src/engine/repo/snapshotReader';
import { walkTree } from '../../../src/engine/repo/tree';
import { LocalBackend } from '../../../src/engine/storage';
import { diffTrees, generateDataset, hashFile, hashTree } from '../../support/datagen';
import { cli, cliOk, parseJson, type RunResult } from '../../support/proc';

/**
 * Damage on disk — one flipped byte in a pack, an index file, a snapshot
 * manifest, or a pack cut short — must be found and named (which blob, which
 * snapshots and files depend on it), must not take undamaged data with it, and
 * must never crash or hang the command that meets it.
 */
describe('repository: damaged objects are found, named, and contained', function () {
  this.timeout(300_000);

  const password = 'corruption-test-passphrase';
  const volume = 'shop/data';
  const seed = 4242;
  let work: string;
  let dataDir: string;
  let pristine: string;
  let snapshots: string[] = [];
  let expected: Map<string, string>;
  /** Data blob id → the volume paths (no leading "/") that use it, in the first snapshot. */
  let users: Map<string, Set<string>>;
  let blobs: Map<string, { pack: string; offset: number; length: number; kind: string }>;
  let caseNo = 0;

  const lb = (args: string[]) => cli(args, { password, timeoutMs: 120_000 });

  /** A fresh copy of the captured repository, to damage. */
  async function damageable(): Promise<string> {
    const dir = path.join(work, `case-${++caseNo}`);
    await fs.cp(pristine, dir, { recursive: true });
    return dir;
  }

  function packFile(repo: string, pack: string): string {
    return path.join(repo, 'data', pack.slice(0, 2), pack);
  }

  async function flipByte(file: string, at: number): Promise<void> {
    const fh = await fs.open(file, 'r+');
    try {
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, at);
      b[0] ^= 0x5a;
      await fh.write(b, 0, 1, at);
    } finally {
      await fh.close();
    }
  }

  /** Finished by itself (no deadline kill), with a message rather than a crash. */
  function assertCleanFailure(r: RunResult, what: string): void {
    assert.equal(r.signal, null, `${what}: must finish on its own (was killed at the deadline: a hang)`);
    assert.notEqual(r.code, 0, `${what}: must fail`);
    assert.doesNotMatch(r.stderr, /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/, `${what}: a crash, not a message:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `${what}: prints a stack trace instead of a message:\n${r.stderr}`);
  }

  async function verifyJson(repo: string, readData: boolean): Promise<{ r: RunResult; report: VerifyJson }> {
    const r = await lb(['repo', 'verify', ...(readData ? ['--read-data'] : []), '--repo', repo, '--output', 'json']);
    assert.equal(r.signal, null, 'verify must not hang');
    return { r, report: parseJson<VerifyJson>(r) };
  }

  async function restorePath(repo: string, snapshot: string, rel: string, to: string): Promise<RunResult> {
    return lb(['repo', 'restore-dir', snapshot, '--repo', repo, '--volume', volume, '--to', to, '--path', rel]);
  }

  before(async function () {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-corruption-'));
    dataDir = path.join(work, 'data');
    pristine = path.join(work, 'pristine');
    await generateDataset(dataDir, { totalBytes: 30 * 1024 * 1024, seed, smallFiles: 400 });
    await cliOk(['repo', 'init', '--repo', pristine], { password });
    await cliOk(['repo', 'backup-dir', dataDir, '--repo', pristine, '--cluster', 'prod', '--volume', volume], { password });
    // A second snapshot sharing almost everything: damage must be reported for both.
    await fs.writeFile(path.join(dataDir, 'added-later.txt'), 'second snapshot\n');
    await cliOk(['repo', 'backup-dir', dataDir, '--repo', pristine, '--cluster', 'prod', '--volume', volume], { password });
    expected = await hashTree(dataDir);

    const repo = await Repository.open(new LocalBackend(pristine), { passphrase: password, workers: 1 });
    try {
      const listed = parseJson<unknown>(await cliOk(['snapshots', '--repo', pristine, '--output', 'json'], { password }));
      const arr = (Array.isArray(listed) ? listed : (listed as { snapshots: unknown[] }).snapshots) as Array<{ id: string; time: string }>;
      snapshots = [...arr].sort((a, b) => a.time.localeCompare(b.time)).map((s) => s.id);
      assert.equal(snapshots.length, 2);
      const manifest = await readManifest(repo, snapshots[0]);
      const root = manifest.volumes.find((v) => `${v.namespace}/${v.pvc}` === volume);
      assert.ok(root, `snapshot ${snapshots[0]} has volume ${volume}`);
      users = new Map();
      for await (const { path: rel, entry } of walkTree(treeLoader(repo), root.tree)) {
        for (const c of entry.chunks ?? []) {
          if (!users.has(c)) users.set(c, new Set());
          users.get(c)!.add(rel);
        }
      }
      blobs = new Map();
      for (const b of repo.indexedBlobs()) blobs.set(b.id, { pack: b.pack, offset: b.offset, length: b.length, kind: b.kind });
    } finally {
      await repo.close();
    }
  });

  after(async function () {
    if (work && process.env.LIFEBOAT_KEEP_TEST_DIRS !== '1') await fs.rm(work, { recursive: true, force: true });
  });

  describe('one flipped byte inside a data blob', function () {
    let repo: string;
    let damagedBlob: string;
    let damagedPaths: string[];
    let intactPath: string;

    before(async function () {
      repo = await damageable();
      // Prefer a chunk shared by a file and its edited copy: both must be named.
      const candidates = [...users.entries()].filter(([id]) => blobs.get(id)?.kind === 'data');
      candidates.sort((a, b) => b[1].size - a[1].size || (a[0] < b[0] ? -1 : 1));
      [damagedBlob] = candidates[0];
      damagedPaths = [...candidates[0][1]].sort();
      const where = blobs.get(damagedBlob)!;
      // Another file whose chunks sit in the same pack, untouched: it must survive.
      const samePack = [...expected.keys()].find((p) => {
        const chunks = [...users.entries()].filter(([, u]) => u.has(p)).map(([id]) => id);
        return chunks.length > 0 && !chunks.includes(damagedBlob) && chunks.some((c) => blobs.get(c)?.pack === where.pack);
      });
      intactPath =
        samePack ??
        [...expected.keys()].find((p) => !damagedPaths.includes(p) && [...users.values()].some((u) => u.has(p)))!;
      await flipByte(packFile(repo, where.pack), where.offset + Math.floor(where.length / 2));
    });

    it('verify --read-data exits 3 and names the blob, every snapshot and every file that uses it', async function () {
      const { r, report } = await verifyJson(repo, true);
      assert.equal(r.code, 3, `verify --read-data must report damage with exit 3 (got ${r.code})\n${r.stderr}`);
      assert.equal(report.ok, false);
      const problem = report.errors.find((e) => e.blobId === damagedBlob);
      assert.ok(problem, `the damaged blob ${damagedBlob} is named: ${JSON.stringify(report.errors, null, 1).slice(0, 3000)}`);
      const usedBy = (problem.usedBy ?? []).join('\n');
      for (const snap of snapshots) {
        assert.ok(usedBy.includes(snap.slice(0, 12)), `snapshot ${snap} uses the blob and is named:\n${usedBy}`);
      }
      for (const p of damagedPaths.slice(0, 5)) {
        assert.ok(usedBy.includes(p), `file ${p} uses the blob and is named:\n${usedBy}`);
      }
      // Only that blob is damaged: nothing else is blamed.
      const otherBlobs = report.errors.filter((e) => e.blobId && e.blobId !== damagedBlob);
      assert.deepEqual(otherBlobs.map((e) => e.blobId), [], 'no other blob is reported damaged');
    });

    it('the text report of verify --read-data names the blob and the file too', async function () {
      const r = await lb(['repo', 'verify', '--read-data', '--repo', repo]);
      assert.equal(r.code, 3);
      const text = r.stdout + r.stderr;
      assert.ok(text.includes(damagedBlob) || text.includes(damagedBlob.slice(0, 12)), `names the blob:\n${text}`);
      assert.ok(text.includes(damagedPaths[0]), `names the file ${damagedPaths[0]}:\n${text}`);
    });

    it('another file of the same snapshot still restores byte-identically', async function () {
      const to = path.join(work, 'restore-intact');
      const r = await restorePath(repo, snapshots[1], intactPath, to);
      assert.equal(r.code, 0, `restore of ${intactPath}: ${r.stderr}`);
      // A single file is restored under its own name into the target folder.
      assert.equal(await hashFile(path.join(to, path.posix.basename(intactPath))), expected.get(intactPath), `${intactPath} byte-identical`);
    });

    it('restoring a file that uses the damaged blob fails with a message naming the file or the blob', async function () {
      const to = path.join(work, 'restore-damaged');
      const r = await restorePath(repo, snapshots[1], damagedPaths[0], to);
      assertCleanFailure(r, `restore of ${damagedPaths[0]}`);
      assert.match(r.stderr, /damaged/i, r.stderr);
      assert.ok(
        r.stderr.includes(damagedBlob) || r.stderr.includes(damagedPaths[0]),
        `the message names the blob ${damagedBlob} or the file ${damagedPaths[0]}:\n${r.stderr}`,
      );
    });

    it('repo cat of the damaged file fails the same way, naming the file or the blob', async function () {
      const r = await lb(['repo', 'cat', snapshots[1], '--repo', repo, '--volume', volume, '--path', damagedPaths[0]]);
      assertCleanFailure(r, `repo cat ${damagedPaths[0]}`);
      assert.ok(r.stderr.includes(damagedBlob) || r.stderr.includes(damagedPaths[0]), r.stderr);
    });
  });

  it('a flipped byte in an index file is reported by verify, and rebuilding the index repairs the repository', async function () {
    const repo = await damageable();
    const indexFiles = await fs.readdir(path.join(repo, 'index'));
    assert.ok(indexFiles.length > 0);
    // The largest index file names the most blobs.
    const sized = await Promise.all(indexFiles.map(async (f) => ({ f, size: (await fs.stat(path.join(repo, 'index', f))).size })));
    sized.sort((a, b) => b.size - a.size);
    const victim = sized[0].f;
    await flipByte(path.join(repo, 'index', victim), Math.floor(sized[0].size / 2));

    const { r, report } = await verifyJson(repo, false);
    assert.equal(r.code, 3, `verify must report the damaged index (exit ${r.code})\n${r.stderr}`);
    const all = JSON.stringify(report.errors);
    assert.ok(all.includes(victim) || all.includes(victim.slice(0, 12)), `verify names index file ${victim}: ${all.slice(0, 2000)}`);

    const listing = await lb(['snapshots', '--repo', repo, '--output', 'json']);
    assert.equal(listing.signal, null, 'listing snapshots must not hang on a damaged index');

    const rebuild = await lb(['repo', 'index', 'rebuild', '--repo', repo]);
    assert.equal(rebuild.code, 0, `repo index rebuild: ${rebuild.stderr}`);
    const after = await verifyJson(repo, true);
    assert.equal(after.r.code, 0, `after the rebuild the repository verifies: ${JSON.stringify(after.report.errors).slice(0, 2000)}`);
    const to = path.join(work, `restore-index-${caseNo}`);
    const restored = await lb(['repo', 'restore-dir', snapshots[1], '--repo', repo, '--volume', volume, '--to', to]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(diffTrees(expected, await hashTree(to)), [], 'restore is byte-identical');
  });

  describe('a flipped byte in a snapshot manifest', function () {
    let repo: string;
    let victim: string;

    before(async function () {
      repo = await damageable();
      victim = snapshots[0];
      const file = path.join(repo, 'snapshots', victim);
      await flipByte(file, Math.floor((await fs.stat(file)).size / 2));
    });

    it('verify names the damaged snapshot by id', async function () {
      const { r, report } = await verifyJson(repo, false);
      assert.equal(r.code, 3, `verify reports the damaged manifest (exit ${r.code})`);
      assert.ok(JSON.stringify(report.errors).includes(victim.slice(0, 12)), `verify names snapshot ${victim}`);
    });

    it('restoring from it fails with a message; the other snapshot restores byte-identically', async function () {
      const bad = await lb(['repo', 'restore-dir', victim, '--repo', repo, '--volume', volume, '--to', path.join(work, 'x')]);
      assertCleanFailure(bad, `restore from damaged snapshot ${victim}`);
      assert.ok(bad.stderr.includes(victim.slice(0, 12)) || /damaged/i.test(bad.stderr), bad.stderr);

      const to = path.join(work, `restore-manifest-${caseNo}`);
      const good = await lb(['repo', 'restore-dir', snapshots[1], '--repo', repo, '--volume', volume, '--to', to]);
      assert.equal(good.code, 0, good.stderr);
      assert.deepEqual(diffTrees(expected, await hashTree(to)), [], 'restore is byte-identical');
    });

    it('listing snapshots still shows the intact one and names the damaged one', async function () {
      // One unreadable manifest must not hide every other recovery point from the user.
      const listing = await lb(['snapshots', '--repo', repo, '--output', 'json']);
      assert.equal(listing.signal, null, 'listing must not hang');
      assert.doesNotMatch(listing.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `no stack trace:\n${listing.stderr}`);
      assert.ok(listing.stdout.includes(snapshots[1]), `the intact snapshot ${snapshots[1]} is listed (exit ${listing.code}):\n${listing.stderr}`);
      assert.ok((listing.stderr + listing.stdout).includes(victim.slice(0, 12)), `the damaged snapshot is named:\n${listing.stderr}`);
    });
  });

  it('a truncated pack is reported by structural verify, and reading from it fails with a message', async function () {
    const repo = await damageable();
    // The pack holding a file's data, cut to half its length.
    const [blobId, paths] = [...users.entries()].find(([id]) => blobs.get(id)?.kind === 'data')!;
    const { pack } = blobs.get(blobId)!;
    const file = packFile(repo, pack);
    await fs.truncate(file, Math.floor((await fs.stat(file)).size / 2));

    const { r, report } = await verifyJson(repo, false);
    assert.equal(r.code, 3, `verify must report the truncated pack (exit ${r.code})\n${r.stderr}`);
    assert.ok(JSON.stringify(report.errors).includes(pack.slice(0, 12)), `verify names pack ${pack}`);

    const rel = [...paths][0];
    const restored = await restorePath(repo, snapshots[1], rel, path.join(work, `restore-trunc-${caseNo}`));
    assertCleanFailure(restored, `restore of ${rel} from a truncated pack`);
    assert.ok(
      restored.stderr.includes(pack.slice(0, 12)) || restored.stderr.includes(blobId.slice(0, 12)) || restored.stderr.includes(rel),
      `names the pack, blob or file:\n${restored.stderr}`,
    );
  });
});

interface VerifyJson {
  ok: boolean;
  errors: Array<{ kind: string; blobId?: string; pack?: string; message: string; usedBy?: string[] }>;
}
