import { strict as assert } from 'node:assert';
import type { KObject } from '../../../src/engine/kube/types';
import { sanitise, skipReason } from '../../../src/engine/restore/sanitise';
import { obj } from '../capture/objects';

const all = { isRestored: () => true, pvRestored: () => true };
const none = { isRestored: () => false, pvRestored: () => false };
const owner = obj('apps/v1', 'Deployment', 'web', 'shop');

describe('restore skip reasons', function () {
  it('skips what the cluster keeps up itself: events, endpoints, endpoint slices of Services, leases', function () {
    for (const o of [
      obj('v1', 'Event', 'e', 'shop'),
      obj('events.k8s.io/v1', 'Event', 'e', 'shop'),
      obj('v1', 'Endpoints', 'web', 'shop'),
      obj('discovery.k8s.io/v1', 'EndpointSlice', 'web-abc', 'shop', { labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } }),
      obj('discovery.k8s.io/v1', 'EndpointSlice', 'web-def', 'shop', { owner: obj('v1', 'Service', 'web', 'shop') }),
      obj('coordination.k8s.io/v1', 'Lease', 'leader', 'shop'),
    ]) {
      assert.ok(skipReason(o), `${o.kind} should be skipped`);
    }
  });

  it('keeps endpoint slices a user wrote for a Service without selector', function () {
    assert.equal(skipReason(obj('discovery.k8s.io/v1', 'EndpointSlice', 'external-db', 'shop', { labels: { 'kubernetes.io/service-name': 'external-db' } })), undefined);
  });

  it('skips Pods, ReplicaSets, Jobs and revisions a controller owns, naming the controller, and keeps unowned ones', function () {
    const rs = obj('apps/v1', 'ReplicaSet', 'web-123', 'shop', { owner });
    assert.equal(skipReason(rs), 'rebuilt by its controller, Deployment web');
    assert.ok(skipReason(obj('v1', 'Pod', 'web-123-x', 'shop', { owner: rs })));
    assert.ok(skipReason(obj('batch/v1', 'Job', 'nightly-1', 'shop', { owner: obj('batch/v1', 'CronJob', 'nightly', 'shop') })));
    assert.ok(skipReason(obj('apps/v1', 'ControllerRevision', 'db-5d8f', 'shop', { owner: obj('apps/v1', 'StatefulSet', 'db', 'shop') })));
    assert.equal(skipReason(obj('v1', 'Pod', 'debug', 'shop')), undefined);
    assert.equal(skipReason(obj('batch/v1', 'Job', 'migrate', 'shop')), undefined);
    // A ConfigMap owned by something is not rebuilt by it.
    assert.equal(skipReason(obj('v1', 'ConfigMap', 'c', 'shop', { owner })), undefined);
  });

  it('skips service account tokens, the CA bundle and dynamically provisioned PVs', function () {
    assert.ok(skipReason(obj('v1', 'Secret', 'sa-token', 'shop', { type: 'kubernetes.io/service-account-token' })));
    assert.ok(skipReason(obj('v1', 'ConfigMap', 'kube-root-ca.crt', 'shop')));
    assert.match(skipReason(obj('v1', 'PersistentVolume', 'pvc-1', undefined, { annotations: { 'pv.kubernetes.io/provisioned-by': 'ebs.csi.aws.com' } }))!, /ebs\.csi\.aws\.com/);
    assert.equal(skipReason(obj('v1', 'PersistentVolume', 'nfs-share')), undefined);
    assert.equal(skipReason(obj('v1', 'Secret', 'tls', 'shop', { type: 'kubernetes.io/tls' })), undefined);
    assert.equal(skipReason(obj('v1', 'ServiceAccount', 'default', 'shop')), undefined);
  });
});

