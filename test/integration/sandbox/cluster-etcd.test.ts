import * as assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { startEtcd, type RunningEtcd } from '../../support/etcd';
import { run } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';
import { HostDirs } from '../../sandbox/controllers/hostdirs';
import { R } from '../../sandbox/controllers/resources';

describe('sandbox clusters backed by a real etcd', function () {
  this.timeout(150_000);
  let etcd: RunningEtcd;
  let sandbox: Sandbox | undefined;
  let dataDir: string;

  before(async () => {
    etcd = await startEtcd();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-sandbox-etcd-test-'));
  });
  after(async () => {
    await sandbox?.stop();
    await etcd?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('seeds prod into etcd and serves it to kubectl', async () => {
    sandbox = await startSandbox({ etcd: etcd.endpoint, clusters: ['prod', 'dev'], dataDir });
    const r = await run('kubectl', ['get', 'deploy,sts', '-n', 'shop', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.readyReplicas}/{.spec.replicas} {end}'], {
      env: { KUBECONFIG: sandbox.kubeconfigPath },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'api=2/2 web=2/2 db=1/1');
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      const prodKeys = await client.getAll().prefix('/lifeboat-sandbox/prod/registry/').keys();
      assert.ok(prodKeys.some((k) => k.includes('/statefulsets/shop/db')), 'the StatefulSet is stored in etcd');
      const devKeys = await client.getAll().prefix('/lifeboat-sandbox/dev/registry/').keys();
      assert.ok(devKeys.length > 0 && !devKeys.some((k) => k.includes('/shop/')), 'dev has its own, unseeded, key space');
    } finally {
      client.close();
    }
  });

  it('finds its objects and volume data again after a restart on the same etcd and data directory', async () => {
    const first = sandbox!.clusters.get('prod')!;
    const uid = (await first.api.get(R.statefulsets, 'shop', 'db'))!.metadata.uid;
    await sandbox!.stop();
    sandbox = await startSandbox({ etcd: etcd.endpoint, clusters: ['prod', 'dev'], dataDir });
    const prod = sandbox.clusters.get('prod')!;
    assert.equal((await prod.api.get(R.statefulsets, 'shop', 'db'))?.metadata.uid, uid, 'the same object, not a new seed');
    const r = await run('kubectl', ['exec', '-n', 'shop', 'db-0', '--', 'cat', '/var/lib/postgresql/data/pgdata/PG_VERSION'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const pvc = (await prod.api.get(R.pvcs, 'shop', 'data-db-0'))!;
    const pv = (await prod.api.get(R.pvs, undefined, pvc.spec.volumeName))!;
    assert.equal(r.stdout, await readFile(path.join(new HostDirs(prod.dataDir).ofPersistentVolume(pv)!, 'pgdata', 'PG_VERSION'), 'utf8'));
  });
});
