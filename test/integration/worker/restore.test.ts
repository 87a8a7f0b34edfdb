import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { ErrorCodes as RpcErrorCodes } from 'vscode-jsonrpc';
import type { PruneReport } from '../../../src/engine/repo/prune';
import type { RestoreFileResult, RestorePlan, RestoreResult } from '../../../src/engine/restore/types';
import {
  ErrorCodes,
  InitializeRequest,
  PROTOCOL_VERSION,
  RepositoryPruneRequest,
  RestoreApplyRequest,
  RestoreFileRequestType,
  RestorePlanRequest,
  RestoreProfilesRequest,
  type RepositoryRef,
  type RestoreProfilesResult,
} from '../../../src/protocol/worker';
import { buildCli } from '../../support/proc';
import { capture, startRestoreBed, type RestoreBed } from '../restore/bed';
import { progressOf, rejection, startWorker, type Worker } from './workerProcess';

/**
 * Restore jobs through the worker process, as the extension's plan panel
 * drives them: profiles, a plan with documents, an apply that must name the
 * confirmed context, a file restore, and a prune under the exclusive lock.
 */

describe('restore jobs through the worker process', function () {
  this.timeout(300_000);
  let bed: RestoreBed;
  let worker: Worker;
  let repository: RepositoryRef;
  let jobs = 0;
  const nextJob = (): string => `restore-${++jobs}`;
  const request = () => ({
    snapshot: 'latest',
    kubeconfig: bed.sandbox.kubeconfigPath,
    context: 'sandbox-dev',
    profile: 'dev',
    namespaceMapping: { shop: 'shop-dev' },
    selection: { namespaces: ['shop'] },
  });
  const devHas = async (namespace: string) => (await bed.kubectl(['--context', 'sandbox-dev', 'get', 'namespaces', '-o', 'name'])).split('\n').includes(`namespace/${namespace}`);
  const logsOf = (jobId: string) =>
    worker.received.filter((r) => r.method === 'job/log' && (r.params as { jobId?: string }).jobId === jobId).map((r) => (r.params as { record: { message: string } }).record.message);

  before(async function () {
    bed = await startRestoreBed('worker');
    await bed.kubectl(['--context', 'sandbox-prod', 'wait', '--for=jsonpath={.status.phase}=Running', 'pod/db-0', '-n', 'shop', '--timeout=60s']);
    await capture(bed, ['shop']);
    repository = { location: bed.repoDir, passphrase: bed.passphrase };
    worker = startWorker(await buildCli());
    await worker.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION });
  });

  after(async () => {
    worker?.connection.dispose();
    worker?.child.kill('SIGKILL');
    await bed?.stop();
  });

  it('lists the built-in profiles first, then those of the folder, with the error of one that does not validate', async () => {
    const dir = await mkdtemp(path.join(bed.work, 'profiles-'));
    await writeFile(path.join(dir, 'staging.yaml'), 'extends: dev\ndescription: staging\nnamespaceMapping: { shop: shop-staging }\n');
    await writeFile(path.join(dir, 'broken.yaml'), 'replicas: { default: many }\n');
    const { profiles } = await worker.request<RestoreProfilesResult>(RestoreProfilesRequest.method, { profilesDir: dir });
    assert.deepEqual(profiles.slice(0, 2).map((p) => [p.name, p.builtIn]), [['dr', true], ['dev', true]]);
    const staging = profiles.find((p) => p.name === 'staging');
    assert.equal(staging?.builtIn, false);
    assert.equal(staging?.error, undefined);
    assert.match(profiles.find((p) => p.name === 'broken')?.error ?? '', /replicas/);
  });

  it('plans with each item\'s live and desired documents, reporting progress, writing nothing', async () => {
    const jobId = nextJob();
    const plan = await worker.request<RestorePlan>(RestorePlanRequest.method, { jobId, repository, request: request(), documents: true });
    assert.equal(plan.target.context, 'sandbox-dev');
    const sts = plan.items.find((i) => i.kind === 'StatefulSet' && i.name === 'db');
    assert.equal(sts?.action, 'create');
    assert.equal(sts?.namespace, 'shop-dev');
    assert.match(sts?.desired ?? '', /kind: StatefulSet/);
    assert.equal(sts?.live, undefined, 'nothing live for a create');
    assert.ok(progressOf(worker, jobId).length > 0, 'progress arrives');
    assert.equal(await devHas('shop-dev'), false);
  });

  it('refuses an apply whose confirmed context is not the target, writing nothing', async () => {
    const err = await rejection(worker.request(RestoreApplyRequest.method, { jobId: nextJob(), repository, request: request(), confirmContext: 'sandbox-prod' }));
    assert.equal(err.code, ErrorCodes.usage);
    assert.match(err.message, /sandbox-dev/);
    assert.match(err.message, /sandbox-prod/);
    assert.equal(await devHas('shop-dev'), false);
  });

  it('refuses params with unknown fields, naming the field', async () => {
    const err = await rejection(worker.request(RestorePlanRequest.method, { jobId: nextJob(), repository, request: { ...request(), namespace: 'shop' } }));
    assert.equal(err.code, RpcErrorCodes.InvalidParams);
    assert.match(err.message, /request\.namespace/);
  });

  it('applies the confirmed restore: objects and volume data, each write logged, phases reported, verified complete', async () => {
    const jobId = nextJob();
    const result = await worker.request<RestoreResult>(RestoreApplyRequest.method, { jobId, repository, request: request(), confirmContext: 'sandbox-dev' });
    assert.equal(result.complete, true, JSON.stringify(result.warnings));
    assert.ok(result.record.some((e) => e.kind === 'StatefulSet' && e.name === 'db' && e.outcome === 'created'));
    assert.ok(result.record.some((e) => e.outcome === 'data-written' && e.name === 'data-db-0'), JSON.stringify(result.record.filter((e) => e.kind === 'PersistentVolumeClaim')));
    assert.deepEqual(result.verify.items.filter((i) => i.action !== 'unchanged'), []);
    const phases = new Set(progressOf(worker, jobId).map((p) => p.progress.phase));
    assert.ok(phases.has('verify'), `phases: ${[...phases].join(', ')}`);
    const logs = logsOf(jobId).join('\n');
    assert.match(logs, /StatefulSet/);
    assert.equal(await devHas('shop-dev'), true);
  });

  it('restores a file of the volume into a local directory', async () => {
    const out = await mkdtemp(path.join(bed.work, 'file-'));
    const result = await worker.request<RestoreFileResult>(RestoreFileRequestType.method, {
      jobId: nextJob(),
      repository,
      request: { snapshot: 'latest', volume: { namespace: 'shop', pvc: 'data-db-0' }, path: '/pgdata/PG_VERSION', to: { kind: 'dir', directory: out } },
    });
    assert.equal(result.files, 1);
    const file = (await readdir(out, { recursive: true })).map(String).find((f) => f.endsWith('PG_VERSION'));
    assert.ok(file);
    assert.equal(await readFile(path.join(out, file), 'utf8'), '16\n');
  });

  it('prunes under the exclusive lock: a dry run only reports, a policy keeping the last snapshot forgets the older one and its data', async () => {
    // Data only the older snapshot holds: a file captured once, then removed before the next capture.
    const claim = await bed.prod.claimDir('shop', 'data-db-0');
    assert.ok(claim);
    const extra = path.join(claim, 'only-in-the-first-snapshot.bin');
    await writeFile(extra, randomBytes(2 * 1024 * 1024));
    await capture(bed, ['shop']);
    await rm(extra);
    await capture(bed, ['shop']);
    const before = await worker.request<PruneReport>(RepositoryPruneRequest.method, { jobId: nextJob(), repository, dryRun: true });
    const dry = await worker.request<PruneReport>(RepositoryPruneRequest.method, { jobId: nextJob(), repository, policy: { last: 1 }, dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.equal(dry.snapshotsBefore, before.snapshotsBefore);
    assert.equal(dry.forgotten.length, before.snapshotsBefore - 1);
    const jobId = nextJob();
    const report = await worker.request<PruneReport>(RepositoryPruneRequest.method, { jobId, repository, policy: { last: 1 } });
    assert.equal(report.snapshotsBefore, before.snapshotsBefore, 'the dry run forgot nothing');
    assert.equal(report.forgotten.length, before.snapshotsBefore - 1);
    assert.ok(report.bytesFreed >= 2 * 1024 * 1024 * 0.9, `the data only the forgotten snapshots held is removed (${report.bytesFreed} bytes freed)`);
    assert.deepEqual(progressOf(worker, jobId).map((p) => p.progress.phase), ['prune']);
    const again = await worker.request<PruneReport>(RepositoryPruneRequest.method, { jobId: nextJob(), repository, dryRun: true });
    assert.equal(again.snapshotsBefore, 1);
  });

  it('never sent the passphrase or a Secret value in any notification or answer', async () => {
    const everything = JSON.stringify(worker.received) + worker.answers.join('\n') + worker.stderr();
    assert.ok(!everything.includes(bed.passphrase));
    const secret = JSON.parse(await bed.kubectl(['--context', 'sandbox-prod', 'get', 'secret', 'db-credentials', '-n', 'shop', '-o', 'json'])) as { data: Record<string, string> };
    const password = Buffer.from(secret.data.POSTGRES_PASSWORD, 'base64').toString('utf8');
    assert.ok(!everything.includes(password));
    assert.ok(!everything.includes(secret.data.POSTGRES_PASSWORD));
  });
});
