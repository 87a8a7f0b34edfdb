import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SnapshotSummary } from '../../../src/engine/repo/api';
import { Repository } from '../../../src/engine/repo/repository';
import { listVolumeFiles, openFile, readCatalog, readResource } from '../../../src/engine/repo/snapshotReader';
import { LocalBackend } from '../../../src/engine/storage/local';
import { startEtcd } from '../../support/etcd';
import { buildCli, cli, cliOk, parseJson, run, startCli, waitFor } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';

/**
 * `lifeboat capture` end to end on the sandbox clusters: what lands in the
 * snapshot is compared with what kubectl sees and with the volume's files
 * on the sandbox node, and interrupted captures leave nothing behind.
 */

type Summary = SnapshotSummary;

async function sha256(stream: NodeJS.ReadableStream): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every regular file and symlink under a host directory, by volume path. */
async function hostTree(root: string, rel = ''): Promise<Map<string, { type: 'file' | 'symlink' | 'dir'; hash?: string; target?: string; mode: number }>> {
  const out = new Map<string, { type: 'file' | 'symlink' | 'dir'; hash?: string; target?: string; mode: number }>();
  for (const name of await readdir(path.join(root, rel))) {
    const r = path.posix.join(rel, name);
    const st = await lstat(path.join(root, r));
    if (st.isSymbolicLink()) out.set('/' + r, { type: 'symlink', target: await readlink(path.join(root, r)), mode: st.mode & 0o7777 });
    else if (st.isDirectory()) {
      out.set('/' + r, { type: 'dir', mode: st.mode & 0o7777 });
      for (const [k, v] of await hostTree(root, r)) out.set(k, v);
    } else if (st.isFile()) out.set('/' + r, { type: 'file', hash: await sha256(createReadStream(path.join(root, r))), mode: st.mode & 0o7777 });
  }
  return out;
}

const SKIPPED = new Set(['events', 'events.events.k8s.io', 'endpoints', 'endpointslices.discovery.k8s.io', 'leases.coordination.k8s.io']);

