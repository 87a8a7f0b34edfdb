import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { catalogEntry, imagesOf, matchResources, splitApiVersion, type Catalog, type ResourceLike } from '../../../src/engine/repo/catalog';

const fixtures = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures');

describe('snapshot catalog entries', function () {
  it('splits apiVersion into group and version, core group as ""', function () {
    assert.deepEqual(splitApiVersion('v1'), { group: '', version: 'v1' });
    assert.deepEqual(splitApiVersion('apps/v1'), { group: 'apps', version: 'v1' });
    assert.deepEqual(splitApiVersion('cert-manager.io/v1'), { group: 'cert-manager.io', version: 'v1' });
  });

  it('collects images from pods, pod templates and cron job templates, init and ephemeral containers included', function () {
    assert.deepEqual(
      imagesOf({ kind: 'Pod', spec: { containers: [{ image: 'b:1' }, { image: 'a:2' }], ephemeralContainers: [{ image: 'debug' }] } }),
      ['a:2', 'b:1', 'debug'],
    );
    assert.deepEqual(imagesOf({ kind: 'StatefulSet', spec: { template: { spec: { initContainers: [{ image: 'init' }], containers: [{ image: 'db' }] } } } }), [
      'db',
      'init',
    ]);
    assert.deepEqual(imagesOf({ kind: 'CronJob', spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: 'job:1' }] } } } } } }), ['job:1']);
    assert.deepEqual(imagesOf({ kind: 'ConfigMap', data: { image: 'not-an-image' } }), []);
  });

  it('keeps labels and only the lifeboat.dev annotations', function () {
    const obj: ResourceLike = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'data',
        namespace: 'shop',
        labels: { app: 'db' },
        annotations: { 'lifeboat.dev/backup': 'true', 'lifeboat.dev/pre-hook': 'sync', 'pv.kubernetes.io/bind-completed': 'yes' },
      },
    };
    const e = catalogEntry(obj, 'blobid', 123);
    assert.deepEqual(e, {
      group: '',
      version: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: 'shop',
      name: 'data',
      labels: { app: 'db' },
      annotations: { 'lifeboat.dev/backup': 'true', 'lifeboat.dev/pre-hook': 'sync' },
      images: [],
      blob: 'blobid',
      bytes: 123,
    });
    const ns = catalogEntry({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, 'b2', 1);
    assert.equal(ns.namespace, undefined, 'cluster-scoped objects have no namespace');
  });

  it('finds objects by kind (any case), name, and optionally group and namespace', function () {
    const mk = (group: string, kind: string, name: string, namespace?: string) => ({
      group,
      version: 'v1',
      kind,
      name,
      namespace,
      labels: {},
      annotations: {},
      images: [],
      blob: `${group}/${kind}/${name}`,
      bytes: 1,
    });
    const catalog: Catalog = {
      version: 1,
      snapshot: 's',
      resources: [mk('apps', 'Deployment', 'api', 'shop'), mk('apps', 'Deployment', 'api', 'dev'), mk('', 'Namespace', 'shop')],
      volumes: [],
      data: [],
    };
    assert.equal(matchResources(catalog, { kind: 'deployment', name: 'api' }).length, 2);
    assert.equal(matchResources(catalog, { kind: 'Deployment', name: 'api', namespace: 'dev' }).length, 1);
    assert.equal(matchResources(catalog, { group: 'batch', kind: 'Deployment', name: 'api' }).length, 0);
    assert.equal(matchResources(catalog, { kind: 'Namespace', name: 'shop', namespace: '' }).length, 1);
  });

  it('catalogs the real-world manifests in the shared fixtures', function () {
    if (!fs.existsSync(fixtures)) this.skip();
    let seen = 0;
    const walk = (d: string): string[] =>
      fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    for (const file of walk(fixtures).filter((f) => /\.ya?ml$/.test(f))) {
      for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
        const obj = doc.toJS() as ResourceLike | null;
        if (!obj?.apiVersion || !obj.kind || !obj.metadata?.name) continue;
        const e = catalogEntry(obj, 'x', 1);
        assert.equal(e.kind, obj.kind);
        if (/^(Deployment|StatefulSet|DaemonSet|Job|CronJob|Pod|ReplicaSet)$/.test(obj.kind)) {
          assert.ok(e.images.length > 0, `${file}: ${obj.kind} ${obj.metadata.name} has images`);
        }
        seen++;
      }
    }
    if (seen === 0) this.skip();
  });
});
