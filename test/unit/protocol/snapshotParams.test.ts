import { strict as assert } from 'node:assert';
import {
  validateClusterObjectParams,
  validateSnapshotsContentsParams,
  validateSnapshotsDeleteParams,
  validateSnapshotsFileParams,
  validateSnapshotsFilesParams,
  validateSnapshotsObjectParams,
} from '../../../src/protocol/workerParams';
import { rejects } from './rejects';

const job = { jobId: 'browse-1', repository: { location: '/r', passphrase: 'secret-words' } };
const volume = { namespace: 'shop', pvc: 'data-db-0' };

describe('snapshot browsing request params', function () {
  it('contents and delete take a snapshot', function () {
    assert.deepEqual(validateSnapshotsContentsParams({ ...job, snapshot: 'latest' }), { ...job, snapshot: 'latest' });
    assert.deepEqual(validateSnapshotsDeleteParams({ ...job, snapshot: 'ab12' }), { ...job, snapshot: 'ab12' });
    rejects(() => validateSnapshotsContentsParams(job), 'snapshot', /required/);
    rejects(() => validateSnapshotsDeleteParams({ ...job, snapshot: 'x', force: true }), 'force', /unknown field/);
  });

  it('object takes a group ("" for core), a kind, a name and a namespace only when given', function () {
    assert.deepEqual(validateSnapshotsObjectParams({ ...job, snapshot: 's', object: { group: '', kind: 'Namespace', name: 'shop' } }), {
      ...job,
      snapshot: 's',
      object: { group: '', kind: 'Namespace', name: 'shop' },
    });
    const rbac = { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:aggregate-to-view' };
    assert.deepEqual(validateSnapshotsObjectParams({ ...job, snapshot: 's', object: rbac }).object, rbac);
    rejects(() => validateSnapshotsObjectParams({ ...job, snapshot: 's' }), 'object', /required/);
    rejects(() => validateSnapshotsObjectParams({ ...job, snapshot: 's', object: { group: 'Apps!', kind: 'Deployment', name: 'a' } }), 'object.group');
    rejects(() => validateSnapshotsObjectParams({ ...job, snapshot: 's', object: { group: '', kind: 'config map', name: 'a' } }), 'object.kind');
    rejects(() => validateSnapshotsObjectParams({ ...job, snapshot: 's', object: { group: '', kind: 'Secret', name: 'a/b' } }), 'object.name');
    rejects(() => validateSnapshotsObjectParams({ ...job, snapshot: 's', object: { kind: 'Secret', name: 'a' } }), 'object.group', /required/);
  });

  it('files and file take a volume and an absolute path that does not climb out', function () {
    assert.deepEqual(validateSnapshotsFilesParams({ ...job, snapshot: 's', volume, dir: '/' }).dir, '/');
    rejects(() => validateSnapshotsFilesParams({ ...job, snapshot: 's', volume, dir: 'pgdata' }), 'dir', /starting with "\/"/);
    rejects(() => validateSnapshotsFilesParams({ ...job, snapshot: 's', volume, dir: '/a/../../etc' }), 'dir', /\.\./);
    rejects(() => validateSnapshotsFilesParams({ ...job, snapshot: 's', volume: { namespace: 'shop' }, dir: '/' }), 'volume.pvc', /required/);
    const p = validateSnapshotsFileParams({ ...job, snapshot: 's', volume, path: '/pgdata/PG_VERSION', maxBytes: 1024 });
    assert.equal(p.maxBytes, 1024);
    rejects(() => validateSnapshotsFileParams({ ...job, snapshot: 's', volume, path: '/x' }), 'maxBytes', /required/);
    rejects(() => validateSnapshotsFileParams({ ...job, snapshot: 's', volume, path: '/x', maxBytes: -1 }), 'maxBytes');
    rejects(() => validateSnapshotsFileParams({ ...job, snapshot: 's', volume, path: '/x\0y', maxBytes: 1 }), 'path', /NUL/);
  });

  it('cluster/object takes a context and an object reference', function () {
    const object = { group: 'apps', kind: 'StatefulSet', namespace: 'shop', name: 'db' };
    assert.deepEqual(validateClusterObjectParams({ context: 'prod', object }), { context: 'prod', object });
    rejects(() => validateClusterObjectParams({ object }), 'context', /required/);
    rejects(() => validateClusterObjectParams({ context: 'prod', object: { ...object, namespace: 'Shop' } }), 'object.namespace');
  });
});
