import { strict as assert } from 'node:assert';
import { applicationClosure, podSpecReferences } from '../../../src/engine/capture/closure';
import { exclusionReason } from '../../../src/engine/capture/skip';
import type { KObject } from '../../../src/engine/kube/types';
import { names, obj } from './objects';

const TAG = { 'lifeboat.dev/backup': 'true' };

/** A namespace with a web application, a database and unrelated objects, as a cluster would list them. */
function shop(tags: { deployment?: boolean; pod?: boolean; sts?: boolean } = {}): KObject[] {
  const ns = 'shop';
  const deploy = obj('apps/v1', 'Deployment', 'api', ns, {
    annotations: tags.deployment ? TAG : undefined,
    spec: {
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api', tier: 'backend' } },
        spec: {
          serviceAccountName: 'api',
          imagePullSecrets: [{ name: 'registry' }],
          initContainers: [{ name: 'migrate', envFrom: [{ secretRef: { name: 'migrate-creds' } }] }],
          containers: [
            {
              name: 'api',
              envFrom: [{ configMapRef: { name: 'api-env' } }],
              env: [
                { name: 'A', valueFrom: { secretKeyRef: { name: 'api-keys', key: 'a' } } },
                { name: 'B', valueFrom: { configMapKeyRef: { name: 'api-flags', key: 'b' } } },
                { name: 'C', value: 'literal' },
                { name: 'D', valueFrom: { secretKeyRef: { name: 'not-there', key: 'd', optional: true } } },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: 'api-config' } },
            { name: 'certs', secret: { secretName: 'api-certs' } },
            { name: 'bundle', projected: { sources: [{ configMap: { name: 'ca-bundle' } }, { secret: { name: 'client-cert' } }] } },
            { name: 'uploads', persistentVolumeClaim: { claimName: 'uploads' } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  });
  const rs = obj('apps/v1', 'ReplicaSet', 'api-5f7d', ns, { owner: deploy, spec: { template: deploy.spec.template } });
  const pod = obj('v1', 'Pod', 'api-5f7d-x1', ns, { owner: rs, labels: { app: 'api', tier: 'backend' }, annotations: tags.pod ? TAG : undefined, spec: deploy.spec.template.spec });
  const sts = obj('apps/v1', 'StatefulSet', 'db', ns, {
    annotations: tags.sts ? TAG : undefined,
    spec: {
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'pg', envFrom: [{ secretRef: { name: 'db-creds' } }] }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data' } }],
    },
  });
  return [
    deploy,
    rs,
    pod,
    sts,
    obj('v1', 'Pod', 'db-0', ns, { owner: sts, spec: sts.spec.template.spec }),
    ...['api-env', 'api-flags', 'api-config', 'ca-bundle', 'unrelated'].map((n) => obj('v1', 'ConfigMap', n, ns)),
    ...['registry', 'migrate-creds', 'api-keys', 'api-certs', 'client-cert', 'db-creds', 'shop-tls', 'other-tls'].map((n) => obj('v1', 'Secret', n, ns)),
    obj('v1', 'ServiceAccount', 'api', ns),
    obj('v1', 'ServiceAccount', 'other', ns),
    ...['uploads', 'data-db-0', 'data-db-1', 'data-db-x', 'data-dbx-0', 'other'].map((n) => obj('v1', 'PersistentVolumeClaim', n, ns)),
    obj('v1', 'Service', 'api', ns, { spec: { selector: { app: 'api' } } }),
    obj('v1', 'Service', 'api-backend', ns, { spec: { selector: { tier: 'backend' } } }),
    obj('v1', 'Service', 'api-canary', ns, { spec: { selector: { app: 'api', track: 'canary' } } }),
    obj('v1', 'Service', 'external', ns, { spec: { type: 'ExternalName', externalName: 'example.com' } }),
    obj('v1', 'Service', 'db', ns, { spec: { selector: { app: 'db' } } }),
    obj('networking.k8s.io/v1', 'Ingress', 'shop', ns, {
      spec: { tls: [{ secretName: 'shop-tls' }], rules: [{ http: { paths: [{ backend: { service: { name: 'api', port: { number: 80 } } } }] } }] },
    }),
    obj('networking.k8s.io/v1', 'Ingress', 'admin', ns, { spec: { tls: [{ secretName: 'other-tls' }], defaultBackend: { service: { name: 'external' } } } }),
    obj('v1', 'ConfigMap', 'api-env', 'elsewhere'),
  ];
}

describe('application closure of tagged objects', function () {
  it('brings what a tagged Deployment needs: config, secrets, service account, claims, services, ingresses and their TLS secrets', function () {
    const picked = applicationClosure(shop({ deployment: true }));
    assert.deepEqual(names(picked), [
      'ConfigMap shop/api-config',
      'ConfigMap shop/api-env',
      'ConfigMap shop/api-flags',
      'ConfigMap shop/ca-bundle',
      'Deployment shop/api',
      'Ingress shop/shop',
      'PersistentVolumeClaim shop/uploads',
      'Pod shop/api-5f7d-x1',
      'ReplicaSet shop/api-5f7d',
      'Secret shop/api-certs',
      'Secret shop/api-keys',
      'Secret shop/client-cert',
      'Secret shop/migrate-creds',
      'Secret shop/registry',
      'Secret shop/shop-tls',
      'Service shop/api',
      'Service shop/api-backend',
      'ServiceAccount shop/api',
    ]);
  });

  it('takes a tagged Pod to mean its application: the owning Deployment through its ReplicaSet', function () {
    const fromPod = names(applicationClosure(shop({ pod: true })));
    const fromDeployment = names(applicationClosure(shop({ deployment: true })));
    assert.deepEqual(fromPod, fromDeployment);
  });

  it('follows a Job up to its CronJob and brings the CronJob template needs', function () {
    const cron = obj('batch/v1', 'CronJob', 'report', 'ops', {
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'r', envFrom: [{ configMapRef: { name: 'report-config' } }] }] } } } } },
    });
    const job = obj('batch/v1', 'Job', 'report-2911', 'ops', { owner: cron });
    const pod = obj('v1', 'Pod', 'report-2911-abc', 'ops', { owner: job, annotations: TAG, spec: {} });
    const picked = applicationClosure([cron, job, pod, obj('v1', 'ConfigMap', 'report-config', 'ops')]);
    assert.deepEqual(names(picked), ['ConfigMap ops/report-config', 'CronJob ops/report', 'Job ops/report-2911', 'Pod ops/report-2911-abc']);
  });

  it('brings the claims a StatefulSet made from its templates, by the <template>-<name>-<ordinal> naming only', function () {
    const picked = names(applicationClosure(shop({ sts: true })));
    assert.deepEqual(picked, ['PersistentVolumeClaim shop/data-db-0', 'PersistentVolumeClaim shop/data-db-1', 'Pod shop/db-0', 'Secret shop/db-creds', 'Service shop/db', 'StatefulSet shop/db']);
  });

  it('brings everything in a tagged Namespace and nothing from other namespaces', function () {
    const objects = [obj('v1', 'Namespace', 'shop', undefined, { annotations: TAG }), obj('v1', 'Namespace', 'elsewhere'), ...shop()];
    const picked = applicationClosure(objects);
    assert.equal(picked.filter((o) => o.metadata.namespace === 'elsewhere').length, 0);
    assert.equal(picked.length, objects.filter((o) => o.metadata.namespace === 'shop').length + 1);
  });

  it('brings a tagged PersistentVolumeClaim and nothing else', function () {
    const objects = shop();
    objects.find((o) => o.metadata.name === 'uploads')!.metadata.annotations = TAG;
    assert.deepEqual(names(applicationClosure(objects)), ['PersistentVolumeClaim shop/uploads']);
  });

  it('brings a ServiceAccount’s RoleBindings and their Roles, not bindings of other accounts', function () {
    const sa = obj('v1', 'ServiceAccount', 'api', 'shop', { annotations: TAG, imagePullSecrets: [{ name: 'registry' }] });
    const objects = [
      sa,
      obj('v1', 'Secret', 'registry', 'shop'),
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'reader', 'shop', { roleRef: { kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'api' }] }),
      obj('rbac.authorization.k8s.io/v1', 'Role', 'reader', 'shop'),
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'other', 'shop', { roleRef: { kind: 'Role', name: 'writer' }, subjects: [{ kind: 'ServiceAccount', name: 'api', namespace: 'billing' }] }),
      obj('rbac.authorization.k8s.io/v1', 'Role', 'writer', 'shop'),
    ];
    assert.deepEqual(names(applicationClosure(objects)), ['Role shop/reader', 'RoleBinding shop/reader', 'Secret shop/registry', 'ServiceAccount shop/api']);
  });

  it('never takes an object annotated "false", and reaches nothing through it', function () {
    const objects = shop({ deployment: true });
    objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'api-keys')!.metadata.annotations = { 'lifeboat.dev/backup': 'false' };
    objects.find((o) => o.kind === 'Service' && o.metadata.name === 'api')!.metadata.annotations = { 'lifeboat.dev/backup': 'false' };
    const picked = names(applicationClosure(objects, { isExcluded: (o) => exclusionReason(o, new Set()) !== undefined }));
    assert.ok(!picked.includes('Secret shop/api-keys'));
    assert.ok(!picked.includes('Service shop/api'));
    // The Ingress came only through the excluded Service.
    assert.ok(!picked.includes('Ingress shop/shop'));
    assert.ok(picked.includes('Secret shop/api-certs'));
  });

  it('takes a controller’s pods without what admission added to them, and never the namespace’s default account', function () {
    const deploy = obj('apps/v1', 'Deployment', 'web', 'shop', { annotations: TAG, spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [] } } } });
    const rs = obj('apps/v1', 'ReplicaSet', 'web-1', 'shop', { owner: deploy, spec: { template: deploy.spec.template } });
    const pod = obj('v1', 'Pod', 'web-1-a', 'shop', {
      owner: rs,
      spec: { serviceAccountName: 'default', volumes: [{ name: 'kube-api-access', projected: { sources: [{ configMap: { name: 'injected' } }] } }] },
    });
    const objects = [deploy, rs, pod, obj('v1', 'ConfigMap', 'injected', 'shop'), obj('v1', 'ServiceAccount', 'default', 'shop')];
    assert.deepEqual(names(applicationClosure(objects)), ['Deployment shop/web', 'Pod shop/web-1-a', 'ReplicaSet shop/web-1']);
    const bare = obj('v1', 'Pod', 'debug', 'shop', { annotations: TAG, spec: { serviceAccountName: 'default' } });
    assert.deepEqual(names(applicationClosure([bare, obj('v1', 'ServiceAccount', 'default', 'shop')])), ['Pod shop/debug']);
  });

  it('starts from nothing when nothing is tagged', function () {
    assert.deepEqual(applicationClosure(shop()), []);
  });

  it('reads every kind of reference out of a pod spec, leaving out an unset service account', function () {
    const refs = podSpecReferences(shop()[0].spec.template.spec);
    assert.deepEqual(refs.configMaps.sort(), ['api-config', 'api-env', 'api-flags', 'ca-bundle']);
    assert.deepEqual(refs.secrets.sort(), ['api-certs', 'api-keys', 'client-cert', 'migrate-creds', 'not-there', 'registry']);
    assert.deepEqual(refs.claims, ['uploads']);
    assert.equal(refs.serviceAccount, 'api');
    assert.equal(podSpecReferences({ containers: [] }).serviceAccount, undefined);
  });
});
