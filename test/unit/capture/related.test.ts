import { strict as assert } from 'node:assert';
import { relatedObjects, relatedResourcesNeeded } from '../../../src/engine/capture/related';
import { names, obj } from './objects';

const rbac = 'rbac.authorization.k8s.io/v1';

describe('related cluster-scoped objects', function () {
  const lists = {
    '/namespaces': [obj('v1', 'Namespace', 'shop'), obj('v1', 'Namespace', 'billing'), obj('v1', 'Namespace', 'empty')],
    '/persistentvolumes': [
      obj('v1', 'PersistentVolume', 'pv-data', undefined, { spec: { storageClassName: 'fast' } }),
      obj('v1', 'PersistentVolume', 'pv-other', undefined, { spec: { storageClassName: 'slow' } }),
    ],
    'storage.k8s.io/storageclasses': [obj('storage.k8s.io/v1', 'StorageClass', 'fast'), obj('storage.k8s.io/v1', 'StorageClass', 'slow'), obj('storage.k8s.io/v1', 'StorageClass', 'standard')],
    'apiextensions.k8s.io/customresourcedefinitions': [
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'backuppolicies.shop.example.com', undefined, { spec: { group: 'shop.example.com', names: { kind: 'BackupPolicy', plural: 'backuppolicies' } } }),
      obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com', undefined, { spec: { group: 'example.com', names: { kind: 'Widget', plural: 'widgets' } } }),
    ],
    'rbac.authorization.k8s.io/clusterroles': ['view', 'edit', 'metrics-reader', 'admin'].map((n) => obj(rbac, 'ClusterRole', n)),
    'rbac.authorization.k8s.io/clusterrolebindings': [
      obj(rbac, 'ClusterRoleBinding', 'api-metrics', undefined, { roleRef: { kind: 'ClusterRole', name: 'metrics-reader' }, subjects: [{ kind: 'ServiceAccount', name: 'api', namespace: 'shop' }] }),
      obj(rbac, 'ClusterRoleBinding', 'billing-admin', undefined, { roleRef: { kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'ServiceAccount', name: 'api', namespace: 'billing' }] }),
    ],
  };

  const captured = [
    obj('v1', 'PersistentVolumeClaim', 'data', 'shop', { spec: { volumeName: 'pv-data', storageClassName: 'fast' } }),
    obj('shop.example.com/v1alpha1', 'BackupPolicy', 'nightly', 'shop'),
    obj(rbac, 'RoleBinding', 'viewers', 'shop', { roleRef: { kind: 'ClusterRole', name: 'view' } }),
    obj(rbac, 'RoleBinding', 'local', 'shop', { roleRef: { kind: 'Role', name: 'edit' } }),
    obj('v1', 'ServiceAccount', 'api', 'shop'),
  ];

  it('brings the Namespace, PV and its StorageClass, the CRD, bound ClusterRoles and bindings of captured ServiceAccounts', function () {
    assert.deepEqual(names(relatedObjects(captured, lists)), [
      'ClusterRole metrics-reader',
      'ClusterRole view',
      'ClusterRoleBinding api-metrics',
      'CustomResourceDefinition backuppolicies.shop.example.com',
      'Namespace shop',
      'PersistentVolume pv-data',
      'StorageClass fast',
    ]);
  });

  it('adds Namespaces named in scope even when nothing in them is captured', function () {
    assert.deepEqual(names(relatedObjects([], lists, ['empty', 'missing'])), ['Namespace empty']);
  });

  it('passes over a list the user could not read', function () {
    const { '/persistentvolumes': _pvs, ...withoutPvs } = lists;
    assert.deepEqual(names(relatedObjects(captured.slice(0, 1), withoutPvs)), ['Namespace shop', 'StorageClass fast']);
  });

  it('asks only for the lists the captured objects can need', function () {
    assert.deepEqual(relatedResourcesNeeded([obj('v1', 'ConfigMap', 'a', 'shop')]), ['/namespaces']);
    assert.deepEqual(relatedResourcesNeeded([obj('apps/v1', 'Deployment', 'a', 'shop'), obj('networking.k8s.io/v1', 'Ingress', 'i', 'shop')]), ['/namespaces']);
    assert.deepEqual(relatedResourcesNeeded(captured).sort(), [
      '/namespaces',
      '/persistentvolumes',
      'apiextensions.k8s.io/customresourcedefinitions',
      'rbac.authorization.k8s.io/clusterrolebindings',
      'rbac.authorization.k8s.io/clusterroles',
      'storage.k8s.io/storageclasses',
    ]);
  });
});
