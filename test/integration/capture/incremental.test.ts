/**
 * Incremental reads of a persistent volume from a sandbox cluster: a capture
 * with a parent snapshot lists the volume, leaves unchanged files out of the
 * tar stream, and still stores the tree a full read would.
 */
import { strict as assert } from 'node:assert';
import { appendFile, chmod, readdir, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { captureVolumes, type VolumeRead } from '../../../src/engine/capture/volumes';
import type { KubeClient } from '../../../src/engine/kube/types';
import { logTo, type LogRecord } from '../../../src/engine/log';
import { readManifest, Repository, SnapshotWriter, type VolumeRoot } from '../../../src/engine/repo/api';
import { decodeTree, walkTree, type TreeEntry } from '../../../src/engine/repo/tree';
import type { Cluster, Sandbox } from '../../sandbox';
import { assertSameTree, hostTree, snapshotTree, volumeTarget, type Kinds, startVolumeTestBed } from './volumeFixtures';

const VOLUME = { namespace: 'shop', pvc: 'data-db-0' };

describe('incremental volume reads', function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let cluster: Cluster;
  let kube: KubeClient;
  let kinds: Kinds;
  let work: string;
  let repo: Repository;
  let dbDir: string;

  before(async () => {
    ({ sandbox, cluster, kube, kinds, work, repo } = await startVolumeTestBed('incremental'));
    dbDir = (await cluster.claimDir('shop', 'data-db-0'))!;
  });

  after(async () => {
    kube?.close();
    await sandbox?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Captures shop/data-db-0 (without its PostgreSQL hook) as a snapshot of `clusterName`. */
  async function capture(clusterName: string): Promise<{ id: string; root: VolumeRoot; read: VolumeRead; logs: LogRecord[] }> {
    const target = await volumeTarget(kube, kinds, VOLUME.namespace, VOLUME.pvc);
    target.pods = target.pods.map((p) => ({ ...p, metadata: { ...p.metadata, annotations: {} } }));
    const logs: LogRecord[] = [];
    const writer = await SnapshotWriter.begin(repo, { cluster: clusterName, scope: {} });
    const result = await captureVolumes(kube, { volumes: [target], hookPods: [] }, writer, { repo, cluster: clusterName, log: logTo((r) => logs.push(r)) });
    const summary = await writer.commit();
    assert.deepEqual(result.warnings, []);
    assert.equal(result.volumes.length, 1);
    const root = (await readManifest(repo, summary.id)).volumes[0];
    return { id: summary.id, root, read: result.volumes[0], logs };
  }

  /** Every entry of a stored volume tree with its path, as stored (modes, mtimes, owners, chunk ids). */
  async function storedEntries(root: VolumeRoot): Promise<Array<{ path: string; entry: Omit<TreeEntry, 'subtree'> }>> {
    const store = { loadTree: async (id: string) => decodeTree(await repo.loadBlob(id), id) };
    const out: Array<{ path: string; entry: Omit<TreeEntry, 'subtree'> }> = [];
    for await (const { path: p, entry } of walkTree(store, root.tree)) {
      const { subtree: _subtree, ...rest } = entry;
      out.push({ path: p, entry: rest });
    }
    return out;
  }

  async function regularFiles(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.join(e.parentPath, e.name));
    return out.sort();
  }

  it('reads an unchanged volume again without transferring its files, storing the tree a full read stores', async () => {
    const first = await capture('prod');
    assert.equal(first.read.leftOut, 0, 'the first capture has no parent to leave files out for');
    assert.ok(first.read.archiveBytes >= first.root.bytes, 'the first capture transferred every byte');
    assert.ok(first.root.bytes > 100_000, 'the seeded volume has data to leave out');

    const second = await capture('prod');
    assert.equal(second.root.parent?.snapshot, first.id);
    assert.equal(second.read.leftOut, second.root.files, 'every file was left out of the archive');
    assert.equal(second.root.parent?.files, second.root.files);
    assert.ok(second.read.archiveBytes < second.root.bytes / 10, `${second.read.archiveBytes} archive bytes for a volume of ${second.root.bytes}`);
    assert.ok(second.logs.some((r) => r.level === 'debug' && /left out of the archive/.test(r.message)));

    const full = await capture('prod-full-read');
    assert.equal(full.read.leftOut, 0);
    assert.deepEqual(await storedEntries(second.root), await storedEntries(full.root));
    assert.equal(second.root.tree, full.root.tree, 'the root tree blobs are the same');
    assert.deepEqual(second.root.root, full.root.root);
  });

  it('transfers only the files that changed, added or changed mode, and stores the volume as it is', async () => {
    const files = await regularFiles(dbDir);
    assert.ok(files.length >= 4, 'the seeded volume has files to change');
    const [modified, removed, chmodded] = files.slice(-3);
    const size = (await stat(modified)).size;
    await appendFile(modified, 'one more line\n');
    await rm(removed);
    await chmod(chmodded, 0o600 === ((await stat(chmodded)).mode & 0o777) ? 0o640 : 0o600);
    await writeFile(path.join(dbDir, 'pgdata', 'added.conf'), 'work_mem = 64MB\n');
    await writeFile(path.join(dbDir, 'pgdata', 'base*star.txt'), 'a name that is a glob\n');

    const after = await capture('prod');
    assertSameTree(await snapshotTree(repo, after.id, VOLUME), await hostTree(dbDir));
    assert.equal(after.read.leftOut, after.root.files - 4, 'the modified, chmod-ed, added and glob-named files crossed, nothing else');
    assert.ok(after.read.archiveBytes < size + after.root.bytes / 10);

    // A name tar would take as a pattern is never left out: it crosses every time.
    const again = await capture('prod');
    assert.equal(again.read.leftOut, again.root.files - 1);
    assertSameTree(await snapshotTree(repo, again.id, VOLUME), await hostTree(dbDir));
  });

  it('reads the whole volume, saying why, when no earlier snapshot holds it', async () => {
    const fresh = await capture('prod-elsewhere');
    assert.equal(fresh.read.leftOut, 0);
    assert.equal(fresh.root.parent, undefined);
    assert.ok(fresh.read.archiveBytes >= fresh.root.bytes);
    assert.ok(fresh.logs.some((r) => r.level === 'debug' && /full read: no earlier snapshot of cluster prod-elsewhere holds it/.test(r.message)));
    assertSameTree(await snapshotTree(repo, fresh.id, VOLUME), await hostTree(dbDir));
  });
});