describe('sanitise', function () {
  it('strips server metadata and status, and leaves the input untouched', function () {
    const o = obj('v1', 'ConfigMap', 'c', 'shop', { data: { a: '1' }, status: { x: 1 } } as Partial<KObject>);
    Object.assign(o.metadata, {
      resourceVersion: '42',
      generation: 3,
      managedFields: [{ manager: 'kubectl' }],
      creationTimestamp: '2026-01-01T00:00:00Z',
      deletionTimestamp: '2026-01-02T00:00:00Z',
      deletionGracePeriodSeconds: 30,
      selfLink: '/api/v1/x',
      finalizers: ['example.com/keep'],
    });
    const before = structuredClone(o);
    const { object, notes } = sanitise(o, all);
    assert.deepEqual(object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop', finalizers: ['example.com/keep'] }, data: { a: '1' } });
    assert.deepEqual(notes, []);
    assert.deepEqual(o, before);
  });

  it("drops a Service's allocated cluster IPs and health check port, but keeps a headless one's None", function () {
    const svc = obj('v1', 'Service', 'web', 'shop', { spec: { type: 'LoadBalancer', clusterIP: '10.0.0.7', clusterIPs: ['10.0.0.7'], healthCheckNodePort: 31000, ports: [{ port: 80, nodePort: 30080 }] } });
    assert.deepEqual(sanitise(svc, all).object.spec, { type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }] });
    const headless = obj('v1', 'Service', 'db', 'shop', { spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432 }] } });
    assert.deepEqual(sanitise(headless, all).object.spec, { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432 }] });
  });

  it("drops a Pod's node and debug containers, a PV claim's uid and version, and a Deployment's revision annotation", function () {
    assert.deepEqual(sanitise(obj('v1', 'Pod', 'p', 'shop', { spec: { nodeName: 'node-1', containers: [] } }), all).object.spec, { containers: [] });
    const debugged = sanitise(obj('v1', 'Pod', 'p', 'shop', { spec: { containers: [], ephemeralContainers: [{ name: 'debugger', image: 'busybox' }] } }), all);
    assert.deepEqual(debugged.object.spec, { containers: [] });
    assert.match(debugged.notes[0], /ephemeral \(debug\) containers removed/);
    const pv = obj('v1', 'PersistentVolume', 'data', undefined, { spec: { claimRef: { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data', uid: 'u', resourceVersion: '9' } } });
    assert.deepEqual(sanitise(pv, all).object.spec.claimRef, { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data' });
    const d = obj('apps/v1', 'Deployment', 'web', 'shop', { annotations: { 'deployment.kubernetes.io/revision': '7', team: 'a' } });
    assert.deepEqual(sanitise(d, all).object.metadata.annotations, { team: 'a' });
  });

  it("unbinds a PVC from a PV that is not restored, and always drops the source's binding annotations", function () {
    const pvc = obj('v1', 'PersistentVolumeClaim', 'data', 'shop', {
      annotations: {
        'pv.kubernetes.io/bind-completed': 'yes',
        'pv.kubernetes.io/bound-by-controller': 'yes',
        'volume.beta.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com',
        'volume.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com',
        'volume.kubernetes.io/selected-node': 'node-1',
      },
      spec: { volumeName: 'pvc-123', storageClassName: 'gp3' },
    });
    const dynamic = sanitise(pvc, { ...all, pvRestored: (n) => n !== 'pvc-123' });
    assert.deepEqual(dynamic.object.spec, { storageClassName: 'gp3' });
    assert.equal(dynamic.object.metadata.annotations, undefined);
    assert.deepEqual(dynamic.notes, ['volumeName pvc-123 removed: the claim is provisioned anew on the target']);
    const kept = sanitise(pvc, all);
    assert.deepEqual(kept.object.spec, { volumeName: 'pvc-123', storageClassName: 'gp3' });
    assert.deepEqual(kept.notes, []);
  });

  it("drops a Job's generated selector and uid labels, but keeps a manual selector", function () {
    const job = obj('batch/v1', 'Job', 'migrate', 'shop', {
      labels: { 'batch.kubernetes.io/controller-uid': 'u1', 'controller-uid': 'u1', 'job-name': 'migrate' },
      spec: {
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } },
        template: { metadata: { labels: { 'batch.kubernetes.io/controller-uid': 'u1', 'controller-uid': 'u1', 'job-name': 'migrate' } }, spec: { containers: [] } },
      },
    });
    const { object } = sanitise(job, all);
    assert.equal(object.spec.selector, undefined);
    assert.deepEqual(object.spec.template.metadata.labels, { 'job-name': 'migrate' });
    assert.deepEqual(object.metadata.labels, { 'job-name': 'migrate' });
    const manual = obj('batch/v1', 'Job', 'm', 'shop', { spec: { manualSelector: true, selector: { matchLabels: { app: 'm' } }, template: { metadata: { labels: { app: 'm' } } } } });
    assert.deepEqual(sanitise(manual, all).object.spec.selector, { matchLabels: { app: 'm' } });
  });

  it('removes owner references to objects not restored with a note, and keeps the others without their uid', function () {
    const cm = obj('v1', 'ConfigMap', 'c', 'shop');
    cm.metadata.ownerReferences = [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true },
      { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'u2' },
    ];
    const asked: unknown[] = [];
    const { object, notes } = sanitise(cm, {
      isRestored: (ref) => {
        asked.push(ref);
        return ref.kind === 'Deployment';
      },
      pvRestored: () => true,
    });
    assert.deepEqual(object.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', controller: true }]);
    assert.deepEqual(notes, ['owner reference to Widget w removed (not restored)']);
    assert.deepEqual(asked[0], { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' });
    assert.equal(sanitise(cm, none).object.metadata.ownerReferences, undefined);
  });

  it("keeps kubectl's last applied configuration, except on Secrets where it holds the values", function () {
    const LAST = 'kubectl.kubernetes.io/last-applied-configuration';
    const cm = obj('v1', 'ConfigMap', 'c', 'shop', { annotations: { [LAST]: '{"data":{}}' } });
    assert.equal(sanitise(cm, all).object.metadata.annotations?.[LAST], '{"data":{}}');
    const secret = obj('v1', 'Secret', 's', 'shop', { annotations: { [LAST]: '{"data":{"password":"aHVudGVyMg=="}}' }, data: { password: 'aHVudGVyMg==' } });
    const out = sanitise(secret, all);
    assert.equal(out.object.metadata.annotations, undefined);
    assert.equal(out.object.data.password, 'aHVudGVyMg==');
    assert.ok(!JSON.stringify(out.notes).includes('aHVudGVyMg'));
  });

  it("drops status from a StatefulSet's claim templates", function () {
    const sts = obj('apps/v1', 'StatefulSet', 'db', 'shop', { spec: { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {}, status: { phase: 'Pending' } }] }, status: { replicas: 1 } });
    const { object } = sanitise(sts, all);
    assert.deepEqual(object.spec.volumeClaimTemplates, [{ metadata: { name: 'data' }, spec: {} }]);
    assert.equal(object.status, undefined);
  });
});
