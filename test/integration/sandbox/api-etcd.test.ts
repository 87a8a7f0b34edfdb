/**
 * The sandbox API server on a real etcd (Debian etcd-server 3.4): objects
 * land under kube-apiserver's key layout, resourceVersion is the key's mod
 * revision, a server started again on the same etcd serves the same
 * cluster, and an etcd snapshot holds all of it.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../../sandbox/apiserver/harness';
import { startEtcd, type RunningEtcd } from '../../support/etcd';

const run = promisify(execFile);

async function etcdctl(endpoint: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe('sandbox API server on etcd', function () {
  this.timeout(180_000);
  let etcd: RunningEtcd;
  let c: TestCluster | undefined;
  let snapDir: string;

  before(async () => {
    etcd = await startEtcd();
    snapDir = mkdtempSync(join(tmpdir(), 'etcd-snap-'));
  });
  after(async () => {
    await c?.stop();
    await etcd?.stop();
    rmSync(snapDir, { recursive: true, force: true });
  });

  it('stores objects under the real key layout with resourceVersion = mod revision, and survives a restart', async () => {
    c = await startTestCluster({ etcd: etcd.endpoint });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const create = (o: any): Promise<any> => objects.create(o);
    await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    await create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } });
    await create({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'shop' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } } });
    await create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } });
    await create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, stringData: { password: 'x' } });
    await create({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'shop' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
    await create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } });
    await create({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc', namespace: 'shop' }, spec: { template: { metadata: { labels: { r: 'c' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } });
    await create({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing', namespace: 'shop' }, spec: { defaultBackend: { service: { name: 'api', port: { number: 80 } } } } });
    // Through kubectl: client-node's typed CRD model drops x-kubernetes-preserve-unknown-fields.
    const crd = await c.kubectl(['create', '-f', '-'], {
      stdin: JSON.stringify({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.com' },
        spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'widgets', kind: 'Widget' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
      }),
    });
    assert.equal(crd.code, 0, crd.stderr);
    const widget = await create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'shop' }, spec: { size: 3 } });

    const keys = (await etcdctl(etcd.endpoint, 'get', '--prefix', '/registry', '--keys-only')).split('\n').filter(Boolean);
    for (const k of [
      '/registry/namespaces/shop',
      '/registry/pods/shop/web',
      '/registry/deployments/shop/api',
      '/registry/services/specs/shop/api',
      '/registry/services/specs/default/kubernetes',
      '/registry/services/endpoints/default/kubernetes',
      '/registry/secrets/shop/db',
      '/registry/persistentvolumeclaims/shop/data',
      '/registry/minions/node-1',
      '/registry/controllers/shop/rc',
      '/registry/ingress/shop/ing',
      '/registry/clusterroles/cluster-admin',
      '/registry/clusterrolebindings/cluster-admin',
      '/registry/apiextensions.k8s.io/customresourcedefinitions/widgets.example.com',
      '/registry/example.com/widgets/shop/w1',
    ]) {
      assert.ok(keys.includes(k), `${k} missing; etcd holds:\n${keys.join('\n')}`);
    }
    const kv = JSON.parse(await etcdctl(etcd.endpoint, 'get', '/registry/example.com/widgets/shop/w1', '-w', 'json')).kvs[0];
    assert.equal(String(kv.mod_revision), widget.metadata.resourceVersion);
    const stored = JSON.parse(Buffer.from(kv.value, 'base64').toString('utf8'));
    assert.equal(stored.spec.size, 3);
    assert.equal(stored.metadata.resourceVersion, undefined, 'etcd values carry no resourceVersion');

    // The cluster lives in etcd alone: a new server on the same etcd serves it unchanged.
    const snap = join(snapDir, 'etcd.db');
    await etcdctl(etcd.endpoint, 'snapshot', 'save', snap);
    await c.stop();
    c = undefined;
    c = await startTestCluster({ etcd: etcd.endpoint });
    const kc2 = new k8s.KubeConfig();
    kc2.loadFromFile(c.kubeconfig);
    const again = k8s.KubernetesObjectApi.makeApiClient(kc2);
    const w = (await again.read({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'shop' } })) as any;
    assert.equal(w.spec.size, 3);
    assert.equal(w.metadata.resourceVersion, widget.metadata.resourceVersion);
    const pods = await kc2.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'shop' });
    assert.deepEqual(pods.items.map((p) => p.metadata!.name), ['web']);
    const status = await run('etcdctl', ['snapshot', 'status', snap, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' } });
    assert.ok(JSON.parse(status.stdout).totalKey > 15);
  });
});
