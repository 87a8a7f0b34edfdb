import { strict as assert } from 'node:assert';
import {
  validateRepositoryPruneParams,
  validateRestoreApplyParams,
  validateRestoreFileParams,
  validateRestorePlanParams,
  validateRestoreProfilesParams,
} from '../../../src/protocol/workerParams';
import { rejects } from './rejects';

const job = { jobId: 'restore-1', repository: { location: '/r', passphrase: 'secret-words' } };

describe('restore and prune request params', function () {
  const request = {
    snapshot: 'latest',
    context: 'sandbox-dev',
    profile: 'dev',
    namespaceMapping: { shop: 'shop-dev' },
    existing: 'update',
    selection: { namespaces: ['shop'], object: { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web' }, clusterResources: 'related', volumes: false },
  };

  it('a plan takes a full request and the documents flag, unchanged', function () {
    assert.deepEqual(validateRestorePlanParams({ ...job, request, documents: true }), { ...job, request, documents: true });
    assert.deepEqual(validateRestorePlanParams({ ...job, request: { snapshot: 'ab12' } }), { ...job, request: { snapshot: 'ab12' } });
  });

  it('rejects unknown and misspelt fields at every level, naming them', function () {
    rejects(() => validateRestorePlanParams({ ...job, request, dryRun: true }), 'dryRun', /unknown field/);
    rejects(() => validateRestorePlanParams({ ...job, request: { ...request, namespace: 'shop' } }), 'request.namespace', /unknown field/);
    rejects(() => validateRestorePlanParams({ ...job, request: { ...request, selection: { namespace: ['shop'] } } }), 'request.selection.namespace', /unknown field/);
    rejects(() => validateRestorePlanParams({ ...job, request: { ...request, selection: { object: { kind: 'Pod', name: 'a', uid: 'x' } } } }), 'request.selection.object.uid', /unknown field/);
  });

  it('rejects bad values: policies, mappings, patterns, both object and pvc', function () {
    rejects(() => validateRestorePlanParams({ ...job, request: { ...request, existing: 'force' } }), 'request.existing', /skip, update, recreate/);
    rejects(() => validateRestorePlanParams({ ...job, request: { ...request, namespaceMapping: { shop: 'Shop Dev' } } }), 'request.namespaceMapping.shop');
    rejects(() => validateRestorePlanParams({ ...job, request: { ...request, namespaceMapping: ['shop'] } }), 'request.namespaceMapping', /object/);
    rejects(() => validateRestorePlanParams({ ...job, request: { ...request, productionPattern: '(' } }), 'request.productionPattern', /regular expression/);
    rejects(
      () => validateRestorePlanParams({ ...job, request: { snapshot: 'x', selection: { object: { kind: 'Pod', name: 'a' }, pvc: { namespace: 's', name: 'p' } } } }),
      'request.selection.pvc',
    );
    rejects(() => validateRestorePlanParams({ ...job }), 'request', /required/);
  });

  it('an apply needs the confirmed context', function () {
    assert.deepEqual(validateRestoreApplyParams({ ...job, request, confirmContext: 'sandbox-dev' }), { ...job, request, confirmContext: 'sandbox-dev' });
    rejects(() => validateRestoreApplyParams({ ...job, request }), 'confirmContext', /required/);
  });

  it('a file restore goes to an absolute directory or a PVC, from a path inside the volume', function () {
    const base = { snapshot: 'latest', volume: { namespace: 'shop', pvc: 'data-db-0' }, path: '/pgdata' };
    const dir = { ...base, to: { kind: 'dir', directory: '/tmp/out' } };
    assert.deepEqual(validateRestoreFileParams({ ...job, request: dir }), { ...job, request: dir });
    const pvc = { ...base, to: { kind: 'pvc', context: 'sandbox-dev', namespace: 'shop', pvc: 'data-db-0', targetPath: '/restored' } };
    assert.deepEqual(validateRestoreFileParams({ ...job, request: pvc }), { ...job, request: pvc });
    rejects(() => validateRestoreFileParams({ ...job, request: { ...base, to: { kind: 'dir', directory: 'out' } } }), 'request.to.directory', /absolute/);
    rejects(() => validateRestoreFileParams({ ...job, request: { ...base, to: { kind: 's3' } } }), 'request.to.kind', /"dir" or "pvc"/);
    rejects(() => validateRestoreFileParams({ ...job, request: { ...base, path: '/a/../../etc', to: dir.to } }), 'request.path', /\.\./);
    rejects(() => validateRestoreFileParams({ ...job, request: { ...pvc, to: { ...pvc.to, directory: '/x' } } }), 'request.to.directory', /unknown field/);
  });

  it('profiles take an optional folder; prune an optional policy and dry run', function () {
    assert.deepEqual(validateRestoreProfilesParams(undefined), {});
    assert.deepEqual(validateRestoreProfilesParams({ profilesDir: '/w/.lifeboat/profiles' }), { profilesDir: '/w/.lifeboat/profiles' });
    assert.deepEqual(validateRepositoryPruneParams({ ...job, policy: { last: 3, daily: 7 }, dryRun: true }), { ...job, policy: { last: 3, daily: 7 }, dryRun: true });
    rejects(() => validateRepositoryPruneParams({ ...job, policy: { keepLast: 3 } }), 'policy.keepLast', /unknown field/);
    rejects(() => validateRepositoryPruneParams({ ...job, policy: { last: -1 } }), 'policy.last');
  });
});
