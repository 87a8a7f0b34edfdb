import { strict as assert } from 'node:assert';
import {
  validateClusterContextsParams,
  validateClusterNamespacesParams,
  validateClusterObjectsParams,
  validateClusterTagParams,
  validateClusterWatchParams,
  validateRepositoryInitParams,
} from '../../../src/protocol/workerParams';
import { rejects } from './rejects';

describe('cluster request params', function () {
  it('contexts take an optional kubeconfig, and no params at all', function () {
    assert.deepEqual(validateClusterContextsParams(undefined), {});
    assert.deepEqual(validateClusterContextsParams({ kubeconfig: '/k' }), { kubeconfig: '/k' });
    rejects(() => validateClusterContextsParams({ kubeConfig: '/k' }), 'kubeConfig', /unknown field/);
  });

  it('namespaces and watch need a context', function () {
    assert.deepEqual(validateClusterNamespacesParams({ context: 'prod' }), { context: 'prod' });
    rejects(() => validateClusterNamespacesParams({}), 'context', /required/);
    rejects(() => validateClusterWatchParams({ context: '' }), 'context', /empty/);
  });

  it('objects name a namespace and one of the three groups', function () {
    assert.deepEqual(validateClusterObjectsParams({ context: 'c', namespace: 'shop', what: 'pvcs' }), { context: 'c', namespace: 'shop', what: 'pvcs' });
    rejects(() => validateClusterObjectsParams({ context: 'c', namespace: 'shop', what: 'secrets' }), 'what');
    rejects(() => validateClusterObjectsParams({ context: 'c', namespace: 'Shop!', what: 'pods' }), 'namespace', /object name/);
  });

  it('tag takes taggable kinds, namespaces only where they belong, and true, false or null', function () {
    const ok = validateClusterTagParams({
      context: 'c',
      refs: [{ kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data-db-0' }, { kind: 'Namespace', name: 'shop' }],
      value: null,
    });
    assert.equal(ok.value, null);
    assert.deepEqual(ok.refs[1], { kind: 'Namespace', name: 'shop' });
    rejects(() => validateClusterTagParams({ context: 'c', refs: [], value: 'true' }), 'refs');
    rejects(() => validateClusterTagParams({ context: 'c', refs: [{ kind: 'Secret', namespace: 'shop', name: 'x' }], value: 'true' }), 'refs[0].kind');
    rejects(() => validateClusterTagParams({ context: 'c', refs: [{ kind: 'Pod', name: 'x' }], value: 'true' }), 'refs[0].namespace', /required/);
    rejects(() => validateClusterTagParams({ context: 'c', refs: [{ kind: 'Namespace', namespace: 'a', name: 'x' }], value: 'true' }), 'refs[0].namespace', /absent/);
    rejects(() => validateClusterTagParams({ context: 'c', refs: [{ kind: 'Namespace', name: 'x' }], value: true }), 'value');
    rejects(() => validateClusterTagParams({ context: 'c', refs: [{ kind: 'Namespace', name: 'x' }] }), 'value');
  });

  it('repository init is a job with an optional ifMissing', function () {
    const p = validateRepositoryInitParams({ jobId: 'init-1', repository: { location: '/r', passphrase: 'long-enough' }, ifMissing: true });
    assert.equal(p.ifMissing, true);
    rejects(() => validateRepositoryInitParams({ jobId: 'init-1', repository: { location: '/r' }, ifMissing: 'yes' }), 'ifMissing');
  });
});
