/**
 * What a restore relies on from the API server, as kube-apiserver answers
 * it: server-side apply with dryRun=All of an object that does not exist
 * (the would-be object, nothing stored), 404 naming the namespace when it
 * is missing, 422 Invalid for immutable fields (Service clusterIP, PVC spec,
 * Deployment selector), 409 for an existing name and for a field owned by
 * another manager, 403 naming the user, verb and resource; and the
 * DefaultStorageClass admission that decides which class a restored claim gets.
 */
import { strict as assert } from 'node:assert';
import { openKubeClient } from '../../../src/engine/kube/client';
import { KubeApiError, type ApiResource, type KObject, type KubeClient } from '../../../src/engine/kube/types';
import { startTestCluster, type TestCluster } from '../../sandbox/apiserver/harness';

async function failure(p: Promise<unknown>): Promise<KubeApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KubeApiError, `expected an API error, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the request to fail');
}

const configMap = (ns: string, name: string, data: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });

describe('sandbox fidelity: the API answers a restore relies on', function () {
  this.timeout(60_000);
  let c: TestCluster;
  let admin: KubeClient;
  let restricted: KubeClient;
  let r: Record<'ns' | 'cm' | 'svc' | 'pvc' | 'deploy', ApiResource>;
  const FM = { fieldManager: 'lifeboat-restore' };

  before(async () => {
    c = await startTestCluster();
    admin = await openKubeClient({ kubeconfig: c.kubeconfig, context: 'admin' });
    restricted = await openKubeClient({ kubeconfig: c.kubeconfig, context: 'restricted' });
    r = {
      ns: (await admin.resourceFor('v1', 'Namespace'))!,
      cm: (await admin.resourceFor('v1', 'ConfigMap'))!,
      svc: (await admin.resourceFor('v1', 'Service'))!,
      pvc: (await admin.resourceFor('v1', 'PersistentVolumeClaim'))!,
      deploy: (await admin.resourceFor('apps/v1', 'Deployment'))!,
    };
    await admin.create(r.ns, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'target' } });
  });
  after(async () => {
    admin?.close();
    restricted?.close();
    await c?.stop();
  });

  it('a dry-run apply of a missing object returns it as it would be created, defaulted, and stores nothing', async () => {
    const svc: KObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'target' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } };
    const out = await admin.patch(r.svc, 'web', 'target', svc, 'apply', { ...FM, dryRun: true });
    assert.equal(out.metadata.name, 'web');
    assert.ok(out.metadata.uid, 'a would-be uid');
    assert.ok(out.metadata.creationTimestamp);
    assert.equal(out.spec.type, 'ClusterIP', 'defaults applied');
    assert.equal(out.spec.ports[0].targetPort, 80);
    assert.equal(out.spec.ports[0].protocol, 'TCP');
    assert.deepEqual((out.metadata.managedFields as Array<{ manager: string; operation: string }>).map((f) => [f.manager, f.operation]), [['lifeboat-restore', 'Apply']]);
    assert.equal(await admin.get(r.svc, 'web', 'target'), undefined, 'nothing stored');
  });

  it('a dry-run apply of an existing object returns the merged result and stores nothing', async () => {
    await admin.create(r.cm, configMap('target', 'settings', { a: '1' }));
    const out = await admin.patch(r.cm, 'settings', 'target', configMap('target', 'settings', { a: '2' }), 'apply', { ...FM, dryRun: true, force: true });
    assert.deepEqual(out.data, { a: '2' });
    assert.deepEqual((await admin.get(r.cm, 'settings', 'target'))!.data, { a: '1' });
  });

  it('creating or applying into a missing namespace is 404 NotFound naming the namespace, dry run or not', async () => {
    for (const p of [
      admin.create(r.cm, configMap('nowhere', 'x', {}), { dryRun: true }),
      admin.patch(r.cm, 'x', 'nowhere', configMap('nowhere', 'x', {}), 'apply', { ...FM, dryRun: true }),
      admin.patch(r.cm, 'x', 'nowhere', configMap('nowhere', 'x', {}), 'apply', FM),
    ]) {
      const e = await failure(p);
      assert.equal(e.status, 404);
      assert.equal(e.reason, 'NotFound');
      assert.equal(e.body?.details?.kind, 'namespaces');
      assert.equal(e.body?.details?.name, 'nowhere');
      assert.match(e.body?.message ?? '', /namespaces "nowhere" not found/);
    }
  });

  it('a Service whose clusterIP would change is 422 Invalid: field is immutable', async () => {
    const live = await admin.create(r.svc, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'target' }, spec: { selector: { app: 'api' }, ports: [{ port: 80 }] } });
    const other = live.spec.clusterIP === '10.96.200.200' ? '10.96.200.201' : '10.96.200.200';
    const e = await failure(
      admin.patch(r.svc, 'api', 'target', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'target' }, spec: { clusterIP: other, selector: { app: 'api' }, ports: [{ port: 80 }] } }, 'apply', {
        ...FM,
        dryRun: true,
        force: true,
      }),
    );
    assert.equal(e.status, 422);
    assert.equal(e.reason, 'Invalid');
    assert.ok((e.body?.details?.causes ?? []).some((c: any) => c.field === 'spec.clusterIP' && /immutable/.test(c.message)), JSON.stringify(e.body));
  });

  it('a PVC whose spec would change beyond a resize is 422 Invalid: spec is immutable', async () => {
    const pvc = (mode: string): KObject => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'target' },
      spec: { accessModes: [mode], resources: { requests: { storage: '1Gi' } }, storageClassName: 'manual' },
    });
    await admin.create(r.pvc, pvc('ReadWriteOnce'));
    const e = await failure(admin.patch(r.pvc, 'data', 'target', pvc('ReadWriteMany'), 'apply', { ...FM, dryRun: true, force: true }));
    assert.equal(e.status, 422);
    assert.equal(e.reason, 'Invalid');
    assert.match(e.body?.message ?? '', /spec is immutable/);
  });

  it('a Deployment whose selector would change is 422 Invalid', async () => {
    const deploy = (app: string): KObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'target' },
      spec: { selector: { matchLabels: { app } }, template: { metadata: { labels: { app } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    });
    await admin.create(r.deploy, deploy('web'));
    const e = await failure(admin.patch(r.deploy, 'web', 'target', deploy('web2'), 'apply', { ...FM, dryRun: true, force: true }));
    assert.equal(e.status, 422);
    assert.ok((e.body?.details?.causes ?? []).some((c: any) => c.field === 'spec.selector'), JSON.stringify(e.body));
  });

  it('creating an existing name is 409 AlreadyExists; applying over another manager\'s value is 409 Conflict naming the manager', async () => {
    await admin.create(r.cm, configMap('target', 'owned', { k: 'v1' }), { fieldManager: 'someone-else' });
    const exists = await failure(admin.create(r.cm, configMap('target', 'owned', { k: 'v1' }), { dryRun: true }));
    assert.equal(exists.status, 409);
    assert.equal(exists.reason, 'AlreadyExists');
    const conflict = await failure(admin.patch(r.cm, 'owned', 'target', configMap('target', 'owned', { k: 'v2' }), 'apply', { ...FM, dryRun: true }));
    assert.equal(conflict.status, 409);
    assert.equal(conflict.reason, 'Conflict');
    assert.match(conflict.body?.message ?? '', /conflict with "someone-else"/);
    const same = await admin.patch(r.cm, 'owned', 'target', configMap('target', 'owned', { k: 'v1' }), 'apply', { ...FM, dryRun: true });
    assert.deepEqual(same.data, { k: 'v1' }, 'applying the same value is no conflict');
  });

  it('a user without the verb gets 403 Forbidden naming user, verb, resource and namespace, for a dry run too', async () => {
    const e = await failure(restricted.patch(r.cm, 'settings', 'target', configMap('target', 'settings', { a: '3' }), 'apply', { ...FM, dryRun: true }));
    assert.equal(e.status, 403);
    assert.equal(e.reason, 'Forbidden');
    assert.match(e.body?.message ?? '', /User "restricted" cannot patch resource "configmaps" in API group "" in the namespace "target"/);
  });

  it('a Namespace applied with another name in its kubernetes.io/metadata.name label gets the label set to its own name', async () => {
    const out = await admin.patch(
      r.ns,
      'copy',
      undefined,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'copy', labels: { 'kubernetes.io/metadata.name': 'original', team: 'a' } } },
      'apply',
      { ...FM, dryRun: true },
    );
    assert.deepEqual(out.metadata.labels, { 'kubernetes.io/metadata.name': 'copy', team: 'a' });
  });
  it('a claim naming its class through the beta annotation gets no default class; one naming none gets the default', async () => {
    const sc = (await admin.resourceFor('storage.k8s.io/v1', 'StorageClass'))!;
    await admin.create(sc, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'standard', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'rancher.io/local-path',
    });
    const claim = (name: string, annotations?: Record<string, string>): KObject => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'target', annotations },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const beta = await admin.create(r.pvc, claim('beta', { 'volume.beta.kubernetes.io/storage-class': 'fast' }));
    assert.equal(beta.spec.storageClassName, undefined);
    const plain = await admin.create(r.pvc, claim('plain'));
    assert.equal(plain.spec.storageClassName, 'standard');
  });
});