describe('lifeboat capture on the sandbox clusters', function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let work: string;
  let repoDir: string;
  const kubectl = (...args: string[]) => run('kubectl', args, { env: { KUBECONFIG: sandbox.kubeconfigPath }, timeoutMs: 60_000 });
  const kubectlJson = async (...args: string[]) => {
    const r = await kubectl(...args, '-o', 'json');
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const env = () => ({ KUBECONFIG: sandbox.kubeconfigPath, LIFEBOAT_REPOSITORY: repoDir, LIFEBOAT_PASSWORD: 'capture test passphrase' });
  const snapshotsJson = async () => parseJson<Summary[]>(await cliOk(['snapshots', '--output', 'json'], { env: env() }));
  const movers = async () => (await kubectlJson('get', 'pods', '-A', '-l', 'lifeboat.dev/mover')).items as { metadata: { name: string; namespace: string } }[];
  const openRepo = () => Repository.open(new LocalBackend(repoDir), { passphrase: 'capture test passphrase' });

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-capture-'));
    repoDir = path.join(work, 'repo');
    sandbox = await startSandbox({ clusters: ['prod'], kubeconfigPath: path.join(work, 'kubeconfig') });
    await cliOk(['repo', 'init'], { env: env() });
    await waitFor('db-0 to run', async () => (await kubectlJson('get', 'pod', 'db-0', '-n', 'shop')).status?.phase === 'Running' || undefined, 60_000);
  });
  after(async () => {
    await sandbox?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('stores every object of namespace shop as kubectl sees it, and every byte of its volume', async () => {
    const r = await cliOk(['capture', '--context', 'sandbox-prod', '-n', 'shop', '--tag', 'test', '--output', 'json'], { env: env() });
    const { snapshot } = parseJson<{ snapshot: Summary; warnings: string[] }>(r);
    assert.equal(snapshot.cluster, 'sandbox-prod');
    assert.deepEqual(snapshot.scope.namespaces, ['shop']);

    // What kubectl lists in shop, minus what the cluster rebuilds and what is excluded.
    const names = (await kubectl('api-resources', '--namespaced=true', '--verbs=list', '-o', 'name')).stdout.split('\n').filter(Boolean);
    const listed: any[] = [];
    for (const name of names) {
      if (SKIPPED.has(name)) continue;
      listed.push(...(await kubectlJson('get', name, '-n', 'shop')).items);
    }
    const controllers = new Set(listed.filter((o) => ['StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'CronJob'].includes(o.kind)).map((o) => o.metadata.uid));
    const expected = listed.filter(
      (o) =>
        !(o.kind === 'Secret' && o.type === 'kubernetes.io/service-account-token') &&
        o.metadata.labels?.['velero.io/exclude-from-backup'] !== 'true' &&
        !(o.kind === 'ConfigMap' && o.metadata.name === 'kube-root-ca.crt') &&
        !((o.kind === 'Pod' || o.kind === 'ReplicaSet') && (o.metadata.ownerReferences ?? []).some((ref: any) => ref.controller && controllers.has(ref.uid))),
    );
    assert.ok(expected.some((o) => o.kind === 'StatefulSet') && expected.some((o) => o.kind === 'BackupPolicy'), 'the seed has workloads and custom resources');

    const repo = await openRepo();
    try {
      const catalog = await readCatalog(repo, snapshot.id);
      const inShop = catalog.resources.filter((c) => c.namespace === 'shop');
      const key = (group: string, kind: string, name: string) => `${group}/${kind}/${name}`;
      const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');
      assert.deepEqual(
        inShop.map((c) => key(c.group, c.kind, c.name)).sort(),
        expected.map((o) => key(groupOf(o.apiVersion), o.kind, o.metadata.name)).sort(),
      );
      // Stored as the API returned them: same uid and resourceVersion as kubectl's copy.
      for (const o of expected) {
        const stored = (await readResource(repo, snapshot.id, { group: groupOf(o.apiVersion), kind: o.kind, namespace: 'shop', name: o.metadata.name })) as any;
        assert.equal(stored.metadata.uid, o.metadata.uid, `${o.kind} ${o.metadata.name}`);
        assert.equal(stored.metadata.resourceVersion, o.metadata.resourceVersion, `${o.kind} ${o.metadata.name}`);
        assert.equal(stored.apiVersion, o.apiVersion);
        assert.equal(stored.kind, o.kind);
      }
      // Related cluster-scoped objects come along.
      const clusterScoped = catalog.resources.filter((c) => !c.namespace).map((c) => `${c.kind}/${c.name}`);
      assert.ok(clusterScoped.includes('Namespace/shop'), clusterScoped.join(', '));
      assert.ok(clusterScoped.includes('StorageClass/standard'), clusterScoped.join(', '));
      assert.ok(clusterScoped.some((c) => c.startsWith('PersistentVolume/')), clusterScoped.join(', '));
      assert.ok(clusterScoped.includes('CustomResourceDefinition/backuppolicies.shop.example.com'), clusterScoped.join(', '));

      // The volume: every file, symlink and directory, by content hash and mode.
      const dir = await sandbox.clusters.get('prod')!.claimDir('shop', 'data-db-0');
      assert.ok(dir, 'the claim has a host directory');
      const host = await hostTree(dir);
      assert.ok([...host.values()].filter((e) => e.type === 'file').length > 3, 'the seeded volume has files');
      const volume = { namespace: 'shop', pvc: 'data-db-0' };
      const seen = new Map<string, { type: string; target?: string; mode: number }>();
      const walk = async (d: string): Promise<void> => {
        for (const f of await listVolumeFiles(repo, snapshot.id, volume, d)) {
          const p = f.path;
          seen.set(p, { type: f.type, target: f.target, mode: f.mode & 0o7777 });
          if (f.type === 'dir') await walk(p);
          if (f.type === 'file') assert.equal(await sha256(await openFile(repo, snapshot.id, volume, p)), host.get(p)?.hash, `content of ${p}`);
        }
      };
      await walk('/');
      assert.deepEqual([...seen.keys()].sort(), [...host.keys()].sort());
      for (const [p, e] of host) {
        assert.equal(seen.get(p)?.type, e.type, p);
        assert.equal(seen.get(p)?.mode, e.mode, `mode of ${p}`);
        if (e.type === 'symlink') assert.equal(seen.get(p)?.target, e.target, p);
      }
    } finally {
      await repo.close();
    }
    assert.deepEqual(await movers(), [], 'no mover pod is left');

    const listedSnapshots = await snapshotsJson();
    const summary = listedSnapshots.find((s) => s.id === snapshot.id);
    assert.ok(summary, 'the snapshot is listed');
    for (const field of ['id', 'time', 'cluster', 'scope', 'counts', 'sizes'] as const) assert.ok(summary[field] !== undefined, field);
    assert.equal(summary.counts.volumes, 1);
    const shown = await cliOk(['show', snapshot.id.slice(0, 10)], { env: env() });
    assert.match(shown.stdout, /shop\/data-db-0/);
  });

  it('as the restricted user: Secrets and volumes become warnings, the rest is captured', async () => {
    const r = await cliOk(['capture', '--context', 'sandbox-prod-restricted', '-n', 'shop', '--output', 'json'], { env: env() });
    const { snapshot, warnings } = parseJson<{ snapshot: Summary; warnings: string[] }>(r);
    assert.ok(warnings.some((w) => /secrets/.test(w) && /Forbidden|forbidden|may not|cannot/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /data-db-0/.test(w)), warnings.join('\n'));
    const repo = await openRepo();
    try {
      const catalog = await readCatalog(repo, snapshot.id);
      assert.ok(!catalog.resources.some((c) => c.kind === 'Secret'));
      assert.ok(catalog.resources.some((c) => c.kind === 'StatefulSet' && c.name === 'db'));
      assert.ok(catalog.resources.some((c) => c.kind === 'ConfigMap' && c.name === 'api-config'));
    } finally {
      await repo.close();
    }
    const shown = await cliOk(['show', snapshot.id], { env: env() });
    assert.match(shown.stdout, /warning .*secrets/);
  });

  it('takes an etcd snapshot along, which etcdctl accepts', async () => {
    const etcd = await startEtcd();
    try {
      await run('etcdctl', ['--endpoints', etcd.endpoint, 'put', '/lifeboat/demo', 'value'], { env: { ETCDCTL_API: '3' } });
      const r = await cliOk(['capture', '--context', 'sandbox-prod', '-n', 'billing', '--no-volumes', '--etcd-endpoints', etcd.endpoint, '--output', 'json'], { env: env() });
      const { snapshot } = parseJson<{ snapshot: Summary }>(r);
      assert.equal(snapshot.counts.data, 1);
      assert.equal(snapshot.counts.volumes, 0);
      const file = path.join(work, 'etcd.db');
      const cat = await run('sh', ['-c', `"${process.execPath}" "${await buildCli()}" repo cat ${snapshot.id} --data etcd > "${file}"`], { env: env() });
      assert.equal(cat.code, 0, cat.stderr);
      const status = await run('etcdctl', ['snapshot', 'status', file, '-w', 'json'], { env: { ETCDCTL_API: '3' } });
      assert.equal(status.code, 0, status.stderr);
      assert.ok(JSON.parse(status.stdout).totalKey > 0);
    } finally {
      await etcd.stop();
    }
  });

  it('rejects contradictory or malformed options with exit status 2, and an unknown kind with a message', async () => {
    const usage = [
      ['capture', '--volumes', '--no-volumes'],
      ['capture', '--etcd-cert', 'c.pem'],
      ['capture', '--etcd-endpoints', 'not a url'],
      ['capture', '--parallelism', 'many'],
      ['capture', 'extra-argument'],
    ];
    for (const args of usage) {
      const r = await cli(args, { env: env() });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^lifeboat capture: /m);
    }
    const noRepo = await cli(['capture', '--context', 'sandbox-prod', '--repo', path.join(work, 'nothing-here')], { env: { ...env(), LIFEBOAT_PASSWORD: undefined } });
    assert.equal(noRepo.code, 1);
    assert.match(noRepo.stderr, /is not a Lifeboat repository/, 'no passphrase is asked for a folder that holds no repository');
    const unknown = await cli(['capture', '--context', 'sandbox-prod', '-n', 'shop', '--include-kinds', 'deploymnets'], { env: env() });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /deploymnets/);
    assert.match(unknown.stderr, /deployments/);
  });

  describe('with a large volume', () => {
    before(async function () {
      this.timeout(120_000);
      const dir = await sandbox.clusters.get('prod')!.claimDir('shop', 'data-db-0');
      // Incompressible, so reading it takes long enough to interrupt.
      await run('sh', ['-c', `head -c 400M /dev/urandom > "${dir}/bulk.bin"`], { timeoutMs: 120_000 });
    });
    after(async () => {
      const dir = await sandbox.clusters.get('prod')!.claimDir('shop', 'data-db-0');
      if (dir) rmSync(path.join(dir, 'bulk.bin'), { force: true });
    });

    const startVolumeCapture = async () => {
      const child = await startCli(['capture', '--context', 'sandbox-prod', '-n', 'shop'], { env: env() });
      await waitFor('the mover pod to be reading', async () => (await movers()).length > 0 || undefined, 60_000);
      // Let bytes flow for a moment so the interruption lands mid-volume.
      await new Promise((r) => setTimeout(r, 1500));
      return child;
    };

    it('Ctrl-C mid-volume stops within 2 s, removes the mover pod and writes no snapshot', async () => {
      const before = (await snapshotsJson()).length;
      const child = await startVolumeCapture();
      const t0 = Date.now();
      child.kill('SIGINT');
      const r = await child.done;
      const took = Date.now() - t0;
      assert.equal(r.code, 130, r.stderr);
      assert.ok(took < 2000, `stopped after ${took} ms`);
      assert.deepEqual(await movers(), [], 'the mover pod is gone');
      assert.equal((await snapshotsJson()).length, before);
    });

    it('a capture killed mid-volume leaves no snapshot; the next run removes its mover pod and the repository verifies', async () => {
      const before = (await snapshotsJson()).length;
      const child = await startVolumeCapture();
      child.kill('SIGKILL');
      await child.done;
      assert.equal((await snapshotsJson()).length, before, 'no snapshot listed');
      assert.ok((await movers()).length > 0, 'the killed capture could not remove its mover');
      await cliOk(['capture', '--context', 'sandbox-prod', '-n', 'billing'], { env: env() });
      assert.deepEqual(await movers(), [], 'the next run removed the leftover mover');
      await cliOk(['repo', 'unlock'], { env: env() });
      const verified = await cli(['repo', 'verify'], { env: env() });
      assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    });
  });
});

/** Real-world manifests written outside this project; skipped when ../shared/fixtures is not beside the clone. */
const examples = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'kubernetes-examples');

