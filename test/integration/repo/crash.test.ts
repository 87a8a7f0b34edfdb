import { strict as assert } from 'node:assert';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { listLocks, listSnapshots, Repository } from '../../../src/engine/repo/api';
import { LocalBackend, TEMP_PREFIX } from '../../../src/engine/storage';
import { diffTrees, generateDataset, hashTree, Prng, treeBytes } from '../../support/datagen';
import { cli, cliOk, parseJson, startCli } from '../../support/proc';

/**
 * A capture killed at any moment (SIGKILL: no cleanup code runs) must leave
 * a repository that verifies, lists no partial snapshot, and whose leftovers
 * prune removes. Each killed writer captures fresh content, so what it had
 * uploaded before dying is real garbage. Kill points are drawn from a seeded
 * PRNG over the measured duration of a real capture; LIFEBOAT_CRASH_SEED
 * replays a run, LIFEBOAT_CRASH_KILLS changes how many writers die.
 */
describe('repository: writers killed mid-capture', function () {
  this.timeout(600_000);

  const seed = Number(process.env.LIFEBOAT_CRASH_SEED ?? 20261122);
  const kills = Number(process.env.LIFEBOAT_CRASH_KILLS ?? 20);
  const MiB = 1024 * 1024;
  const password = 'crash-test-passphrase';
  const volume = 'crash/data';
  let work: string;
  let repoDir: string;
  /** Read-only view for listings (snapshots and locks are files, not indexed blobs, so it never goes stale). */
  let view: Repository;
  /** Completed snapshots: id → tree hashes of the folder it captured. */
  const completed = new Map<string, Map<string, string>>();
  let captureMs = 0;
  let killedMidWay = 0;
  let staleLocksSeen = 0;
  /** Verify runs that failed only because of packs a killed writer uploaded but never indexed. */
  const leftoversAsDamage: string[] = [];
  /** Verify runs that listed a dead writer's packs as leftovers for prune. */
  let leftoversSeen = 0;
  let tempsBeforePrune = 0;
  let tempsAfterPrune: string[] = [];

  const lb = (args: string[]) => cli(args, { password, timeoutMs: 240_000 });
  const lbOk = (args: string[]) => cliOk(args, { password, timeoutMs: 240_000 });
  const backupArgs = (dir: string) => ['repo', 'backup-dir', dir, '--repo', repoDir, '--cluster', 'crash', '--volume', volume];
  const snapshotIds = async () => (await listSnapshots(view)).map((s) => s.id).sort();

  /** Verifies structure: no damage, ever. Leftovers of a dead writer reported as problems are collected. */
  async function verifyStructure(context: string): Promise<void> {
    const r = await lb(['repo', 'verify', '--repo', repoDir, '--output', 'json']);
    assert.ok(r.code === 0 || r.code === 3, `${context}: repo verify failed to run (exit ${r.code})\n${r.stderr}`);
    const report = parseJson<{ errors: Array<{ kind: string; message: string }>; leftovers?: unknown[] }>(r);
    const damage = report.errors.filter((e) => e.kind !== 'unindexed-pack');
    assert.deepEqual(damage, [], `${context}: repo verify must find no damage`);
    if (r.code !== 0) leftoversAsDamage.push(`${context}: exit ${r.code}, ${report.errors.length} unindexed pack(s)`);
    if ((report.leftovers?.length ?? 0) > 0) leftoversSeen++;
  }

  /** A folder of content no other capture has: packs a killed writer uploads from it are garbage. */
  async function freshFolder(round: number): Promise<string> {
    const dir = path.join(work, `folder-${round}`);
    // Mostly incompressible: several packs fill up and are uploaded while the capture runs.
    await generateDataset(dir, {
      totalBytes: 48 * MiB,
      seed: seed * 100 + round,
      smallFiles: 40,
      maxFileBytes: 8 * MiB,
      specials: round === 0,
      mix: { random: 0.9, shared: 0.05, text: 0.05 },
    });
    return dir;
  }

  async function captureToEnd(dir: string): Promise<number> {
    const before = new Set(await snapshotIds());
    const tree = await hashTree(dir);
    const r = await lbOk(backupArgs(dir));
    const added = (await snapshotIds()).filter((id) => !before.has(id));
    assert.equal(added.length, 1, `one completed capture adds exactly one snapshot, got ${added.length}`);
    completed.set(added[0], tree);
    return r.wallMs;
  }

  before(async function () {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-crash-'));
    repoDir = path.join(work, 'repo');
    await fs.mkdir(path.join(work, 'tmp'));
    await lbOk(['repo', 'init', '--repo', repoDir]);
    view = await Repository.open(new LocalBackend(repoDir), { passphrase: password, workers: 1 });
  });

  after(async function () {
    await view?.close();
    if (work && process.env.LIFEBOAT_KEEP_TEST_DIRS !== '1') await fs.rm(work, { recursive: true, force: true });
  });

  it('a capture that runs to the end is listed as one snapshot', async function () {
    captureMs = await captureToEnd(await freshFolder(0));
    assert.equal((await snapshotIds()).length, 1);
    await verifyStructure('after the first capture');
  });

  it(`after ${kills} writers are killed at random points, the repository verifies and lists only completed snapshots`, async function () {
    const rng = new Prng(seed);
    for (let i = 1; i <= kills; i++) {
      const dir = await freshFolder(i);
      if (i === Math.ceil(kills / 3) || i === Math.ceil((2 * kills) / 3)) {
        // Completed captures between the crashes: the repository keeps working normally.
        // Their duration keeps the kill points spread over a capture as the machine's load changes.
        captureMs = await captureToEnd(dir);
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      const fraction = 0.02 + 0.96 * rng.float();
      const before = new Set(await snapshotIds());
      const tree = await hashTree(dir);
      // Its own temp folder: a killed writer cannot remove its spool files, and they must not pile up in /tmp.
      const started = Date.now();
      const writer = await startCli(backupArgs(dir), { password, env: { TMPDIR: path.join(work, 'tmp') } });
      // The kill point is a fraction of the writing itself, counted from when the writer holds
      // its lock: process start-up and key derivation take longer on a loaded machine, and
      // kills that all land before the first upload would test nothing.
      let finished = false;
      void writer.done.then(() => (finished = true));
      while (!finished && !(await listLocks(view)).some((l) => l.info?.pid === writer.pid)) await new Promise((r) => setTimeout(r, 20));
      const writing = Date.now() - started;
      const delay = Math.round(Math.max(100, captureMs - writing) * fraction);
      const outcome = await Promise.race([writer.done, new Promise<undefined>((resolve) => setTimeout(resolve, delay))]);
      writer.kill('SIGKILL');
      const result = outcome ?? (await writer.done);
      const context = `kill #${i} at ${delay} ms after the lock (taken at ${writing} ms) of a ~${captureMs} ms capture (seed ${seed})`;
      if (process.env.LIFEBOAT_CRASH_DEBUG) console.log(context, result.signal, await treeBytes(path.join(repoDir, 'data')));
      const added = (await snapshotIds()).filter((id) => !before.has(id));
      if (result.signal === 'SIGKILL' && added.length === 0) {
        killedMidWay++;
      } else if (result.signal === 'SIGKILL') {
        // Killed after its manifest was written (the last step): the snapshot is complete and
        // must restore whole, which the last test checks like any other completed capture.
        assert.equal(added.length, 1, `${context} left ${added.length} snapshots listed`);
        completed.set(added[0], tree);
      } else {
        // The capture won the race with the kill: it must then be whole.
        assert.equal(result.code, 0, `writer #${i} exited ${result.code}: ${result.stderr}`);
        assert.equal(added.length, 1, `writer #${i} completed but added ${added.length} snapshots`);
        completed.set(added[0], tree);
        captureMs = Math.min(captureMs, result.wallMs);
      }

      const left = await listLocks(view);
      if (left.length > 0) {
        staleLocksSeen++;
        for (const l of left) assert.equal(l.info?.pid, writer.pid, `${context}: the lock left behind is the dead writer's`);
        // Every other time "repo unlock" clears them; otherwise the next writer (verify) must.
        if (staleLocksSeen % 2 === 1) {
          const u = parseJson<UnlockJson>(await lbOk(['repo', 'unlock', '--repo', repoDir, '--output', 'json']));
          assert.deepEqual(u.removed.map((l) => l.name).sort(), left.map((l) => l.name).sort(), 'repo unlock removes exactly the dead writer’s locks');
          for (const l of u.removed) {
            assert.match(l.reason, new RegExp(`\\b${writer.pid}\\b.*no longer runs`), `stale because pid ${writer.pid} is gone: ${l.reason}`);
          }
          assert.deepEqual(u.remaining, []);
        } else {
          const v = await lb(['repo', 'verify', '--repo', repoDir]);
          assert.match(v.stderr + v.stdout, /stale lock/i, `the next writer reports the stale lock it removed:\n${v.stderr}`);
          assert.match(v.stderr + v.stdout, new RegExp(`pid ${writer.pid}\\b`), 'and names the dead writer');
        }
        assert.deepEqual(await listLocks(view), [], `${context}: no stale lock remains`);
      }
      await verifyStructure(`after ${context}`);
      assert.deepEqual(await snapshotIds(), [...completed.keys()].sort(), `after ${context}: exactly the completed captures are listed`);
      await fs.rm(dir, { recursive: true, force: true });
    }
    assert.ok(killedMidWay >= kills / 2, `most writers should have been killed mid-way, only ${killedMidWay} of ${kills} were`);
    assert.ok(staleLocksSeen > 0, 'at least one killed writer held a lock when it died');
  });

  it('verify does not count what a killed capture left behind (unindexed packs, removed by prune) as damage', function () {
    // The design: "a capture that dies leaves no snapshot, only unreferenced blobs that prune removes".
    assert.deepEqual(leftoversAsDamage, [], 'verify exits 0 on a repository whose only finding is leftovers of a dead writer');
    assert.ok(leftoversSeen > 0, 'some killed writer had uploaded packs, and verify listed them as leftovers');
  });

  it('prune removes what the killed writers uploaded, and every completed snapshot restores byte-identically', async function () {
    // A writer killed mid-put leaves its unfinished file (".tmp-…") next to the packs. Aged past
    // any sane grace period (as if the crash were a week ago), prune must sweep those too.
    const temps = await unfinishedWrites(repoDir);
    const weekAgo = new Date(Date.now() - 7 * 24 * 3600_000);
    for (const t of temps) await fs.utimes(t, weekAgo, weekAgo);
    const dataBytesBefore = await treeBytes(path.join(repoDir, 'data'));
    const dry = await lbOk(['repo', 'prune', '--repo', repoDir, '--dry-run', '--output', 'json']);
    assert.equal(await treeBytes(path.join(repoDir, 'data')), dataBytesBefore, `--dry-run deletes nothing\n${dry.stdout}`);
    const report = parseJson<{ bytesFreed: number; packsDeleted: number }>(await lbOk(['repo', 'prune', '--repo', repoDir, '--output', 'json']));
    const dataBytesAfter = await treeBytes(path.join(repoDir, 'data'));
    assert.ok(
      dataBytesAfter < dataBytesBefore && report.packsDeleted > 0,
      `prune must reclaim what ${killedMidWay} killed writers uploaded: data/ ${dataBytesBefore} → ${dataBytesAfter} bytes, report ${JSON.stringify(report)}`,
    );
    tempsAfterPrune = (await unfinishedWrites(repoDir)).map((f) => path.relative(repoDir, f));
    tempsBeforePrune = temps.length;
    // Everything kept is referenced: a second prune finds nothing more.
    const second = parseJson<{ bytesFreed: number; packsDeleted: number }>(await lbOk(['repo', 'prune', '--repo', repoDir, '--output', 'json']));
    assert.equal(second.packsDeleted, 0, `a second prune deletes nothing: ${JSON.stringify(second)}`);
    assert.equal(await treeBytes(path.join(repoDir, 'data')), dataBytesAfter);
    // What stays is about what the completed snapshots hold (48 MiB of fresh content each).
    const packBytes = await treeBytes(path.join(repoDir, 'data'), (rel) => !path.posix.basename(rel).startsWith(TEMP_PREFIX));
    assert.ok(packBytes < completed.size * 56 * MiB, `data/ holds ${packBytes} bytes of packs for ${completed.size} snapshots`);

    const full = await lb(['repo', 'verify', '--read-data', '--repo', repoDir, '--output', 'json']);
    assert.equal(full.code, 0, `verify --read-data after prune: exit ${full.code}\n${full.stdout.slice(0, 3000)}\n${full.stderr}`);

    assert.deepEqual(await snapshotIds(), [...completed.keys()].sort());
    for (const [id, expected] of completed) {
      const to = path.join(work, `restore-${id.slice(0, 12)}`);
      await lbOk(['repo', 'restore-dir', id, '--repo', repoDir, '--volume', volume, '--to', to]);
      assert.deepEqual(diffTrees(expected, await hashTree(to)), [], `snapshot ${id} restores byte-identically`);
      await fs.rm(to, { recursive: true, force: true });
    }
  });

  it('prune also sweeps the unfinished writes killed writers left next to the packs (once they are old)', function () {
    assert.deepEqual(tempsAfterPrune, [], `week-old unfinished writes left after prune (${tempsBeforePrune} were there before)`);
  });
});

/** Files a local-directory writer had not finished when it died (LocalBackend's temp names). */
async function unfinishedWrites(repoDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.startsWith(TEMP_PREFIX)) out.push(p);
    }
  };
  await walk(repoDir);
  return out.sort();
}

interface UnlockJson {
  removed: Array<{ name: string; description: string; reason: string }>;
  remaining: unknown[];
}
