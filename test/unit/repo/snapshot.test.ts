import { strict as assert } from 'node:assert';
import { decodeManifest, encodeManifest, summaryOf, type SnapshotManifest } from '../../../src/engine/repo/snapshot';

const manifest: SnapshotManifest = {
  version: 1,
  id: 'ignored-the-name-wins',
  time: '2026-11-22T03:00:00.000Z',
  cluster: 'prod',
  scope: { namespaces: ['shop'] },
  tags: ['nightly'],
  host: 'builder',
  user: 'ops',
  toolVersion: '0.1.0',
  counts: { resources: 3, volumes: 1, files: 10, data: 1 },
  sizes: { bytes: 1000, added: 100 },
  durationMs: 1234,
  warnings: [],
  catalog: 'abc',
  volumes: [{ namespace: 'shop', pvc: 'data', tree: 't', root: { mode: 0o755, uid: 0, gid: 0, mtime: '2026-11-22T03:00:00.000Z' }, files: 10, bytes: 900 }],
  data: [{ name: 'etcd', chunks: ['c'], bytes: 100 }],
};

describe('snapshot manifests', function () {
  it('round-trip, and the object name is the snapshot id', function () {
    const back = decodeManifest(encodeManifest(manifest), 'abc123');
    assert.equal(back.id, 'abc123');
    assert.deepEqual({ ...back, id: manifest.id }, manifest);
  });

  it('summaries carry what listings show and nothing of the roots', function () {
    const s = summaryOf(decodeManifest(encodeManifest(manifest), 'abc123'));
    assert.deepEqual(Object.keys(s).sort(), ['counts', 'cluster', 'durationMs', 'id', 'scope', 'sizes', 'tags', 'time', 'warnings'].sort());
  });

  it('refuse damaged, incomplete or newer manifests with a message naming the snapshot', function () {
    assert.throws(() => decodeManifest(Buffer.from('{'), 'abc123'), /snapshot manifest abc123 is not valid JSON.*verify/);
    assert.throws(() => decodeManifest(Buffer.from('{"version":1}'), 'abc123'), /abc123 is incomplete/);
    assert.throws(() => decodeManifest(encodeManifest({ ...manifest, version: 7 }), 'abc123'), /version 7.*upgrade lifeboat/);
  });
});
