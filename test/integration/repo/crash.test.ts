import { strict as assert } from 'node:assert';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { diffTrees, generateDataset, hashTree, Prng, treeBytes } from '../../support/datagen';
import { cli, cliOk, parseJson, startCli, type RunResult } from '../../support/proc';

/**
 * A capture killed at any moment (SIGKILL: no cleanup code runs) must leave
 * a repository that verifies, lists no partial snapshot, and whose leftovers
 * prune removes. Kill points are drawn from a seeded PRNG over the measured
 * duration of a real capture; LIFEBOAT_CRASH_SEED replays a run.
 */
describe('repository: writers killed mid-capture', function () {
  this.timeout(600_000);

  const seed = Number(process.env.LIFEBOAT_CRASH_SEED ?? 20261122);
  const kills = Number(process.env.LIFEBOAT_CRASH_KILLS ?? 20);
  const password = 'crash-test-passphrase';
  const volume = 'crash/data';
  let work: string;
  let dataDir: string;
  let repo: string;
  /** Completed snapshots: id → tree hashes of the folder it captured. */
  const completed = new Map<string, Map<string, string>>();
  let captureMs = 0;
  let killedMidWay = 0;

  const lb = (args: string[]) => cli(args, { password });
  const lbOk = (args: string[]) => cliOk(args, { password });

  async function snapshotIds(): Promise<string[]> {
    const r = await lbOk(['snapshots', '--repo', repo, '--output', 'json']);
    return snapshotList(parseJson(r)).map((s) => s.id);
  }

  async function verifyStructure(context: string): Promise<unknown> {
    const r = await lb(['repo', 'verify', '--repo', repo, '--output', 'json']);
    assert.equal(r.code, 0, `${context}: repo verify should find no damage (exit ${r.code})\n${r.stdout}\n${r.stderr}`);
    return parseJson(r);
  }

  async function capture(): Promise<{ id: string; tree: Map<string, string>; result: RunResult }> {
    const before = new Set(await snapshotIds());
    const tree = await hashTree(dataDir);
    const result = await lbOk(['repo', 'backup-dir', dataDir, '--repo', repo, '--cluster', 'crash', '--volume', volume]);
    const added = (await snapshotIds()).filter((id) => !before.has(id));
    assert.equal(added.length, 1, `one completed capture adds exactly one snapshot, got ${added.length}`);
    completed.set(added[0], tree);
    return { id: added[0], tree, result };
  }

  /** Changes the folder between completed captures so every snapshot has its own content. */
  async function mutate(round: number): Promise<void> {
    const rng = new Prng(seed + round);
    await fs.writeFile(path.join(dataDir, `round-${round}.txt`), `round ${round}\n`.repeat(rng.int(1, 5000)));
    const victim = path.join(dataDir, 'random', 'r001.bin');
    const fh = await fs.open(victim, 'r+');
    try {
      const { size } = await fh.stat();
      await fh.write(rng.bytes(4096), 0, 4096, rng.int(0, Math.max(0, size - 4096)));
    } finally {
      await fh.close();
    }
  }

  before(async function () {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-crash-'));
    dataDir = path.join(work, 'data');
    repo = path.join(work, 'repo');
    await generateDataset(dataDir, { totalBytes: 60 * 1024 * 1024, seed, smallFiles: 1500 });
    await lbOk(['repo', 'init', '--repo', repo]);
  });

  after(async function () {
    if (work && process.env.LIFEBOAT_KEEP_TEST_DIRS !== '1') await fs.rm(work, { recursive: true, force: true });
  });

  it('a capture that runs to the end is listed as one snapshot', async function () {
    const { result } = await capture();
    captureMs = result.wallMs;
    assert.equal((await snapshotIds()).length, 1);
    await verifyStructure('after the first capture');
  });

  it(`after ${kills} writers are killed at random points, the repository verifies and lists only completed snapshots`, async function () {
    const rng = new Prng(seed);
    for (let i = 1; i <= kills; i++) {
      if (i === Math.ceil(kills / 3) || i === Math.ceil((2 * kills) / 3)) {
        await mutate(i);
        await capture();
      }
      const delay = Math.round(captureMs * (0.02 + 0.96 * rng.float()));
      const before = new Set(await snapshotIds());
      const tree = await hashTree(dataDir);
      const writer = await startCli(
        ['repo', 'backup-dir', dataDir, '--repo', repo, '--cluster', 'crash', '--volume', volume],
        { password },
      );
      const outcome = await Promise.race([
        writer.done,
        new Promise<undefined>((resolve) => setTimeout(resolve, delay)),
      ]);
      writer.kill('SIGKILL');
      const result = outcome ?? (await writer.done);
      const after = (await snapshotIds()).filter((id) => !before.has(id));
      if (result.signal === 'SIGKILL') {
        killedMidWay++;
        assert.deepEqual(after, [], `kill #${i} at ${delay} ms (seed ${seed}) left a snapshot listed: ${after.join(', ')}`);
      } else {
        // The capture won the race with the kill: it must then be whole.
        assert.equal(result.code, 0, `writer #${i} exited ${result.code}: ${result.stderr}`);
        assert.equal(after.length, 1, `writer #${i} completed but added ${after.length} snapshots`);
        completed.set(after[0], tree);
      }
      await verifyStructure(`after kill #${i} at ${delay} ms of ~${captureMs} ms (seed ${seed})`);
      const listed = await snapshotIds();
      assert.deepEqual(
        [...listed].sort(),
        [...completed.keys()].sort(),
        `after kill #${i}: the listed snapshots must be exactly the completed captures`,
      );
    }
    assert.ok(killedMidWay >= kills / 2, `most writers should have been killed mid-way, only ${killedMidWay} of ${kills} were`);
  });

  it('stale locks of killed writers are recognised and do not block the next writer', async function () {
    // A writer killed while holding a lock leaves its lock object behind.
    const locksBefore = await listKeys(repo, 'locks');
    const r = await lb(['repo', 'locks', '--repo', repo, '--output', 'json']);
    if (locksBefore.length > 0) {
      assert.equal(r.code, 0, `repo locks: ${r.stderr}`);
      const locks = lockList(parseJson(r));
      assert.ok(locks.length >= 1, 'lock objects exist, the lock listing must show them');
      for (const l of locks) assert.equal(l.stale, true, `lock ${l.id} of a dead writer must be reported stale: ${JSON.stringify(l)}`);
    }
    // Whatever was left, a new writer proceeds.
    await mutate(100);
    await capture();
  });

  it('prune removes the packs dead writers left, and every completed snapshot restores byte-identically', async function () {
    const dataBytesBefore = await treeBytes(path.join(repo, 'data'));
    const dry = await lbOk(['repo', 'prune', '--repo', repo, '--dry-run']);
    assert.equal(await treeBytes(path.join(repo, 'data')), dataBytesBefore, `--dry-run must not delete anything\n${dry.stdout}`);
    await lbOk(['repo', 'prune', '--repo', repo]);
    const dataBytesAfter = await treeBytes(path.join(repo, 'data'));
    assert.ok(
      dataBytesAfter < dataBytesBefore,
      `prune must reclaim what ${killedMidWay} killed writers stored: data/ ${dataBytesBefore} → ${dataBytesAfter} bytes`,
    );
    // Nothing is left to reclaim: a second prune deletes nothing.
    await lbOk(['repo', 'prune', '--repo', repo]);
    assert.equal(await treeBytes(path.join(repo, 'data')), dataBytesAfter, 'a second prune must find nothing more to delete');
    assert.deepEqual(await listKeys(repo, 'locks'), [], 'prune clears the stale locks of dead writers');

    const full = await lb(['repo', 'verify', '--read-data', '--repo', repo, '--output', 'json']);
    assert.equal(full.code, 0, `verify --read-data after prune: exit ${full.code}\n${full.stdout}\n${full.stderr}`);

    assert.deepEqual([...(await snapshotIds())].sort(), [...completed.keys()].sort());
    for (const [id, expected] of completed) {
      const to = path.join(work, `restore-${id.slice(0, 12)}`);
      await lbOk(['repo', 'restore-dir', id, '--repo', repo, '--volume', volume, '--to', to]);
      const diffs = diffTrees(expected, await hashTree(to));
      assert.deepEqual(diffs, [], `snapshot ${id} restores byte-identically`);
      await fs.rm(to, { recursive: true, force: true });
    }
  });
});

interface SnapshotSummary {
  id: string;
}

/** The snapshot list of `lifeboat snapshots --output json` (an array, or {snapshots: [...]}). */
function snapshotList(json: unknown): SnapshotSummary[] {
  const arr = Array.isArray(json) ? json : (json as { snapshots?: unknown[] }).snapshots;
  assert.ok(Array.isArray(arr), `snapshots --output json must give a list: ${JSON.stringify(json).slice(0, 500)}`);
  return arr as SnapshotSummary[];
}

function lockList(json: unknown): Array<{ id: string; stale: boolean }> {
  const arr = Array.isArray(json) ? json : (json as { locks?: unknown[] }).locks;
  assert.ok(Array.isArray(arr), `repo locks --output json must give a list: ${JSON.stringify(json).slice(0, 500)}`);
  return arr as Array<{ id: string; stale: boolean }>;
}

async function listKeys(repo: string, folder: string): Promise<string[]> {
  try {
    return (await fs.readdir(path.join(repo, folder))).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}
