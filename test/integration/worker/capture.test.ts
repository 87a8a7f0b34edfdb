import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import type { CaptureResult } from '../../../src/engine/capture/types';
import { listLocks, Repository } from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage';
import {
  CaptureJobRequest,
  ErrorCodes,
  InitializeRequest,
  PROTOCOL_VERSION,
  SnapshotsListRequest,
  type RepositoryRef,
  type SnapshotsListResult,
} from '../../../src/protocol/worker';
import { buildCli, run, waitFor } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';
import { progressOf, rejection, startWorker, type Worker } from './workerProcess';

/**
 * Captures driven through the worker process as the extension drives them,
 * on the sandbox cluster: progress crosses the process boundary, and a
 * cancelled capture (or a parent that goes away) removes its mover pod and
 * releases the repository lock.
 */

const PASSPHRASE = 'capture-over-ipc-Passphrase-9021';

describe('captures through the worker process', function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let work: string;
  let repository: RepositoryRef;
  let bundle: string;
  let worker: Worker;
  let jobs = 0;
  const nextJob = (): string => `capture-${++jobs}`;

  const kubectlJson = async (...args: string[]): Promise<{ items: unknown[]; status?: { phase?: string } }> => {
    const r = await run('kubectl', [...args, '-o', 'json'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const movers = async () => (await kubectlJson('get', 'pods', '-A', '-l', 'lifeboat.dev/mover')).items;
  const repoState = async () => {
    const repo = await Repository.open(new LocalBackend(repository.location), { passphrase: PASSPHRASE, workers: 1 });
    try {
      return { locks: (await listLocks(repo)).length };
    } finally {
      await repo.close();
    }
  };
  const snapshots = async () =>
    (await worker.request<SnapshotsListResult>(SnapshotsListRequest.method, { jobId: nextJob(), repository })).snapshots.length;
  const request = (sandboxConfig: string) => ({ kubeconfig: sandboxConfig, context: 'sandbox-prod', scope: { namespaces: ['billing'] } });

  before(async function () {
    bundle = await buildCli();
    work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-worker-capture-'));
    sandbox = await startSandbox({ clusters: ['prod'], kubeconfigPath: path.join(work, 'kubeconfig') });
    const repo = await Repository.init(new LocalBackend(path.join(work, 'repo')), { passphrase: PASSPHRASE, kdf: { N: 1024, r: 8, p: 1 } });
    await repo.close();
    repository = { location: path.join(work, 'repo'), passphrase: PASSPHRASE };
    // billing: a Deployment with a volume and no backup hooks, so the test is about the worker, not hook behaviour.
    await waitFor('the invoicer pod to run', async () => (await kubectlJson('get', 'pods', '-n', 'billing', '-l', 'app=invoicer')).items.length > 0 || undefined, 60_000);
    worker = startWorker(bundle);
    await worker.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION });
  });

  after(async function () {
    worker?.connection.dispose();
    worker?.child.kill('SIGKILL');
    await sandbox?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('captures namespace billing with its volume, reporting progress by phase, and lists the snapshot', async function () {
    const jobId = nextJob();
    const result = await worker.request<CaptureResult>(CaptureJobRequest.method, { jobId, repository, request: request(sandbox.kubeconfigPath) });
    assert.ok(result.snapshot.counts.resources >= 3, JSON.stringify(result.snapshot.counts));
    assert.equal(result.snapshot.counts.volumes, 1);
    assert.ok(result.snapshot.counts.files > 0);
    const progress = progressOf(worker, jobId).map((p) => p.progress.phase);
    assert.ok(new Set(progress).size >= 2, `phases: ${progress.join(', ')}`);
    assert.equal(progress[progress.length - 1], 'commit', 'the last state reaches the client');
    const logs = worker.received.filter((r) => r.method === 'job/log' && (r.params as { jobId?: string }).jobId === jobId);
    assert.ok(logs.some((r) => /capture started/.test(JSON.stringify(r.params))), 'the engine\'s log records arrive');
    assert.equal(await snapshots(), 1);
    assert.deepEqual(await movers(), []);
    assert.equal((await repoState()).locks, 0);
  });

  describe('with a large volume', function () {
    before(async function () {
      this.timeout(120_000);
      const dir = await sandbox.clusters.get('prod')!.claimDir('billing', 'invoices');
      // Incompressible, so reading it takes long enough to cancel mid-volume.
      await run('sh', ['-c', `head -c 300M /dev/urandom > "${dir}/bulk.bin"`], { timeoutMs: 120_000 });
    });

    const startCapture = async (w: Worker, cts?: CancellationTokenSource) => {
      const answer = w.request<CaptureResult>(CaptureJobRequest.method, { jobId: nextJob(), repository, request: request(sandbox.kubeconfigPath) }, cts);
      answer.catch(() => undefined);
      await waitFor('the mover pod to be reading', async () => (await movers()).length > 0 || undefined, 60_000);
      await new Promise((r) => setTimeout(r, 1500));
      return { answer };
    };

    it('a cancelled capture answers with the cancelled code, removes its mover pod and releases the lock', async function () {
      const before = await snapshots();
      const cts = new CancellationTokenSource();
      const { answer } = await startCapture(worker, cts);
      const t0 = Date.now();
      cts.cancel();
      const err = await rejection(answer);
      const took = Date.now() - t0;
      assert.equal(err.code, ErrorCodes.cancelled, err.message);
      assert.ok(took < 2000, `cancellation took ${took} ms`);
      assert.deepEqual(await movers(), [], 'the mover pod is gone when the answer comes');
      assert.equal((await repoState()).locks, 0);
      assert.equal(await snapshots(), before, 'no snapshot from a cancelled capture');
    });

    it('a worker whose parent goes away cancels its capture, removes the mover pod and exits', async function () {
      const own = startWorker(bundle);
      try {
        await own.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION });
        await startCapture(own);
        own.connection.dispose();
        own.child.disconnect();
        const exit = await Promise.race([own.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000))]);
        assert.ok(exit, `the worker still runs 30 s after its parent disconnected; stderr: ${own.stderr()}`);
        assert.equal(exit.code, 0);
        assert.deepEqual(await movers(), []);
        assert.equal((await repoState()).locks, 0);
      } finally {
        own.child.kill('SIGKILL');
      }
    });

    it('never sent the passphrase in any notification or answer', function () {
      const everything = JSON.stringify(worker.received) + worker.answers.join('\n') + worker.stderr();
      assert.ok(!everything.includes(PASSPHRASE));
    });
  });
});
