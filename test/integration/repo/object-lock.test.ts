import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { listSnapshots, prune, Repository, restoreToDirectory, SnapshotWriter, verify } from '../../../src/engine/repo/api';
import { ObjectLockedError, S3Backend } from '../../../src/engine/storage';
import { diffTrees, generateDataset, hashTree } from '../../support/datagen';
import { cli, cliOk, parseJson } from '../../support/proc';
import { RGW_UNAVAILABLE, rgwAvailable, startRgw, type RgwServer } from '../../support/rgw';

/**
 * A repository in an object-lock (WORM) bucket whose default retention is
 * COMPLIANCE for one day: the ransomware-proof setup. Writing never needs an
 * overwrite or an early delete, so captures and restores work as anywhere
 * else; what is stored cannot be destroyed before the retention ends, by
 * Lifeboat or by anyone holding the same credentials.
 */
describe('repository in an object-lock bucket (COMPLIANCE retention, Ceph RGW)', function () {
  this.timeout(300_000);

  const password = 'object-lock-passphrase';
  const bucket = 'lifeboat-worm';
  const prefix = 'prod';
  const repoUrl = `s3://${bucket}/${prefix}`;
  const volume = { namespace: 'shop', pvc: 'data' };
  let rgw: RgwServer | undefined;
  let client: S3Client;
  let work: string;

  const backend = () =>
    new S3Backend({
      bucket,
      prefix,
      endpoint: rgw!.endpoint,
      region: rgw!.region,
      credentials: { accessKeyId: rgw!.accessKeyId, secretAccessKey: rgw!.secretAccessKey },
    });
  const s3Env = () => rgw!.cliEnv();
  const lb = (args: string[]) => cli(args, { password, env: s3Env(), timeoutMs: 240_000 });

  async function captureFolder(repo: Repository, dir: string): Promise<string> {
    const writer = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: { namespaces: ['shop'] } });
    const tar = spawn('tar', ['cf', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await writer.addVolume(volume, tar.stdout);
    return (await writer.commit()).id;
  }

  before(async function () {
    if (!rgwAvailable()) {
      console.log(`      skipped: ${RGW_UNAVAILABLE}`);
      this.skip();
    }
    this.timeout(180_000);
    rgw = await startRgw();
    await rgw.createBucket(bucket, { objectLock: true });
    client = rgw.client();
    await client.send(
      new PutObjectLockConfigurationCommand({
        Bucket: bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } } },
      }),
    );
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-worm-'));
  });

  after(async function () {
    client?.destroy();
    await rgw?.stop();
    if (work && process.env.LIFEBOAT_KEEP_TEST_DIRS !== '1') await fs.rm(work, { recursive: true, force: true });
  });

  let firstDir: string;
  let secondDir: string;
  const snapshots: string[] = [];

  it('captures and restores as in any bucket', async function () {
    firstDir = path.join(work, 'first');
    secondDir = path.join(work, 'second');
    await generateDataset(firstDir, { totalBytes: 6 * 1024 * 1024, seed: 11, smallFiles: 60 });
    await generateDataset(secondDir, { totalBytes: 12 * 1024 * 1024, seed: 12, smallFiles: 120 });
    const repo = await Repository.init(backend(), { passphrase: password });
    try {
      snapshots.push(await captureFolder(repo, firstDir));
      snapshots.push(await captureFolder(repo, secondDir));
      assert.deepEqual((await listSnapshots(repo)).map((s) => s.id).sort(), [...snapshots].sort());
      const to = path.join(work, 'restore-first');
      await restoreToDirectory(repo, snapshots[0], volume, to);
      assert.deepEqual(diffTrees(await hashTree(firstDir), await hashTree(to)), []);
    } finally {
      await repo.close();
    }
  });

  it('the command line captures and restores in the locked bucket too', async function () {
    const r = await lb(['repo', 'backup-dir', secondDir, '--repo', repoUrl, '--cluster', 'cli', '--volume', 'shop/data']);
    assert.equal(r.code, 0, `backup-dir into an object-lock bucket: ${r.stderr}`);
    const listed = parseJson<unknown>(await cliOk(['snapshots', '--repo', repoUrl, '--output', 'json'], { password, env: s3Env() }));
    const arr = (Array.isArray(listed) ? listed : (listed as { snapshots: unknown[] }).snapshots) as Array<{ id: string; cluster: string }>;
    const mine = arr.find((s) => s.cluster === 'cli');
    assert.ok(mine, 'the CLI capture is listed');
    snapshots.push(mine.id);
    const to = path.join(work, 'restore-cli');
    const restored = await lb(['repo', 'restore-dir', mine.id, '--repo', repoUrl, '--volume', 'shop/data', '--to', to]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.deepEqual(diffTrees(await hashTree(secondDir), await hashTree(to)), []);
  });

  it('a stored pack version cannot be deleted before its retention ends (403 AccessDenied)', async function () {
    const versions = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${prefix}/data/` }));
    const v = versions.Versions?.[0];
    assert.ok(v?.Key && v.VersionId, 'packs are stored as versions');
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE', 'the pack carries the bucket’s default retention');
    assert.ok(head.ObjectLockRetainUntilDate && head.ObjectLockRetainUntilDate.getTime() > Date.now() + 3600_000);
    await assert.rejects(
      client.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId })),
      (err: any) => err?.name === 'AccessDenied' || err?.$metadata?.httpStatusCode === 403,
    );
    // Through the backend: a clear error naming the retention, and the pack is still there.
    const b = backend();
    try {
      const key = v.Key.slice(prefix.length + 1);
      await assert.rejects(b.delete(key), (err: unknown) => {
        assert.ok(err instanceof ObjectLockedError, `ObjectLockedError expected, got ${err}`);
        assert.match((err as Error).message, /retention/);
        return true;
      });
      assert.ok(await b.stat(key), 'the pack is still there');
    } finally {
      await b.close();
    }
  });

  it('prune refuses to forget a snapshot under retention, changes nothing, and the repository still verifies', async function () {
    const dataKeys = async (b: S3Backend) => {
      const keys: string[] = [];
      for await (const o of b.list('data/')) keys.push(o.key);
      return keys.sort();
    };
    const repo = await Repository.open(backend(), { passphrase: password, workers: 1 });
    try {
      const snapshotsBefore = (await listSnapshots(repo)).map((s) => s.id).sort();
      const packsBefore = await dataKeys(repo.backend as S3Backend);
      // Cluster "prod" has two snapshots: keeping the last one means deleting the first's manifest.
      await assert.rejects(prune(repo, { policy: { last: 1 } }), (err: unknown) => {
        assert.ok(err instanceof ObjectLockedError, `ObjectLockedError expected, got ${err}`);
        assert.match((err as Error).message, /snapshots\/.*object-lock retention \(COMPLIANCE\) until/, (err as Error).message);
        return true;
      });
      assert.deepEqual((await listSnapshots(repo)).map((s) => s.id).sort(), snapshotsBefore, 'no snapshot was forgotten');
      assert.deepEqual(await dataKeys(repo.backend as S3Backend), packsBefore, 'no pack was deleted');

      const report = await verify(repo, { readData: true });
      assert.equal(report.ok, true, `after the refused prune the repository verifies: ${JSON.stringify(report.errors).slice(0, 2000)}`);
      for (const id of snapshotsBefore.filter((x) => snapshots.slice(0, 2).includes(x))) {
        const to = path.join(work, `after-prune-${id.slice(0, 8)}`);
        await restoreToDirectory(repo, id, volume, to);
        const source = id === snapshots[0] ? firstDir : secondDir;
        assert.deepEqual(diffTrees(await hashTree(source), await hashTree(to)), [], `snapshot ${id} still restores`);
      }
    } finally {
      await repo.close();
    }
  });

  it('the command line says why prune cannot forget snapshots in the locked bucket', async function () {
    const r = await lb(['repo', 'prune', '--repo', repoUrl, '--keep-last', '1']);
    assert.equal(r.signal, null);
    assert.equal(r.code, 1, `prune fails (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /retention/, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `a message, not a stack trace:\n${r.stderr}`);
    const v = await lb(['repo', 'verify', '--repo', repoUrl, '--output', 'json']);
    assert.equal(v.code, 0, v.stdout.slice(0, 2000));
  });
});
