import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { CancellationTokenSource, ErrorCodes as RpcErrorCodes } from 'vscode-jsonrpc';
import { listLocks, Repository, SnapshotWriter } from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage';
import {
  ErrorCodes,
  InitializeRequest,
  PROTOCOL_VERSION,
  RepositoryVerifyRequest,
  SnapshotsListRequest,
  SnapshotsShowRequest,
  type RepositoryRef,
} from '../../../src/protocol/worker';
import { buildCli, run } from '../../support/proc';
import { progressOf, rejection, startWorker, until, type Worker } from './workerProcess';

/** The worker's protocol, spoken to a forked worker on repositories in a temp directory. */

const PASSPHRASE = 'lifeboat-Secret-passphrase-4411';
const KDF = { N: 1024, r: 8, p: 1 };
const MiB = 1024 * 1024;

function randomStream(bytes: number): Readable {
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, MiB);
      left -= n;
      this.push(randomBytes(n));
    },
  });
}

async function locksOf(location: string): Promise<number> {
  const repo = await Repository.open(new LocalBackend(location), { passphrase: PASSPHRASE, workers: 1 });
  try {
    return (await listLocks(repo)).length;
  } finally {
    await repo.close();
  }
}

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'shop', labels: { app: 'api' } },
  spec: { template: { spec: { containers: [{ name: 'api', image: 'registry.example/api:1.4.2' }] } } },
};
const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'shop' }, data: { mode: 'prod' } };
const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };

