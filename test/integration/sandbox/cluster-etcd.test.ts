import * as assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { startEtcd, type RunningEtcd } from '../../support/etcd';
import { run } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';

describe('sandbox clusters backed by a real etcd', function () {
  this.timeout(150_000);
  let etcd: RunningEtcd;
  let sandbox: Sandbox | undefined;

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await sandbox?.stop();
    await etcd?.stop();
  });

  it('seeds prod into etcd and serves it to kubectl', async () => {
    sandbox = await startSandbox({ etcd: etcd.endpoint, clusters: ['prod', 'dev'] });
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
});
