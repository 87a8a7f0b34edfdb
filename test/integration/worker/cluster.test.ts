import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource, ErrorCodes as RpcErrorCodes } from 'vscode-jsonrpc';
import {
  ClusterContextsRequest,
  ClusterErrorCodes,
  ClusterNamespacesRequest,
  ClusterObjectsRequest,
  ClusterTagRequest,
  ClusterWatchRequest,
  ErrorCodes,
  InitializeRequest,
  PROTOCOL_VERSION,
  type ClusterChangedParams,
  type ClusterContextsResult,
  type ClusterNamespacesResult,
  type ClusterObjectsResult,
  type ClusterTagResult,
} from '../../../src/protocol/worker';
import { buildCli, run } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';
import { rejection, startWorker, until, type Worker } from './workerProcess';

/**
 * The Clusters view's requests, spoken to a forked worker on the sandbox
 * clusters: contexts, namespaces and objects with tag state, tagging checked
 * with kubectl, and the watch that tells the view to refresh.
 */

describe('cluster requests through the worker process', function () {
  this.timeout(240_000);
  let sandbox: Sandbox;
  let work: string;
  let worker: Worker;
  let kubeconfig: string;

  const kubectl = async (...args: string[]): Promise<string> => {
    const r = await run('kubectl', ['--kubeconfig', kubeconfig, '--context', 'sandbox-prod', ...args], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const pvcTag = async (): Promise<string> => kubectl('get', 'pvc', 'data-db-0', '-n', 'shop', '-o', "jsonpath={.metadata.annotations['lifeboat\\.dev/backup']}");
  const changes = (): ClusterChangedParams[] => worker.received.filter((r) => r.method === 'cluster/changed').map((r) => r.params as ClusterChangedParams);

  before(async function () {
    const bundle = await buildCli();
    work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-worker-cluster-'));
    kubeconfig = path.join(work, 'kubeconfig');
    sandbox = await startSandbox({ clusters: ['prod', 'dev'], kubeconfigPath: kubeconfig });
    worker = startWorker(bundle);
    await worker.request(InitializeRequest.method, { protocolVersion: PROTOCOL_VERSION });
  });

  after(async function () {
    worker?.connection.dispose();
    worker?.child.kill('SIGKILL');
    await sandbox?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lists the kubeconfig contexts with the current one first', async function () {
    const { contexts } = await worker.request<ClusterContextsResult>(ClusterContextsRequest.method, { kubeconfig });
    assert.deepEqual(contexts.map((c) => c.name).sort(), ['sandbox-dev', 'sandbox-dev-restricted', 'sandbox-prod', 'sandbox-prod-restricted']);
    assert.equal(contexts[0].name, 'sandbox-prod');
    assert.equal(contexts[0].current, true);
    assert.equal(contexts.filter((c) => c.current).length, 1);
    assert.match(contexts[0].server, /^https:\/\/127\.0\.0\.1:\d+/);
  });

  it('says there is no kubeconfig with its own error code', async function () {
    const err = await rejection(worker.request(ClusterContextsRequest.method, { kubeconfig: path.join(work, 'missing-kubeconfig') }));
    assert.equal(err.code, ClusterErrorCodes.noKubeconfig);
    assert.match(err.message, /missing-kubeconfig/);
  });

  it('lists namespaces with their tag state', async function () {
    const { namespaces } = await worker.request<ClusterNamespacesResult>(ClusterNamespacesRequest.method, { kubeconfig, context: 'sandbox-prod' });
    const names = namespaces.map((n) => n.name);
    assert.ok(names.includes('shop') && names.includes('billing') && names.includes('default'), names.join(', '));
    assert.deepEqual(names, [...names].sort());
    await kubectl('annotate', 'namespace', 'billing', 'lifeboat.dev/backup=false', '--overwrite');
    try {
      const again = await worker.request<ClusterNamespacesResult>(ClusterNamespacesRequest.method, { kubeconfig, context: 'sandbox-prod' });
      assert.equal(again.namespaces.find((n) => n.name === 'billing')?.tag, 'false');
    } finally {
      await kubectl('annotate', 'namespace', 'billing', 'lifeboat.dev/backup-');
    }
  });

  it('lists the workloads, pods and PVCs of shop with tag state and status', async function () {
    const objects = async (what: string) =>
      (await worker.request<ClusterObjectsResult>(ClusterObjectsRequest.method, { kubeconfig, context: 'sandbox-prod', namespace: 'shop', what })).items;
    const workloads = await objects('workloads');
    const db = workloads.find((w) => w.kind === 'StatefulSet' && w.name === 'db');
    assert.ok(db, JSON.stringify(workloads));
    assert.equal(db.tag, 'true');
    assert.match(db.status, /^\d+\/1 ready$/);
    assert.ok(workloads.some((w) => w.kind === 'Deployment' && w.name === 'web'));
    const pvcs = await objects('pvcs');
    const data = pvcs.find((p) => p.name === 'data-db-0');
    assert.ok(data, JSON.stringify(pvcs));
    assert.equal(data.kind, 'PersistentVolumeClaim');
    assert.match(data.status, /^Bound/);
    const pods = await objects('pods');
    assert.ok(pods.some((p) => p.kind === 'Pod' && p.name === 'db-0' && /^Running/.test(p.status)), JSON.stringify(pods));
  });

  it('tags, excludes and untags a PVC, as kubectl sees it', async function () {
    const tag = (value: string | null) =>
      worker.request<ClusterTagResult>(ClusterTagRequest.method, { kubeconfig, context: 'sandbox-prod', refs: [{ kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data-db-0' }], value });
    const before = await pvcTag();
    try {
      assert.deepEqual((await tag('false')).results.map((r) => r.ok), [true]);
      assert.equal(await pvcTag(), 'false');
      assert.deepEqual((await tag(null)).results.map((r) => r.ok), [true]);
      assert.equal(await pvcTag(), '');
      await tag('true');
      assert.equal(await pvcTag(), 'true');
    } finally {
      if (before !== 'true') await tag(before === 'false' ? 'false' : null);
    }
  });

  it('reports per object when one of several cannot be tagged, and tags the others', async function () {
    const { results } = await worker.request<ClusterTagResult>(ClusterTagRequest.method, {
      kubeconfig,
      context: 'sandbox-prod',
      refs: [
        { kind: 'Pod', namespace: 'shop', name: 'no-such-pod' },
        { kind: 'Namespace', name: 'billing' },
      ],
      value: 'true',
    });
    assert.equal(results[0].ok, false);
    assert.match(results[0].message ?? '', /Pod shop\/no-such-pod no longer exists in sandbox-prod/);
    assert.equal(results[1].ok, true);
    await kubectl('annotate', 'namespace', 'billing', 'lifeboat.dev/backup-');
  });

  it('refuses tagging in a context that may not write, naming the object', async function () {
    const { results } = await worker.request<ClusterTagResult>(ClusterTagRequest.method, {
      kubeconfig,
      context: 'sandbox-prod-restricted',
      refs: [{ kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data-db-0' }],
      value: 'false',
    });
    assert.equal(results[0].ok, false);
    assert.match(results[0].message ?? '', /not allowed to change PersistentVolumeClaim shop\/data-db-0/);
  });

  it('refuses params that name an unknown kind or a bad value', async function () {
    const bad = await rejection(worker.request(ClusterTagRequest.method, { context: 'sandbox-prod', refs: [{ kind: 'Secret', namespace: 'shop', name: 'x' }], value: 'true' }));
    assert.equal(bad.code, RpcErrorCodes.InvalidParams);
    assert.match(bad.message, /refs\[0\]\.kind/);
    const value = await rejection(worker.request(ClusterTagRequest.method, { context: 'sandbox-prod', refs: [{ kind: 'Namespace', name: 'shop' }], value: 'yes' }));
    assert.match(value.message, /^value:/);
    const what = await rejection(worker.request(ClusterObjectsRequest.method, { context: 'sandbox-prod', namespace: 'shop', what: 'secrets' }));
    assert.match(what.message, /^what:/);
  });

  it('answers an unreachable cluster with its own code, naming the context', async function () {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const dead = path.join(work, 'dead-kubeconfig');
    writeFileSync(
      dead,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: gone, cluster: {server: "https://127.0.0.1:' + port + '", insecure-skip-tls-verify: true}}]',
        'users: [{name: someone, user: {token: abc}}]',
        'contexts: [{name: gone, context: {cluster: gone, user: someone}}]',
        'current-context: gone',
      ].join('\n'),
    );
    const err = await rejection(worker.request(ClusterNamespacesRequest.method, { kubeconfig: dead, context: 'gone' }));
    assert.equal(err.code, ClusterErrorCodes.unreachable);
    assert.match(err.message, /gone/);
  });

  it('sends cluster/changed after kubectl annotates a PVC, and stops when cancelled', async function () {
    const cts = new CancellationTokenSource();
    const watching = worker.request(ClusterWatchRequest.method, { kubeconfig, context: 'sandbox-prod' }, cts);
    // Subscribing replays nothing: give the watches a moment to start, then expect silence.
    await new Promise((r) => setTimeout(r, 1500));
    const before = changes().length;
    assert.ok(!changes().some((c) => c.what === 'namespaces'), JSON.stringify(changes()));
    await kubectl('annotate', 'pvc', 'data-db-0', '-n', 'shop', 'lifeboat.dev/watch-probe=1', '--overwrite');
    try {
      await until('a cluster/changed for shop PVCs', () => changes().slice(before).some((c) => c.context === 'sandbox-prod' && c.namespace === 'shop' && c.what === 'pvcs'), 30_000);
    } finally {
      await kubectl('annotate', 'pvc', 'data-db-0', '-n', 'shop', 'lifeboat.dev/watch-probe-');
    }
    cts.cancel();
    const err = await rejection(watching);
    assert.equal(err.code, ErrorCodes.cancelled);
    await new Promise((r) => setTimeout(r, 500));
    const after = changes().length;
    await kubectl('annotate', 'namespace', 'shop', 'lifeboat.dev/watch-probe=1', '--overwrite');
    await kubectl('annotate', 'namespace', 'shop', 'lifeboat.dev/watch-probe-');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(changes().length, after, 'no notifications after the watch was cancelled');
  });
});