describe('lifeboat capture of the kubernetes/examples manifests (needs ../shared/fixtures)', function () {
  this.timeout(300_000);
  let sandbox: Sandbox;
  let work: string;

  before(async function () {
    if (!existsSync(examples)) this.skip();
    work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-capture-fixtures-'));
    sandbox = await startSandbox({ clusters: ['prod'], seed: false, kubeconfigPath: path.join(work, 'kubeconfig') });
  });
  after(async () => {
    await sandbox?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('applies them to the sandbox and captures every applied object without error', async () => {
    const env = { KUBECONFIG: sandbox.kubeconfigPath, LIFEBOAT_REPOSITORY: path.join(work, 'repo'), LIFEBOAT_PASSWORD: 'fixtures' };
    const apply = async (ns: string, ...files: string[]) => {
      const created = await run('kubectl', ['create', 'namespace', ns], { env });
      assert.equal(created.code, 0, created.stderr);
      const r = await run('kubectl', ['apply', '-n', ns, ...files.flatMap((f) => ['-f', path.join(examples, f)])], { env, timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    await apply('guestbook', 'web/guestbook/all-in-one/guestbook-all-in-one.yaml');
    await apply('cassandra', 'databases/cassandra/cassandra-service.yaml', 'databases/cassandra/cassandra-statefulset.yaml');
    await apply('models', 'AI/model-serving-tensorflow/pv.yaml', 'AI/model-serving-tensorflow/pvc.yaml', 'AI/model-serving-tensorflow/deployment.yaml');
    await apply('gpu', 'AI/vllm-deployment/vllm-deployment.yaml');
    await cliOk(['repo', 'init'], { env });
    const r = await cliOk(['capture', '--output', 'json'], { env, timeoutMs: 240_000 });
    const { snapshot } = parseJson<{ snapshot: Summary }>(r);
    const repo = await Repository.open(new LocalBackend(env.LIFEBOAT_REPOSITORY), { passphrase: 'fixtures' });
    try {
      const catalog = await readCatalog(repo, snapshot.id);
      const stored = new Set(catalog.resources.map((c) => `${c.kind}/${c.namespace ?? ''}/${c.name}`));
      for (const ns of ['guestbook', 'cassandra', 'models', 'gpu']) {
        const listed = JSON.parse((await run('kubectl', ['get', 'deploy,sts,svc,pvc,cm', '-n', ns, '-o', 'json'], { env })).stdout).items as any[];
        assert.ok(listed.length > 0, ns);
        for (const o of listed.filter((i) => i.metadata.name !== 'kube-root-ca.crt')) assert.ok(stored.has(`${o.kind}/${ns}/${o.metadata.name}`), `${o.kind} ${ns}/${o.metadata.name} is in the snapshot`);
      }
      assert.ok(stored.has('PersistentVolume//' + JSON.parse((await run('kubectl', ['get', 'pv', '-o', 'json'], { env })).stdout).items[0].metadata.name));
    } finally {
      await repo.close();
    }
  });
});

