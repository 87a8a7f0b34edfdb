import { strict as assert } from 'node:assert';
import { applySkipRules, exclusionReason, falseNamespacesOf, rebuiltReason, resourceSkipReason } from '../../../src/engine/capture/skip';
import { DISCOVERY, names, obj, resource } from './objects';

const items = (...objects: ReturnType<typeof obj>[]) => objects.map((object) => ({ object }));

describe('capture skip rules', function () {
  it('never lists events, endpoints, endpoint slices, leases, reviews or what cannot be listed', function () {
    const skipped = [
      resource('', 'events', 'Event', true),
      resource('events.k8s.io', 'events', 'Event', true),
      resource('', 'endpoints', 'Endpoints', true),
      resource('discovery.k8s.io', 'endpointslices', 'EndpointSlice', true),
      resource('coordination.k8s.io', 'leases', 'Lease', true),
      resource('', 'componentstatuses', 'ComponentStatus', false),
      resource('authentication.k8s.io', 'tokenreviews', 'TokenReview', false),
      resource('authorization.k8s.io', 'localsubjectaccessreviews', 'LocalSubjectAccessReview', true),
      resource('metrics.k8s.io', 'pods', 'PodMetrics', true),
      resource('example.com', 'widgets', 'Widget', true, { verbs: ['create', 'get'] }),
    ];
    for (const r of skipped) assert.ok(resourceSkipReason(r), `${r.group}/${r.resource} should be skipped`);
    for (const r of DISCOVERY.filter((d) => d.resource !== 'events' && d.verbs.includes('list'))) assert.equal(resourceSkipReason(r), undefined, `${r.resource} should be captured`);
  });

  it('excludes objects annotated "false", labelled for Velero to exclude, or in a namespace annotated "false"', function () {
    const none = new Set<string>();
    assert.ok(exclusionReason(obj('v1', 'ConfigMap', 'a', 'shop', { annotations: { 'lifeboat.dev/backup': 'false' } }), none));
    assert.ok(exclusionReason(obj('v1', 'ConfigMap', 'a', 'shop', { labels: { 'velero.io/exclude-from-backup': 'true' } }), none));
    assert.equal(exclusionReason(obj('v1', 'ConfigMap', 'a', 'shop', { labels: { 'velero.io/exclude-from-backup': 'false' } }), none), undefined);
    const falseNs = falseNamespacesOf([obj('v1', 'Namespace', 'scratch', undefined, { annotations: { 'lifeboat.dev/backup': 'false' } }), obj('v1', 'Namespace', 'shop')]);
    assert.deepEqual([...falseNs], ['scratch']);
    assert.ok(exclusionReason(obj('v1', 'ConfigMap', 'a', 'scratch'), falseNs));
    assert.equal(exclusionReason(obj('v1', 'ConfigMap', 'a', 'shop'), falseNs), undefined);
  });

  it('leaves out service account token Secrets and the published CA bundle, not other Secrets', function () {
    assert.ok(rebuiltReason(obj('v1', 'Secret', 'api-token-x', 'shop', { type: 'kubernetes.io/service-account-token' })));
    assert.ok(rebuiltReason(obj('v1', 'ConfigMap', 'kube-root-ca.crt', 'shop')));
    assert.equal(rebuiltReason(obj('v1', 'Secret', 'tls', 'shop', { type: 'kubernetes.io/tls' })), undefined);
  });

  it('drops pods and replicasets whose controller is selected, down the whole chain', function () {
    const deploy = obj('apps/v1', 'Deployment', 'api', 'shop');
    const rs = obj('apps/v1', 'ReplicaSet', 'api-1', 'shop', { owner: deploy });
    const pod = obj('v1', 'Pod', 'api-1-a', 'shop', { owner: rs });
    const bare = obj('v1', 'Pod', 'debug', 'shop');
    const job = obj('batch/v1', 'Job', 'once', 'shop');
    const jobPod = obj('v1', 'Pod', 'once-x', 'shop', { owner: job });
    const result = applySkipRules(items(deploy, rs, pod, bare, job, jobPod));
    assert.deepEqual(names(result.kept.map((i) => i.object)), ['Deployment shop/api', 'Job shop/once', 'Pod shop/debug']);
    assert.deepEqual(names(result.rebuilt.map((i) => i.object)), ['Pod shop/api-1-a', 'Pod shop/once-x', 'ReplicaSet shop/api-1']);
    assert.match(result.skipped.find((s) => s.item.object === pod)!.reason, /ReplicaSet api-1/);
  });

  it('keeps pods whose controller is not selected, or is excluded', function () {
    const deploy = obj('apps/v1', 'Deployment', 'api', 'shop', { annotations: { 'lifeboat.dev/backup': 'false' } });
    const rs = obj('apps/v1', 'ReplicaSet', 'api-1', 'shop', { owner: deploy });
    const orphanOwner = obj('apps/v1', 'ReplicaSet', 'gone', 'shop');
    const orphan = obj('v1', 'Pod', 'gone-a', 'shop', { owner: orphanOwner });
    const result = applySkipRules(items(deploy, rs, orphan));
    assert.deepEqual(names(result.kept.map((i) => i.object)), ['Pod shop/gone-a', 'ReplicaSet shop/api-1']);
    assert.deepEqual(result.rebuilt, []);
  });

  it('reports every skipped object with its reason', function () {
    const result = applySkipRules(items(obj('v1', 'Secret', 't', 'shop', { type: 'kubernetes.io/service-account-token' }), obj('v1', 'Secret', 's', 'shop')));
    assert.equal(result.kept.length, 1);
    assert.deepEqual(
      result.skipped.map((s) => [s.item.object.metadata.name, s.reason]),
      [['t', 'service account token, minted by the cluster']],
    );
  });
});