describe('the worker process over IPC', function () {
  this.timeout(180_000);
  let bundle: string;
  let work: string;
  let small: RepositoryRef;
  let big: RepositoryRef;
  let worker: Worker;
  let jobs = 0;
  const nextJob = (): string => `job-${++jobs}`;

  before(async function () {
    bundle = await buildCli();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-worker-'));

    const smallPath = path.join(work, 'small');
    const repo = await Repository.init(new LocalBackend(smallPath), { passphrase: PASSPHRASE, kdf: KDF });
    for (const cluster of ['prod', 'dev']) {
      const w = await SnapshotWriter.begin(repo, { cluster, scope: { namespaces: ['shop'] }, tags: cluster === 'prod' ? ['nightly'] : [] });
      await w.addResource(namespace);
      await w.addResource(deployment);
      await w.addResource(configMap);
      await w.commit();
    }
    await repo.close();
    small = { location: smallPath, passphrase: PASSPHRASE };

    // Many small packs: verify reports progress per pack, so the job emits far more reports than the throttle lets through.
    const bigPath = path.join(work, 'big');
    const bigRepo = await Repository.init(new LocalBackend(bigPath), { passphrase: PASSPHRASE, kdf: KDF, packSize: 2 * MiB });
    const w = await SnapshotWriter.begin(bigRepo, { cluster: 'prod', scope: {} });
    await w.addData('etcd', randomStream(200 * MiB));
    await w.commit();
    await bigRepo.close();
    big = { location: bigPath, passphrase: PASSPHRASE };

    worker = startWorker(bundle);
  });

  after(async function () {
    worker?.connection.dispose();
    worker?.child.kill('SIGKILL');
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('refuses a job sent before initialize', async function () {
    const err = await rejection(worker.request(SnapshotsListRequest.method, { jobId: nextJob(), repository: small }));
    assert.equal(err.code, RpcErrorCodes.ServerNotInitialized);
  });

  it('answers initialize with its version, the protocol version and its pid', async function () {
    const result = await worker.request<{ workerVersion: string; protocolVersion: number; pid: number }>(InitializeRequest.method, {
      protocolVersion: PROTOCOL_VERSION,
    });
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(result, { workerVersion: pkg.version, protocolVersion: PROTOCOL_VERSION, pid: worker.child.pid });
  });

  it('refuses a client that speaks another protocol version', async function () {
    const err = await rejection(worker.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION + 1 }));
    assert.equal(err.code, ErrorCodes.usage);
    assert.match(err.message, /protocol/);
  });

  it('lists the snapshots of a repository, and only one cluster\'s when asked', async function () {
    const all = await worker.request<{ snapshots: Array<{ cluster: string; counts: { resources: number } }>; unreadable: unknown[] }>(
      SnapshotsListRequest.method,
      { jobId: nextJob(), repository: small },
    );
    assert.deepEqual(all.snapshots.map((s) => s.cluster).sort(), ['dev', 'prod']);
    assert.deepEqual(all.unreadable, []);
    assert.equal(all.snapshots[0].counts.resources, 3);
    const prod = await worker.request<{ snapshots: Array<{ cluster: string; tags: string[] }> }>(SnapshotsListRequest.method, {
      jobId: nextJob(),
      repository: small,
      cluster: 'prod',
    });
    assert.deepEqual(
      prod.snapshots.map((s) => [s.cluster, s.tags]),
      [['prod', ['nightly']]],
    );
  });

  it('shows a snapshot: its manifest and its objects by namespace and kind', async function () {
    const shown = await worker.request<{ manifest: { id: string; cluster: string }; catalog: { resources: number; contents: unknown } }>(
      SnapshotsShowRequest.method,
      { jobId: nextJob(), repository: small, snapshot: 'latest' },
    );
    assert.equal(shown.catalog.resources, 3);
    assert.deepEqual(shown.catalog.contents, { '': { Namespace: ['shop'] }, shop: { ConfigMap: ['settings'], Deployment: ['api'] } });
    assert.match(shown.manifest.id, /^[0-9a-f]{64}$/);
  });

  it('rejects invalid params with InvalidParams and a message naming the field', async function () {
    const cases: Array<{ method: string; params: unknown; field: RegExp }> = [
      { method: SnapshotsListRequest.method, params: { jobId: nextJob() }, field: /^repository: is required/ },
      { method: SnapshotsListRequest.method, params: { jobId: nextJob(), repository: { passphrase: PASSPHRASE } }, field: /^repository\.location: is required/ },
      { method: SnapshotsListRequest.method, params: { jobId: 'has spaces', repository: small }, field: /^jobId: / },
      { method: SnapshotsShowRequest.method, params: { jobId: nextJob(), repository: small, snapshot: 42 }, field: /^snapshot: must be a string/ },
      { method: RepositoryVerifyRequest.method, params: { jobId: nextJob(), repository: small, readData: 'yes' }, field: /^readData: must be true or false/ },
      { method: SnapshotsListRequest.method, params: [{ jobId: nextJob(), repository: small }], field: /^params: must be an object/ },
      {
        method: SnapshotsListRequest.method,
        params: { jobId: nextJob(), repository: { ...small, s3: { accessKeyId: 'AKIA0000' } } },
        field: /^repository\.s3\.secretAccessKey: /,
      },
      {
        method: 'capture',
        params: { jobId: nextJob(), repository: small, request: { scope: { namespace: ['shop'] } } },
        field: /^request\.scope\.namespace: unknown field/,
      },
      {
        method: 'capture',
        params: { jobId: nextJob(), repository: small, request: { scope: { namespaces: ['shop', ''] } } },
        field: /^request\.scope\.namespaces\[1\]: /,
      },
      { method: 'capture', params: { jobId: nextJob(), repository: small, request: { scope: {}, parallelism: 0 } }, field: /^request\.parallelism: / },
    ];
    for (const c of cases) {
      const err = await rejection(worker.request(c.method, c.params));
      assert.equal(err.code, RpcErrorCodes.InvalidParams, `${c.method} ${JSON.stringify(c.params)}: ${err.message}`);
      assert.match(err.message, c.field);
    }
  });

  it('never echoes a secret given with the wrong type', async function () {
    const err = await rejection(
      worker.request(SnapshotsListRequest.method, { jobId: nextJob(), repository: { location: small.location, passphrase: [PASSPHRASE] } }),
    );
    assert.equal(err.code, RpcErrorCodes.InvalidParams);
    assert.match(err.message, /^repository\.passphrase: must be a string, not an array$/);
  });

  it('answers a wrong or missing passphrase with the passphrase code', async function () {
    const wrong = await rejection(worker.request(SnapshotsListRequest.method, { jobId: nextJob(), repository: { location: small.location, passphrase: 'not it' } }));
    assert.equal(wrong.code, ErrorCodes.passphrase);
    assert.match(wrong.message, /wrong passphrase/);
    const missing = await rejection(worker.request(SnapshotsListRequest.method, { jobId: nextJob(), repository: { location: small.location } }));
    assert.equal(missing.code, ErrorCodes.passphrase);
    assert.match(missing.message, /is encrypted: give its passphrase/);
  });

  it('answers an unknown snapshot and a missing repository with the notFound code', async function () {
    const snap = await rejection(worker.request(SnapshotsShowRequest.method, { jobId: nextJob(), repository: small, snapshot: 'ffffffff' }));
    assert.equal(snap.code, ErrorCodes.notFound);
    assert.match(snap.message, /no snapshot "ffffffff"/);
    const repo = await rejection(
      worker.request(SnapshotsListRequest.method, { jobId: nextJob(), repository: { location: path.join(work, 'nothing-here'), passphrase: PASSPHRASE } }),
    );
    assert.equal(repo.code, ErrorCodes.notFound);
    assert.match(repo.message, /not a Lifeboat repository/);
  });

  it('answers an unusable location with the usage code', async function () {
    const err = await rejection(worker.request(SnapshotsListRequest.method, { jobId: nextJob(), repository: { location: 'ftp://host/repo' } }));
    assert.equal(err.code, ErrorCodes.usage);
    assert.match(err.message, /unsupported scheme "ftp:\/\/"/);
  });

  it('sends throttled progress while verifying every blob, ending on the final state', async function () {
    const jobId = nextJob();
    const t0 = Date.now();
    const report = await worker.request<{ ok: boolean; readData: boolean }>(RepositoryVerifyRequest.method, { jobId, repository: big, readData: true });
    const elapsed = Date.now() - t0;
    assert.equal(report.ok, true);
    assert.equal(report.readData, true);
    const progress = progressOf(worker, jobId);
    const last = progress[progress.length - 1];
    assert.ok(last.progress.itemsTotal! >= 90, `expected about 100 packs, got ${last.progress.itemsTotal}`);
    assert.equal(last.progress.itemsDone, last.progress.itemsTotal, 'the last notification is the final state');
    // The job reported once per pack; at most ~5 a second (plus the final state) cross the process boundary.
    assert.ok(progress.length >= 2, `only ${progress.length} progress notification(s)`);
    assert.ok(progress.length <= Math.ceil(elapsed / 200) + 2, `${progress.length} notifications in ${elapsed} ms`);
    assert.ok(progress.length < last.progress.itemsTotal!, 'fewer notifications than reports');
    for (let i = 1; i < progress.length - 1; i++) {
      assert.ok(progress[i].at - progress[i - 1].at >= 150, `notifications ${i - 1} and ${i} came ${progress[i].at - progress[i - 1].at} ms apart`);
    }
  });

  it('cancels a long verify within 2 s with the cancelled code, and releases the repository lock', async function () {
    const jobId = nextJob();
    const cts = new CancellationTokenSource();
    const answer = worker.request(RepositoryVerifyRequest.method, { jobId, repository: big, readData: true }, cts);
    await until('the first pack to be read', () => progressOf(worker, jobId).some((p) => (p.progress.itemsDone ?? 0) >= 1));
    assert.equal(await locksOf(big.location), 1, 'verify holds a lock while it runs');
    const t0 = Date.now();
    cts.cancel();
    const err = await rejection(answer);
    const took = Date.now() - t0;
    assert.equal(err.code, ErrorCodes.cancelled, err.message);
    assert.ok(took < 2000, `cancellation took ${took} ms`);
    assert.equal(await locksOf(big.location), 0, 'the lock is released when the answer comes');
    const again = await worker.request<{ snapshots: unknown[] }>(SnapshotsListRequest.method, { jobId, repository: big });
    assert.equal(again.snapshots.length, 1, 'the worker serves on, and the job id is free again');
  });

  it('sends job logs, and never the passphrase in any notification or answer', async function () {
    const logs = worker.received.filter((r) => r.method === 'job/log');
    assert.ok(
      logs.some((r) => JSON.stringify(r.params).includes(JSON.stringify(big.location).slice(1, -1))),
      'the job logs name the repository location',
    );
    assert.ok(worker.answers.length > 10);
    const everything = JSON.stringify(worker.received) + worker.answers.join('\n') + worker.stderr();
    assert.ok(!everything.includes(PASSPHRASE), 'the passphrase crossed the process boundary');
  });

  it('on SIGTERM cancels its running job, releases its lock and exits', async function () {
    const own = startWorker(bundle);
    try {
      await own.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION });
      const answer = own.request(RepositoryVerifyRequest.method, { jobId: 'verify-then-sigterm', repository: big, readData: true });
      answer.catch(() => undefined);
      await until('the first pack to be read', () => progressOf(own, 'verify-then-sigterm').some((p) => (p.progress.itemsDone ?? 0) >= 1));
      own.child.kill('SIGTERM');
      const err = await rejection(answer);
      assert.equal(err.code, ErrorCodes.cancelled, 'the job is answered as cancelled before the worker goes');
      const exit = await Promise.race([own.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
      assert.ok(exit, `the worker still runs 10 s after SIGTERM; stderr: ${own.stderr()}`);
      assert.equal(exit.code, 0);
      assert.match(own.stderr(), /SIGTERM received; cancelling 1 running job/);
      assert.equal(await locksOf(big.location), 0);
    } finally {
      own.child.kill('SIGKILL');
    }
  });

  it('runs the command line, not the IPC server, when forked with a command', async function () {
    const child = fork(bundle, ['--version'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    assert.equal(code, 0);
    assert.equal(stdout.trim(), pkg.version);
  });

  it('refuses --ipc without an IPC channel, with the usage status', async function () {
    const r = await run(process.execPath, [bundle, '--ipc'], { timeoutMs: 30_000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no IPC channel/);
  });

  it('exits when the parent disconnects, cancelling its running job and releasing its lock', async function () {
    const own = startWorker(bundle);
    try {
      await own.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION });
      const answer = own.request(RepositoryVerifyRequest.method, { jobId: 'verify-then-disconnect', repository: big, readData: true });
      answer.catch(() => undefined);
      await until('the first pack to be read', () => progressOf(own, 'verify-then-disconnect').some((p) => (p.progress.itemsDone ?? 0) >= 1));
      own.connection.dispose();
      own.child.disconnect();
      const t0 = Date.now();
      const exit = await Promise.race([own.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
      assert.ok(exit, `the worker still runs 10 s after its parent disconnected; stderr: ${own.stderr()}`);
      assert.equal(exit.code, 0);
      assert.ok(Date.now() - t0 < 5000);
      assert.match(own.stderr(), /parent disconnected; cancelling 1 running job/);
      assert.equal(await locksOf(big.location), 0);
    } finally {
      own.child.kill('SIGKILL');
    }
  });
});
