/**
 * Picking objects from a snapshot by a RestoreSelection, against a real
 * repository on disk written by the snapshot writer, without a cluster.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { UnknownKindError } from '../../../src/engine/capture/scope';
import type { ApiResource, KObject } from '../../../src/engine/kube/types';
import { Repository, SnapshotWriter } from '../../../src/engine/repo/api';
import { tarEnd, tarHeader, tarPadding } from '../../../src/engine/repo/tar';
import { selectFromSnapshot } from '../../../src/engine/restore/select';
import type { RestoreSelection } from '../../../src/engine/restore/types';
import { LocalBackend } from '../../../src/engine/storage/local';

function o(apiVersion: string, kind: string, name: string, namespace?: string, rest: Partial<KObject> & { labels?: Record<string, string> } = {}): KObject {
  const { labels, ...body } = rest;
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}), uid: `uid-${name}` }, ...body };
}

const OBJECTS: KObject[] = [
  o('v1', 'Namespace', 'shop'),
  o('v1', 'Namespace', 'billing'),
  o('v1', 'Namespace', 'other'),
  o('storage.k8s.io/v1', 'StorageClass', 'fast', undefined, { provisioner: 'x' }),
  o('storage.k8s.io/v1', 'StorageClass', 'standard', undefined, { provisioner: 'x' }),
  o('storage.k8s.io/v1', 'StorageClass', 'unused', undefined, { provisioner: 'x' }),
  o('v1', 'PersistentVolume', 'pv-data', undefined, { spec: { storageClassName: 'fast', claimRef: { namespace: 'shop', name: 'data' } } }),
  o('v1', 'PersistentVolumeClaim', 'data', 'shop', { spec: { volumeName: 'pv-data', storageClassName: 'fast' } }),
  o('v1', 'PersistentVolumeClaim', 'invoices', 'billing', { spec: { storageClassName: 'standard' } }),
  o('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'backuppolicies.example.dev', undefined, {
    spec: { group: 'example.dev', scope: 'Namespaced', names: { kind: 'BackupPolicy', plural: 'backuppolicies', singular: 'backuppolicy', shortNames: ['bp'] } },
  }),
  o('example.dev/v1', 'BackupPolicy', 'nightly', 'shop'),
  o('rbac.authorization.k8s.io/v1', 'ClusterRole', 'viewer'),
  o('rbac.authorization.k8s.io/v1', 'ClusterRole', 'unrelated'),
  o('rbac.authorization.k8s.io/v1', 'RoleBinding', 'viewers', 'shop', { roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'viewer' } }),
  o('apps/v1', 'Deployment', 'api', 'shop', { labels: { app: 'api' } }),
  o('apps/v1', 'Deployment', 'web', 'shop', { labels: { app: 'web' } }),
  o('v1', 'ConfigMap', 'api-config', 'shop', { labels: { app: 'api' } }),
  o('v1', 'ConfigMap', 'web-config', 'shop', { labels: { app: 'web' } }),
  o('v1', 'ConfigMap', 'invoicer', 'billing'),
  o('v1', 'Secret', 'db', 'shop', { data: { password: Buffer.from('x').toString('base64') } }),
];

/** What the target serves, as discovery lists it (short names included). */
const SERVED: ApiResource[] = [
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true, verbs: [], shortNames: ['deploy'] },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: [], shortNames: ['cm'] },
  { group: '', version: 'v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true, verbs: [], shortNames: ['pvc'] },
  { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses', kind: 'StorageClass', namespaced: false, verbs: [], shortNames: ['sc'] },
];

/** A one-file volume archive. */
function tar(): Readable {
  const body = Buffer.from('hello\n');
  const common = { mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: 1_700_000_000 };
  return Readable.from([
    tarHeader({ path: '.', type: 'dir', size: 0, ...common, mode: 0o755 }, '.'),
    tarHeader({ path: 'hello.txt', type: 'file', size: body.length, ...common }, 'hello.txt'),
    body,
    tarPadding(body.length),
    tarEnd(),
  ]);
}

const ids = (objects: Array<{ object: KObject }>): string[] =>
  objects.map(({ object }) => `${object.kind}/${object.metadata.namespace ? object.metadata.namespace + '/' : ''}${object.metadata.name}`).sort();

describe('selecting objects from a snapshot for a restore', function () {
  this.timeout(60_000);
  let work: string;
  let repo: Repository;
  let snapshot: string;
  const pick = (selection: RestoreSelection, resources: ApiResource[] = SERVED) => selectFromSnapshot(repo, snapshot.slice(0, 10), selection, { resources, context: 'sandbox-dev' });

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-restore-select-'));
    repo = await Repository.init(new LocalBackend(path.join(work, 'repo')), { insecureNoEncryption: true });
    const writer = await SnapshotWriter.begin(repo, { cluster: 'prod', scope: {} });
    for (const obj of OBJECTS) await writer.addResource(obj);
    await writer.addVolume({ namespace: 'shop', pvc: 'data' }, tar(), { storageClass: 'fast' });
    snapshot = (await writer.commit()).id;
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('takes every namespaced object and only the cluster-scoped ones they need by default', async () => {
    const s = await pick({});
    assert.equal(s.manifest.id, snapshot);
    assert.deepEqual(ids(s.objects), [
      'BackupPolicy/shop/nightly',
      'ConfigMap/billing/invoicer',
      'ConfigMap/shop/api-config',
      'ConfigMap/shop/web-config',
      'CustomResourceDefinition/backuppolicies.example.dev',
      'ClusterRole/viewer',
      'Deployment/shop/api',
      'Deployment/shop/web',
      'Namespace/billing',
      'Namespace/shop',
      'PersistentVolume/pv-data',
      'PersistentVolumeClaim/billing/invoices',
      'PersistentVolumeClaim/shop/data',
      'RoleBinding/shop/viewers',
      'Secret/shop/db',
      'StorageClass/fast',
      'StorageClass/standard',
    ].sort());
    assert.deepEqual(s.volumes.map((v) => `${v.namespace}/${v.pvc}:${v.files}`), ['shop/data:1']);
    assert.equal(s.objects.find((x) => x.object.kind === 'Namespace')?.reason, 'related');
    assert.equal(s.objects.find((x) => x.object.kind === 'Deployment')?.reason, 'selected');
  });

  it('filters by namespace, kind short name, names and labels', async () => {
    assert.deepEqual(ids((await pick({ namespaces: ['sh*'], includeKinds: ['deploy'] })).objects), ['Deployment/shop/api', 'Deployment/shop/web', 'Namespace/shop']);
    assert.deepEqual(ids((await pick({ selector: 'app=api' })).objects), ['ConfigMap/shop/api-config', 'Deployment/shop/api', 'Namespace/shop']);
    assert.deepEqual(ids((await pick({ includeKinds: ['cm'], names: ['*-config'] })).objects), ['ConfigMap/shop/api-config', 'ConfigMap/shop/web-config', 'Namespace/shop']);
    assert.deepEqual(ids((await pick({ includeKinds: ['configmaps'], excludeNamespaces: ['shop'] })).objects), ['ConfigMap/billing/invoicer', 'Namespace/billing']);
  });

  it('resolves a custom kind by the short name its CRD in the snapshot gives, and brings the CRD', async () => {
    const s = await pick({ includeKinds: ['bp'] }, []);
    assert.deepEqual(ids(s.objects), ['BackupPolicy/shop/nightly', 'CustomResourceDefinition/backuppolicies.example.dev', 'Namespace/shop']);
  });

  it('takes one PVC with its PV, StorageClass and data', async () => {
    const s = await pick({ pvc: { namespace: 'shop', name: 'data' } });
    assert.deepEqual(ids(s.objects), ['Namespace/shop', 'PersistentVolume/pv-data', 'PersistentVolumeClaim/shop/data', 'StorageClass/fast']);
    assert.deepEqual(s.volumes.map((v) => `${v.namespace}/${v.pvc}`), ['shop/data']);
    assert.deepEqual((await pick({ pvc: { namespace: 'shop', name: 'data' }, volumes: false })).volumes, []);
    const noData = await pick({ pvc: { namespace: 'billing', name: 'invoices' } });
    assert.deepEqual(noData.volumes, []);
    assert.match(noData.warnings.join('\n'), /holds no data of PVC billing\/invoices/);
    await assert.rejects(pick({ pvc: { namespace: 'shop', name: 'nope' } }), /has no PersistentVolumeClaim shop\/nope \(it has shop\/data, billing\/invoices\)/);
  });

  it('takes exactly one object', async () => {
    assert.deepEqual(ids((await pick({ object: { kind: 'deployments', namespace: 'shop', name: 'web' }, clusterResources: 'none' })).objects), ['Deployment/shop/web']);
    assert.deepEqual(ids((await pick({ object: { kind: 'ClusterRole', name: 'unrelated' } })).objects), ['ClusterRole/unrelated']);
    await assert.rejects(pick({ object: { kind: 'Deployment', namespace: 'billing', name: 'web' } }), /has no Deployment billing\/web \(it has Deployment shop\/web\)/);
  });

  it('takes all, related or no cluster-scoped objects as asked', async () => {
    const none = await pick({ namespaces: ['shop'], clusterResources: 'none' });
    assert.ok(none.objects.every((x) => x.object.metadata.namespace === 'shop'));
    const all = ids((await pick({ namespaces: ['shop'], clusterResources: 'all' })).objects);
    for (const id of ['ClusterRole/unrelated', 'StorageClass/unused', 'Namespace/shop']) assert.ok(all.includes(id), id);
    assert.ok(!all.includes('Namespace/billing'), 'a Namespace outside the namespaces asked for stays out');
    const noSc = ids((await pick({ namespaces: ['shop'], excludeKinds: ['sc'] })).objects);
    assert.ok(!noSc.some((id) => id.startsWith('StorageClass/')));
    assert.ok(noSc.includes('PersistentVolume/pv-data'));
    assert.deepEqual(ids((await pick({ includeKinds: ['storageclasses'], names: ['un*'] })).objects), ['StorageClass/unused']);
  });

  it('names close matches for an unknown kind and says what the snapshot holds when nothing matches', async () => {
    await assert.rejects(pick({ includeKinds: ['deploymnt'] }), (err: Error) => err instanceof UnknownKindError && /deployments\.apps/.test(err.message));
    await assert.rejects(pick({ namespaces: ['nope'] }), /the selection \(namespaces nope\) matches nothing in snapshot [0-9a-f]{12}; it holds \d+ objects in namespaces billing, shop/);
    await assert.rejects(pick({ selector: 'app in (' }), /label selector/);
  });
});
