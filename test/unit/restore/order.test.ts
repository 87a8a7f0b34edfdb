import { strict as assert } from 'node:assert';
import { compareForRestore, isBuiltInGroup, RESTORE_STAGES, stageOf } from '../../../src/engine/restore/order';
import { obj } from '../capture/objects';

describe('restore order', function () {
  it('puts CRDs, Namespaces, storage, identities, configuration, RBAC, Services, workloads, Ingresses, custom resources, the rest in that order', function () {
    const kinds: [string, string][] = [
      ['apiextensions.k8s.io', 'CustomResourceDefinition'],
      ['', 'Namespace'],
      ['storage.k8s.io', 'StorageClass'],
      ['', 'PersistentVolume'],
      ['', 'PersistentVolumeClaim'],
      ['', 'ServiceAccount'],
      ['', 'Secret'],
      ['', 'ConfigMap'],
      ['rbac.authorization.k8s.io', 'ClusterRole'],
      ['', 'Service'],
      ['apps', 'Deployment'],
      ['networking.k8s.io', 'Ingress'],
      ['example.com', 'Widget'],
      ['policy', 'PodDisruptionBudget'],
    ];
    assert.deepEqual(
      kinds.map(([g, k]) => stageOf(g, k)),
      kinds.map((_, i) => i),
    );
    assert.equal(RESTORE_STAGES.length, kinds.length);
  });

  it('counts every workload kind as a workload, and HPAs and PDBs with the rest', function () {
    for (const [g, k] of [['apps', 'StatefulSet'], ['apps', 'DaemonSet'], ['apps', 'ReplicaSet'], ['batch', 'Job'], ['batch', 'CronJob'], ['', 'Pod'], ['', 'ReplicationController']]) {
      assert.equal(stageOf(g, k), 10, `${g}/${k}`);
    }
    assert.equal(stageOf('autoscaling', 'HorizontalPodAutoscaler'), 13);
    assert.equal(stageOf('policy', 'PodDisruptionBudget'), 13);
    for (const k of ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']) assert.equal(stageOf('rbac.authorization.k8s.io', k), 8);
  });

  it('treats groups served by CRDs as custom resources, also under k8s.io', function () {
    assert.equal(stageOf('snapshot.storage.k8s.io', 'VolumeSnapshot'), 12);
    assert.equal(stageOf('gateway.networking.k8s.io', 'HTTPRoute'), 12);
    assert.equal(stageOf('cert-manager.io', 'Certificate'), 12);
    assert.ok(isBuiltInGroup('networking.k8s.io'));
    assert.ok(!isBuiltInGroup('monitoring.coreos.com'));
    // A kind named like a built-in one, in a custom group, is a custom resource.
    assert.equal(stageOf('example.com', 'Deployment'), 12);
  });

  it('sorts within a stage cluster-scoped first, then by namespace, kind and name', function () {
    const item = (o: ReturnType<typeof obj>) => ({ stage: stageOf(o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '', o.kind), object: o });
    const items = [
      item(obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'b', 'shop')),
      item(obj('apps/v1', 'Deployment', 'web', 'shop')),
      item(obj('rbac.authorization.k8s.io/v1', 'Role', 'a', 'shop')),
      item(obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'z-reader')),
      item(obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'a', 'billing')),
      item(obj('v1', 'Namespace', 'shop')),
      item(obj('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'a-readers')),
      item(obj('apps/v1', 'Deployment', 'api', 'shop')),
    ];
    const order = items.sort(compareForRestore).map((i) => `${i.object.kind} ${i.object.metadata.namespace ?? '-'}/${i.object.metadata.name}`);
    assert.deepEqual(order, [
      'Namespace -/shop',
      'ClusterRole -/z-reader',
      'ClusterRoleBinding -/a-readers',
      'RoleBinding billing/a',
      'Role shop/a',
      'RoleBinding shop/b',
      'Deployment shop/api',
      'Deployment shop/web',
    ]);
  });
});
