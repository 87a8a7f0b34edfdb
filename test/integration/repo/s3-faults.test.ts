import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { listSnapshots, Repository, restoreToDirectory, SnapshotWriter, verify } from '../../../src/engine/repo/api';
import { S3Backend, type S3Options } from '../../../src/engine/storage';
import { diffTrees, generateDataset, hashTree } from '../../support/datagen';
import { startFaultProxy, type FaultProxy } from '../../support/faultProxy';
import { cli, parseJson } from '../../support/proc';
import { RGW_UNAVAILABLE, rgwAvailable, startRgw, type RgwServer } from '../../support/rgw';

/**
 * Captures into real S3 (Ceph RGW) through a fault-injecting proxy (the
 * only stand-in here, for failures a healthy server cannot be made to give
 * on demand): error answers and connections cut mid-upload are retried and
 * the capture completes intact; faults beyond the retry budget fail the
 * capture with a clear message and leave no partial snapshot behind.
 */
describe('repository on S3 under injected faults (Ceph RGW behind a fault proxy)', function () {
  this.timeout(300_000);

  const password = 'faults-passphrase';
  const bucket = 'lifeboat-faults';
  const volume = { namespace: 'shop', pvc: 'data' };
  let rgw: RgwServer | undefined;
  let proxy: FaultProxy | undefined;
  let work: string;
  let dataDir: string;
  let expected: Map<string, string>;

  /** A backend through the proxy; small parts so packs go up as multipart uploads, short waits between attempts. */
  const backend = (prefix: string, extra: Partial<S3Options> = {}) =>
    new S3Backend({
      bucket,
      prefix,
      endpoint: proxy!.endpoint,
      region: rgw!.region,
      credentials: { accessKeyId: rgw!.accessKeyId, secretAccessKey: rgw!.secretAccessKey },
      partSize: 5 * 1024 * 1024,
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
      ...extra,
    });

  async function capture(repo: Repository): Promise<string> {
    const writer = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: { namespaces: ['shop'] } });
    const tar = spawn('tar', ['cf', '-', '-C', dataDir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await writer.addVolume(volume, tar.stdout);
      return (await writer.commit()).id;
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw err;
    }
  }

  before(async function () {
    if (!rgwAvailable()) {
      console.log(`      skipped: ${RGW_UNAVAILABLE}`);
      this.skip();
    }
    this.timeout(180_000);
    rgw = await startRgw();
    await rgw.createBucket(bucket);
    proxy = await startFaultProxy(rgw.endpoint);
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-faults-'));
    dataDir = path.join(work, 'data');
    await generateDataset(dataDir, { totalBytes: 24 * 1024 * 1024, seed: 77, smallFiles: 200 });
    expected = await hashTree(dataDir);
  });

  afterEach(() => proxy?.clear());

  after(async function () {
    await proxy?.stop();
    await rgw?.stop();
    if (work && process.env.LIFEBOAT_KEEP_TEST_DIRS !== '1') await fs.rm(work, { recursive: true, force: true });
  });

  it('a capture hit by 500s, 503 SlowDown and connections cut mid-upload completes and restores byte-identically', async function () {
    const prefix = 'retried';
    const repo = await Repository.init(backend(prefix), { passphrase: password });
    try {
      // At most 6 faults on pack uploads: fewer than the 8 attempts a single request gets, even
      // if every one of them lands on the same request, so the capture must always get through.
      const armed = [
        { method: 'PUT', pathIncludes: `/${prefix}/data/`, times: 2, fault: { status: 503 as const, code: 'SlowDown' } },
        { method: 'PUT', pathIncludes: 'partNumber=', times: 2, fault: { status: 500 as const } },
        { method: 'PUT', pathIncludes: 'partNumber=', times: 1, fault: { reset: 'mid-request' as const } },
        { method: 'PUT', pathIncludes: `/${prefix}/data/`, times: 1, fault: { reset: 'mid-request' as const } },
        // The server stores these, the answer is lost: the retry must accept its own earlier write.
        { method: 'PUT', pathIncludes: `/${prefix}/index/`, times: 1, fault: { reset: 'before-response' as const } },
        { method: 'PUT', pathIncludes: `/${prefix}/snapshots/`, times: 1, fault: { reset: 'before-response' as const } },
      ];
      const injectedBefore = proxy!.counts().injected;
      for (const rule of armed) proxy!.inject(rule);
      const id = await capture(repo);
      const counts = proxy!.counts();
      assert.equal(counts.armed, 0, `every armed fault was hit during the capture (${counts.armed} left): the test exercised them all`);
      assert.equal(counts.injected - injectedBefore, armed.reduce((n, r) => n + r.times, 0));
      assert.deepEqual((await listSnapshots(repo)).map((s) => s.id), [id]);

      // Reads are retried too: answers cut half-way while restoring.
      proxy!.inject({ method: 'GET', pathIncludes: `/${prefix}/data/`, times: 3, fault: { reset: 'mid-response' } });
      // (5 read faults in all: below the attempts of one request.)
      proxy!.inject({ method: 'GET', pathIncludes: `/${prefix}/data/`, times: 2, fault: { status: 503, code: 'SlowDown' } });
      const to = path.join(work, 'restore-retried');
      await restoreToDirectory(repo, id, volume, to);
      assert.equal(proxy!.counts().armed, 0, 'the read faults were hit');
      assert.deepEqual(diffTrees(expected, await hashTree(to)), []);
      const report = await verify(repo, { readData: true });
      assert.equal(report.ok, true, JSON.stringify(report.errors).slice(0, 2000));
    } finally {
      await repo.close();
    }
  });

  it('faults beyond the retry budget fail the capture with a clear error; no partial snapshot, the repository verifies', async function () {
    const prefix = 'exhausted';
    const setup = await Repository.init(backend(prefix), { passphrase: password });
    await setup.close();
    const repo = await Repository.open(backend(prefix, { maxAttempts: 3 }), { passphrase: password, workers: 1 });
    try {
      proxy!.inject({ method: 'PUT', pathIncludes: `/${prefix}/snapshots/`, times: 1000, fault: { status: 503, code: 'SlowDown' } });
      await assert.rejects(capture(repo), (err: Error) => {
        assert.match(err.message, /snapshots\//, `names the object that could not be written: ${err.message}`);
        assert.match(err.message, /3 attempts/, `says how often it tried: ${err.message}`);
        assert.match(err.message, /503|SlowDown/, `says what the server answered: ${err.message}`);
        assert.ok(!err.message.includes(rgw!.secretAccessKey), 'never shows the secret key');
        return true;
      });
      proxy!.clear();
      assert.deepEqual(await listSnapshots(repo), [], 'no partial snapshot is listed');
    } finally {
      await repo.close().catch(() => undefined);
    }
    const again = await Repository.open(backend(prefix), { passphrase: password, workers: 1 });
    try {
      const report = await verify(again, { readData: true });
      assert.equal(report.ok, true, `the repository verifies: ${JSON.stringify(report.errors).slice(0, 2000)}`);
      // A later capture over a healthy connection succeeds.
      const id = await capture(again);
      const to = path.join(work, 'restore-after-exhausted');
      await restoreToDirectory(again, id, volume, to);
      assert.deepEqual(diffTrees(expected, await hashTree(to)), []);
    } finally {
      await again.close();
    }
  });

  it('the command line reports a capture that ran out of retries and leaves no snapshot', async function () {
    const repoUrl = `s3://${bucket}/cli`;
    const env = rgw!.cliEnv(proxy!.endpoint);
    const lb = (args: string[]) => cli(args, { password, env, timeoutMs: 240_000 });
    const init = await lb(['repo', 'init', '--repo', repoUrl]);
    assert.equal(init.code, 0, init.stderr);
    proxy!.inject({ method: 'PUT', pathIncludes: '/cli/data/', times: 100_000, fault: { status: 500 } });
    const r = await lb(['repo', 'backup-dir', dataDir, '--repo', repoUrl, '--cluster', 'prod', '--volume', 'shop/data']);
    proxy!.clear();
    assert.equal(r.signal, null, 'the capture gives up by itself');
    assert.equal(r.code, 1, `exit 1 on a failed capture:\n${r.stderr}`);
    assert.match(r.stderr, /attempts/, r.stderr);
    assert.match(r.stderr, /500|InternalError/, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `a message, not a stack trace:\n${r.stderr}`);
    assert.ok(!r.stderr.includes(rgw!.secretAccessKey) && !r.stdout.includes(rgw!.secretAccessKey), 'the secret key is never printed');

    const listed = await lb(['snapshots', '--repo', repoUrl, '--output', 'json']);
    assert.equal(listed.code, 0, listed.stderr);
    const json = parseJson<unknown>(listed);
    const arr = Array.isArray(json) ? json : (json as { snapshots: unknown[] }).snapshots;
    assert.deepEqual(arr, [], 'no partial snapshot is listed');
    const v = await lb(['repo', 'verify', '--repo', repoUrl, '--output', 'json']);
    assert.equal(v.code, 0, `the repository verifies after the failed capture: ${v.stdout}\n${v.stderr}`);
  });
});
