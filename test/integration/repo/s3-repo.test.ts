import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  acquireLock,
  listSnapshots,
  LockConflictError,
  readResource,
  Repository,
  restoreToDirectory,
  SnapshotWriter,
  type Lock,
} from '../../../src/engine/repo/api';
import { AlreadyExistsError, S3Backend } from '../../../src/engine/storage';
import { diffTrees, generateDataset, hashFile, hashTree } from '../../support/datagen';
import { cli, cliOk, parseJson, startCli, waitFor } from '../../support/proc';
import { RGW_UNAVAILABLE, rgwAvailable, startRgw, type RgwServer } from '../../support/rgw';

/**
 * A repository in a real S3 server (Ceph RGW): the whole life of a
 * repository through the `lifeboat` command line, and the write-once
 * guarantee that locks and concurrent writers rely on.
 */
describe('repository on S3 (Ceph RGW)', function () {
  this.timeout(300_000);

  const password = 's3-test-passphrase';
  const bucket = 'lifeboat-repo';
  let rgw: RgwServer | undefined;
  let work: string;

  const backend = (prefix: string, extra: Partial<ConstructorParameters<typeof S3Backend>[0]> = {}) =>
    new S3Backend({
      bucket,
      prefix,
      endpoint: rgw!.endpoint,
      region: rgw!.region,
      credentials: { accessKeyId: rgw!.accessKeyId, secretAccessKey: rgw!.secretAccessKey },
      ...extra,
    });

  const s3Env = () => rgw!.cliEnv();
  const lb = (args: string[]) => cli(args, { password, env: s3Env(), timeoutMs: 240_000 });
  const lbOk = (args: string[]) => cliOk(args, { password, env: s3Env(), timeoutMs: 240_000 });

  before(async function () {
    if (!rgwAvailable()) {
      console.log(`      skipped: ${RGW_UNAVAILABLE}`);
      this.skip();
    }
    this.timeout(180_000);
    rgw = await startRgw();
    await rgw.createBucket(bucket);
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-s3repo-'));
  });

  after(async function () {
    await rgw?.stop();
    if (work && process.env.LIFEBOAT_KEEP_TEST_DIRS !== '1') await fs.rm(work, { recursive: true, force: true });
  });

  describe('write-once objects', function () {
    it('the server itself refuses to replace an object sent with If-None-Match: * (412)', async function () {
      const client = new S3Client({
        endpoint: rgw!.endpoint,
        region: rgw!.region,
        forcePathStyle: true,
        credentials: { accessKeyId: rgw!.accessKeyId, secretAccessKey: rgw!.secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      try {
        const put = () => client.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/once', Body: 'x', IfNoneMatch: '*' }));
        await put();
        await assert.rejects(put, (err: any) => err?.$metadata?.httpStatusCode === 412, 'a second conditional put gets 412');
      } finally {
        client.destroy();
      }
    });

    it('putting an existing key fails with AlreadyExistsError and leaves the first content', async function () {
      const b = backend('once');
      try {
        await b.put('locks/x', Buffer.from('first'));
        await assert.rejects(b.put('locks/x', Buffer.from('second')), AlreadyExistsError);
        assert.equal((await b.get('locks/x')).toString(), 'first');
      } finally {
        await b.close();
      }
    });

    it('a multipart (streamed, larger than one part) put onto an existing key fails the same way', async function () {
      const b = backend('once-multipart', { partSize: 5 * 1024 * 1024 });
      try {
        const first = randomBytes(11 * 1024 * 1024);
        await b.put('data/big', first);
        await assert.rejects(b.put('data/big', Readable.from([randomBytes(11 * 1024 * 1024)])), AlreadyExistsError);
        assert.ok((await b.get('data/big')).equals(first), 'the first object is intact');
      } finally {
        await b.close();
      }
    });

    it('two writers racing for the same lock name: exactly one wins, every time', async function () {
      const a = backend('race');
      const b = backend('race');
      try {
        for (let round = 0; round < 15; round++) {
          const key = `locks/race-${round}`;
          const results = await Promise.allSettled([a.put(key, Buffer.from('a')), b.put(key, Buffer.from('b'))]);
          const won = results.filter((r) => r.status === 'fulfilled');
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          assert.equal(won.length, 1, `round ${round}: exactly one writer wins (${results.map((r) => r.status).join(', ')})`);
          assert.ok(lost[0].reason instanceof AlreadyExistsError, `the loser sees AlreadyExistsError: ${lost[0].reason}`);
          const stored = (await a.get(key)).toString();
          assert.equal(stored, results[0].status === 'fulfilled' ? 'a' : 'b', 'the stored object is the winner’s');
        }
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('two processes taking the exclusive repository lock at once never both get it', async function () {
      const prefix = 'lock-repo';
      const init = backend(prefix);
      await (await Repository.init(init, { passphrase: password })).close();
      for (let round = 0; round < 5; round++) {
        const repos = await Promise.all([0, 1].map(() => Repository.open(backend(prefix), { passphrase: password, workers: 1 })));
        try {
          const results = await Promise.allSettled(repos.map((r) => acquireLock(r, { exclusive: true, purpose: 'prune' })));
          const won = results.filter((r): r is PromiseFulfilledResult<Lock> => r.status === 'fulfilled');
          assert.ok(won.length <= 1, `round ${round}: both writers got the exclusive lock`);
          for (const r of results) {
            if (r.status === 'rejected') assert.ok(r.reason instanceof LockConflictError, `a loser sees LockConflictError: ${r.reason}`);
          }
          for (const w of won) await w.value.release();
        } finally {
          for (const r of repos) await r.close();
        }
      }
    });
  });

  describe('a repository on s3://BUCKET/PREFIX through the command line', function () {
    const repoUrl = `s3://${bucket}/teams/shop/backups`;
    const volume = 'shop/data';
    let first: string;
    let second: string;
    let secondDir: string;
    let expectedSecond: Map<string, string>;
    let snapshotIds: string[] = [];

    before(async function () {
      first = path.join(work, 'first');
      second = path.join(work, 'second');
      await generateDataset(first, { totalBytes: 8 * 1024 * 1024, seed: 1, smallFiles: 100 });
      await generateDataset(second, { totalBytes: 24 * 1024 * 1024, seed: 2, smallFiles: 300 });
      secondDir = second;
      expectedSecond = await hashTree(second);
    });

    it('init creates the repository under the prefix, and only there', async function () {
      await lbOk(['repo', 'init', '--repo', repoUrl]);
      const b = backend('teams/shop/backups');
      const root = backend('');
      try {
        assert.ok(await b.stat('config'), 'config exists under the prefix');
        assert.equal(await root.stat('config'), undefined, 'nothing is written at the bucket root');
        for await (const o of root.list('')) assert.ok(!o.key.startsWith('keys/'), `key file outside the prefix: ${o.key}`);
      } finally {
        await b.close();
        await root.close();
      }
      const again = await lb(['repo', 'init', '--repo', repoUrl]);
      assert.notEqual(again.code, 0, 'a second init on the same location must refuse');
      assert.match(again.stderr, /already holds a Lifeboat repository/, again.stderr);
    });

    it('captures two folders and lists both snapshots', async function () {
      await lbOk(['repo', 'backup-dir', first, '--repo', repoUrl, '--cluster', 'prod', '--volume', volume]);
      await lbOk(['repo', 'backup-dir', secondDir, '--repo', repoUrl, '--cluster', 'prod', '--volume', volume]);
      const listed = parseJson<unknown>(await lbOk(['snapshots', '--repo', repoUrl, '--output', 'json']));
      const arr = (Array.isArray(listed) ? listed : (listed as { snapshots: unknown[] }).snapshots) as Array<{ id: string; time: string }>;
      assert.equal(arr.length, 2);
      snapshotIds = [...arr].sort((a, b) => a.time.localeCompare(b.time)).map((s) => s.id);
    });

    it('restores one file by path, byte-identically', async function () {
      const rel = [...expectedSecond.entries()].find(([p, h]) => p.startsWith('random/') && h !== 'dir')![0];
      const to = path.join(work, 'one');
      await lbOk(['repo', 'restore-dir', snapshotIds[1], '--repo', repoUrl, '--volume', volume, '--to', to, '--path', rel]);
      // A single file is restored under its own name into the target folder, and nothing else.
      assert.deepEqual([...(await hashTree(to)).keys()], [path.posix.basename(rel)]);
      assert.equal(await hashFile(path.join(to, path.posix.basename(rel))), expectedSecond.get(rel));
    });

    it('prints one text file with repo cat', async function () {
      const rel = [...expectedSecond.keys()].find((p) => p.startsWith('text/'))!;
      const r = await lbOk(['repo', 'cat', snapshotIds[1], '--repo', repoUrl, '--volume', volume, '--path', rel]);
      assert.equal(r.stdout, await fs.readFile(path.join(secondDir, rel), 'utf8'));
    });

    it('prune --keep-last 1 forgets the first snapshot and deletes the data only it used', async function () {
      const b = backend('teams/shop/backups');
      const dataBytes = async () => {
        let sum = 0;
        for await (const o of b.list('data/')) sum += o.size;
        return sum;
      };
      try {
        const before = await dataBytes();
        const r = await lbOk(['repo', 'prune', '--repo', repoUrl, '--keep-last', '1']);
        const listed = parseJson<unknown>(await lbOk(['snapshots', '--repo', repoUrl, '--output', 'json']));
        const arr = (Array.isArray(listed) ? listed : (listed as { snapshots: unknown[] }).snapshots) as Array<{ id: string }>;
        assert.deepEqual(arr.map((s) => s.id), [snapshotIds[1]], `only the newest snapshot is kept:\n${r.stdout}`);
        const after = await dataBytes();
        // The first folder (8 MiB of its own random content) is gone from the bucket.
        assert.ok(before - after > 4 * 1024 * 1024, `data/ shrank from ${before} to ${after} bytes`);
      } finally {
        await b.close();
      }
    });

    it('verifies with --read-data, and the kept snapshot restores whole and byte-identically', async function () {
      const v = await lb(['repo', 'verify', '--read-data', '--repo', repoUrl, '--output', 'json']);
      assert.equal(v.code, 0, `verify --read-data: ${v.stdout}\n${v.stderr}`);
      const to = path.join(work, 'all');
      await lbOk(['repo', 'restore-dir', snapshotIds[1], '--repo', repoUrl, '--volume', volume, '--to', to]);
      assert.deepEqual(diffTrees(expectedSecond, await hashTree(to)), []);
    });

    it('two captures at once both complete and restore byte-identically', async function () {
      const dirs = [path.join(work, 'concurrent-a'), path.join(work, 'concurrent-b')];
      // The same content in both: the writers store the same blobs at the same time, and both copies must stay valid.
      await generateDataset(dirs[0], { totalBytes: 12 * 1024 * 1024, seed: 21, smallFiles: 100 });
      await generateDataset(dirs[1], { totalBytes: 12 * 1024 * 1024, seed: 21, smallFiles: 100 });
      await fs.writeFile(path.join(dirs[1], 'only-in-b.txt'), 'b\n');
      const expectedTrees = await Promise.all(dirs.map((d) => hashTree(d)));
      const results = await Promise.all(
        dirs.map((d, i) => lb(['repo', 'backup-dir', d, '--repo', repoUrl, '--cluster', `concurrent-${i}`, '--volume', volume])),
      );
      for (const r of results) assert.equal(r.code, 0, `concurrent capture: ${r.stderr}`);

      const listed = parseJson<unknown>(await lbOk(['snapshots', '--repo', repoUrl, '--output', 'json']));
      const arr = (Array.isArray(listed) ? listed : (listed as { snapshots: unknown[] }).snapshots) as Array<{ id: string; cluster: string }>;
      for (let i = 0; i < 2; i++) {
        const snap = arr.find((s) => s.cluster === `concurrent-${i}`);
        assert.ok(snap, `capture ${i} is listed`);
        const to = path.join(work, `concurrent-restore-${i}`);
        await lbOk(['repo', 'restore-dir', snap.id, '--repo', repoUrl, '--volume', volume, '--to', to]);
        assert.deepEqual(diffTrees(expectedTrees[i], await hashTree(to)), [], `capture ${i} restores byte-identically`);
      }
      const v = await lb(['repo', 'verify', '--read-data', '--repo', repoUrl, '--output', 'json']);
      assert.equal(v.code, 0, v.stdout.slice(0, 2000));
    });

    it('prune is refused while a capture holds its lock, naming the holder, and runs once it is released', async function () {
      const repo = await Repository.open(backend('teams/shop/backups'), { passphrase: password, workers: 1 });
      try {
        const held = await acquireLock(repo, { exclusive: false, purpose: 'capture of lock-holder' });
        try {
          const p = await lb(['repo', 'prune', '--repo', repoUrl]);
          assert.equal(p.code, 1, `prune while a capture runs must be refused:\n${p.stdout}\n${p.stderr}`);
          assert.match(p.stderr, /locked \(shared\) for "capture of lock-holder" by .+ pid \d+/, p.stderr);
        } finally {
          await held.release();
        }
        await lbOk(['repo', 'prune', '--repo', repoUrl]);
      } finally {
        await repo.close();
      }
    });

    it('a capture killed after its first pack reached the bucket leaves no snapshot, and prune removes what it uploaded', async function () {
      const b = backend('teams/shop/backups');
      const dataKeys = async () => {
        const keys = new Map<string, number>();
        for await (const o of b.list('data/')) keys.set(o.key, o.size);
        return keys;
      };
      try {
        const dir = path.join(work, 'killed');
        await generateDataset(dir, { totalBytes: 48 * 1024 * 1024, seed: 9, smallFiles: 20, mix: { random: 1, shared: 0, text: 0 } });
        const before = await dataKeys();
        const listSnaps = async () => {
          const json = parseJson<unknown>(await lbOk(['snapshots', '--repo', repoUrl, '--output', 'json']));
          return ((Array.isArray(json) ? json : (json as { snapshots: unknown[] }).snapshots) as Array<{ id: string }>).map((x) => x.id).sort();
        };
        const snapsBefore = await listSnaps();
        const tmp = path.join(work, 'killed-tmp');
        await fs.mkdir(tmp);
        const writer = await startCli(['repo', 'backup-dir', dir, '--repo', repoUrl, '--cluster', 'prod', '--volume', volume], {
          password,
          env: { ...s3Env(), TMPDIR: tmp },
        });
        // Kill the moment the first new pack is in the bucket: the capture is then certainly mid-way.
        let finished = false;
        void writer.done.then(() => (finished = true));
        await waitFor('the first pack of the capture in the bucket', async () => {
          if (finished) throw new Error(`the capture ended before a pack was seen: ${(await writer.done).stderr}`);
          const now = await dataKeys();
          return [...now.keys()].some((k) => !before.has(k)) || undefined;
        }, 120_000);
        writer.kill('SIGKILL');
        const result = await writer.done;
        assert.equal(result.signal, 'SIGKILL', 'the writer was killed mid-way');

        assert.deepEqual(await listSnaps(), snapsBefore, 'no partial snapshot is listed');

        const unlock = parseJson<{ removed: Array<{ reason: string }> }>(await lbOk(['repo', 'unlock', '--repo', repoUrl, '--output', 'json']));
        assert.equal(unlock.removed.length, 1, 'the dead writer’s lock is found stale and removed');
        assert.match(unlock.removed[0].reason, new RegExp(`\\b${writer.pid}\\b`));

        const v = await lb(['repo', 'verify', '--repo', repoUrl, '--output', 'json']);
        assert.equal(v.code, 0, `the repository verifies: ${v.stdout.slice(0, 2000)}`);

        const leftBehind = [...(await dataKeys()).keys()].filter((k) => !before.has(k));
        assert.ok(leftBehind.length > 0);
        await lbOk(['repo', 'prune', '--repo', repoUrl]);
        const after = await dataKeys();
        assert.deepEqual(leftBehind.filter((k) => after.has(k)), [], 'prune deleted every pack the killed capture uploaded');
        assert.deepEqual([...before.keys()].filter((k) => !after.has(k)), [], 'and nothing the kept snapshot needs');
        const full = await lb(['repo', 'verify', '--read-data', '--repo', repoUrl, '--output', 'json']);
        assert.equal(full.code, 0, full.stdout.slice(0, 2000));
      } finally {
        await b.close();
      }
    });
  });

  it('SnapshotWriter on S3: resources and a volume tar stream, then read back', async function () {
    const repo = await Repository.init(backend('api-repo'), { passphrase: password });
    const dir = path.join(work, 'api-data');
    await generateDataset(dir, { totalBytes: 4 * 1024 * 1024, seed: 3, smallFiles: 50, specials: false });
    const expected = await hashTree(dir);
    try {
      const writer = await SnapshotWriter.begin(repo, { cluster: 'api', scope: { namespaces: ['shop'] } });
      const cm = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: 'shop', labels: { app: 'web' } },
        data: { 'app.conf': 'mode=prod\n' },
      };
      await writer.addResource(cm);
      const tar = spawn('tar', ['cf', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await writer.addVolume({ namespace: 'shop', pvc: 'data' }, tar.stdout);
      const summary = await writer.commit();
      const listed = await listSnapshots(repo);
      assert.deepEqual(listed.map((s) => s.id), [summary.id]);
      const back = await readResource(repo, summary.id, { kind: 'ConfigMap', namespace: 'shop', name: 'settings' });
      assert.deepEqual(back, cm);
      const to = path.join(work, 'api-restore');
      await restoreToDirectory(repo, summary.id, { namespace: 'shop', pvc: 'data' }, to);
      assert.deepEqual(diffTrees(expected, await hashTree(to)), []);
    } finally {
      await repo.close();
    }
  });
});
