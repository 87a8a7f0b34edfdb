/**
 * The API server's pure pieces: selector parsing and matching, the patch
 * formats, field ownership for server-side apply, and kubectl's age text.
 */
import { strict as assert } from 'node:assert';
import { leafValues, serverSideApply } from '../../sandbox/apiserver/apply';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../sandbox/apiserver/patch';
import { matchesLabels, parseLabelSelector } from '../../sandbox/apiserver/selectors';
import { humanDuration } from '../../sandbox/apiserver/tables';
import { sortVersions } from '../../sandbox/apiserver/kinds';

describe('sandbox API server pieces', () => {
  it('matches equality and set-based label selectors', () => {
    const sel = parseLabelSelector('app=web, tier in (a,b),env notin (prod),owner,!legacy');
    assert.equal(matchesLabels(sel, { app: 'web', tier: 'a', env: 'dev', owner: 'x' }), true);
    assert.equal(matchesLabels(sel, { app: 'web', tier: 'c', env: 'dev', owner: 'x' }), false);
    assert.equal(matchesLabels(sel, { app: 'web', tier: 'a', env: 'prod', owner: 'x' }), false);
    assert.equal(matchesLabels(sel, { app: 'web', tier: 'a', owner: 'x', legacy: '1' }), false);
    assert.equal(matchesLabels(parseLabelSelector('a!=b'), {}), true);
    assert.throws(() => parseLabelSelector('a in b'), /unable to parse requirement/);
  });

  it('applies JSON patch, merge patch and strategic merge patch with merge keys', () => {
    assert.deepEqual(jsonPatch({ a: [1, 2], b: 0 }, [{ op: 'add', path: '/a/-', value: 3 }, { op: 'replace', path: '/b', value: 1 }]), { a: [1, 2, 3], b: 1 });
    assert.throws(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]), /test failed/);
    assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, l: [1] }, { a: { b: null }, l: [2] }), { a: { c: 2 }, l: [2] });
    const pod = { kind: 'Pod', spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'E', value: '1' }] }, { name: 'b', image: 'y' }] } };
    const out = strategicMergePatch(pod, { spec: { containers: [{ name: 'a', env: [{ name: 'F', value: '2' }] }, { name: 'b', $patch: 'delete' }] } }, 'Pod');
    assert.deepEqual(out.spec.containers, [{ name: 'a', image: 'x', env: [{ name: 'E', value: '1' }, { name: 'F', value: '2' }] }]);
    const ordered = strategicMergePatch({ metadata: { finalizers: ['a'] }, spec: { containers: [{ name: 'x' }, { name: 'y' }] } }, { metadata: { finalizers: ['b'] }, spec: { '$setElementOrder/containers': [{ name: 'y' }, { name: 'x' }] } }, 'Pod');
    assert.deepEqual(ordered.metadata.finalizers, ['a', 'b']);
    assert.deepEqual(ordered.spec.containers.map((c: any) => c.name), ['y', 'x']);
  });

  it('tracks list items by their keys and detects apply conflicts only on differing values', () => {
    const dep: any = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', labels: { a: 'b' } }, spec: { replicas: 2, template: { spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }] } } } };
    const leaves = [...leafValues(dep, 'Deployment', { includeStatus: false }).keys()].map((k) => k.split('\u0001').join(' '));
    assert.ok(leaves.includes('f:spec f:template f:spec f:containers k:{"name":"c"} f:image'));
    assert.ok(leaves.includes('f:spec f:template f:spec f:containers k:{"name":"c"} f:ports k:{"containerPort":80,"protocol":"TCP"} .'));
    const live = serverSideApply(undefined, dep, { manager: 'one', force: false, apiVersion: 'apps/v1', kind: 'Deployment', group: 'apps', resource: 'deployments' });
    const same = serverSideApply(live, dep, { manager: 'two', force: false, apiVersion: 'apps/v1', kind: 'Deployment', group: 'apps', resource: 'deployments' });
    assert.deepEqual((same.metadata.managedFields as any[]).map((m: any) => m.manager), ['one', 'two']);
    const changed = { ...dep, spec: { replicas: 3 } };
    assert.throws(
      () => serverSideApply(same, changed, { manager: 'two', force: false, apiVersion: 'apps/v1', kind: 'Deployment', group: 'apps', resource: 'deployments' }),
      /Apply failed with 1 conflict: conflict with "one" using apps\/v1: \.spec\.replicas/,
    );
    // Dropping a field from one's own configuration removes it when nobody else owns it.
    const shrunk = serverSideApply(live, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 2 } } as any, { manager: 'one', force: false, apiVersion: 'apps/v1', kind: 'Deployment', group: 'apps', resource: 'deployments' });
    assert.equal(shrunk.spec.template.spec.containers.length, 0);
    assert.equal(shrunk.metadata.labels, undefined);
  });

  it('prints ages as kubectl does and orders versions by stability', () => {
    assert.equal(humanDuration(59_000), '59s');
    assert.equal(humanDuration(119_000), '119s');
    assert.equal(humanDuration(5 * 60_000 + 3000), '5m3s');
    assert.equal(humanDuration(75 * 60_000), '75m');
    assert.equal(humanDuration(5 * 3600_000 + 60_000), '5h1m');
    assert.equal(humanDuration(30 * 3600_000), '30h');
    assert.equal(humanDuration(3 * 86400_000 + 3600_000), '3d1h');
    assert.deepEqual(sortVersions(['v1beta1', 'v2', 'v1', 'v1alpha1', 'v2beta2']), ['v2', 'v1', 'v2beta2', 'v1beta1', 'v1alpha1']);
  });
});
