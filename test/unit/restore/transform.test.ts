import { strict as assert } from 'node:assert';
import type { KObject } from '../../../src/engine/kube/types';
import { BUILTIN_PROFILES, parseProfile } from '../../../src/engine/restore/profile';
import { mapImage, mapNamespace, transform, type TransformEnv } from '../../../src/engine/restore/transform';
import { MASKED_SECRET_ANNOTATION, type RestoreProfile } from '../../../src/engine/restore/types';
import { obj } from '../capture/objects';

/** A target holding the given objects. */
function targetOf(...objects: KObject[]): TransformEnv & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async getTarget(apiVersion, kind, namespace, name) {
      asked.push(`${kind} ${namespace}/${name}`);
      return objects.find((o) => o.apiVersion === apiVersion && o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name);
    },
  };
}
const empty = targetOf();

const profile = (yaml: string): RestoreProfile => parseProfile(yaml, 'test');
const run = (o: KObject, p: RestoreProfile, env: TransformEnv = empty) => transform(o, o, p, env);
const b64 = (s: string) => Buffer.from(s).toString('base64');

function deployment(name = 'web', namespace = 'shop', extra: Partial<KObject> = {}): KObject {
  return obj('apps/v1', 'Deployment', name, namespace, {
    spec: {
      replicas: 3,
      template: {
        metadata: { labels: { app: name }, annotations: { 'iam.gke.io/gcp-service-account': 'sa@p.iam', keep: 'me' } },
        spec: {
          nodeSelector: { pool: 'big' },
          affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'zone', namespaces: ['shop', 'other'] }] } },
          tolerations: [{ key: 'dedicated', operator: 'Exists' }],
          initContainers: [{ name: 'init', image: 'registry.prod.example.com/tools/init:1' }],
          containers: [
            { name: 'app', image: 'registry.prod.example.com/shop/web:2.1' },
            { name: 'proxy', image: 'nginx:1.27' },
          ],
        },
      },
    },
    ...extra,
  });
}

describe('restore transform', function () {
  it('changes nothing under dr, and never changes its inputs', async function () {
    const d = deployment();
    const before = structuredClone(d);
    const out = await run(d, BUILTIN_PROFILES.dr);
    assert.deepEqual(out, { object: before, notes: [], warnings: [] });
    assert.notEqual(out.object, d);
    await run(d, BUILTIN_PROFILES.dev);
    assert.deepEqual(d, before);
  });

  describe('namespace mapping', function () {
    const p = profile('namespaceMapping: {shop: shop-dev, other: other-dev}');

    it('moves namespaced objects and leaves unmapped namespaces alone', async function () {
      const out = await run(obj('v1', 'ConfigMap', 'c', 'shop'), p);
      assert.equal(out.object!.metadata.namespace, 'shop-dev');
      assert.deepEqual(out.notes, ['namespace shop → shop-dev']);
      assert.equal((await run(obj('v1', 'ConfigMap', 'c', 'billing'), p)).object!.metadata.namespace, 'billing');
      assert.equal(mapNamespace(p, 'shop'), 'shop-dev');
      assert.equal(mapNamespace(p, 'billing'), 'billing');
      assert.equal(mapNamespace(p, undefined), undefined);
    });

    it('renames Namespace objects with their name label', async function () {
      const out = await run(obj('v1', 'Namespace', 'shop', undefined, { labels: { 'kubernetes.io/metadata.name': 'shop', team: 'a' } }), p);
      assert.equal(out.object!.metadata.name, 'shop-dev');
      assert.deepEqual(out.object!.metadata.labels, { 'kubernetes.io/metadata.name': 'shop-dev', team: 'a' });
    });

    it('follows ServiceAccount subjects of role bindings, not users or groups', async function () {
      const subjects = [
        { kind: 'ServiceAccount', name: 'ci', namespace: 'shop' },
        { kind: 'ServiceAccount', name: 'x', namespace: 'kube-system' },
        { kind: 'Group', name: 'devs', apiGroup: 'rbac.authorization.k8s.io' },
      ];
      for (const kind of ['RoleBinding', 'ClusterRoleBinding']) {
        const out = await run(obj('rbac.authorization.k8s.io/v1', kind, 'b', kind === 'RoleBinding' ? 'shop' : undefined, { subjects: structuredClone(subjects) }), p);
        assert.deepEqual(
          out.object!.subjects.map((s: { namespace?: string }) => s.namespace),
          ['shop-dev', 'kube-system', undefined],
        );
        assert.ok(out.notes.includes('subject ServiceAccount shop/ci → shop-dev/ci'));
      }
    });

    it("follows a PV's claim, NetworkPolicy namespace selectors, pod affinity namespaces, ExternalName aliases and webhook services", async function () {
      const pv = await run(obj('v1', 'PersistentVolume', 'nfs', undefined, { spec: { claimRef: { namespace: 'shop', name: 'data' } } }), p);
      assert.deepEqual(pv.object!.spec.claimRef, { namespace: 'shop-dev', name: 'data' });
      const np = await run(
        obj('networking.k8s.io/v1', 'NetworkPolicy', 'allow', 'shop', {
          spec: {
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } } }] }],
            egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['shop', 'billing'] }] } }] }],
          },
        }),
        p,
      );
      assert.equal(np.object!.spec.ingress[0].from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'], 'other-dev');
      assert.deepEqual(np.object!.spec.egress[0].to[0].namespaceSelector.matchExpressions[0].values, ['shop-dev', 'billing']);
      const d = await run(deployment(), p);
      assert.deepEqual(d.object!.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaces, ['shop-dev', 'other-dev']);
      const alias = await run(obj('v1', 'Service', 'db', 'billing', { spec: { type: 'ExternalName', externalName: 'db.shop.svc.cluster.local' } }), p);
      assert.equal(alias.object!.spec.externalName, 'db.shop-dev.svc.cluster.local');
      const outside = await run(obj('v1', 'Service', 'ext', 'shop', { spec: { type: 'ExternalName', externalName: 'db.shop.example.com' } }), p);
      assert.equal(outside.object!.spec.externalName, 'db.shop.example.com');
      const hook = await run(obj('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'v', undefined, { webhooks: [{ name: 'w', clientConfig: { service: { namespace: 'shop', name: 'hook' } } }] }), p);
      assert.equal(hook.object!.webhooks[0].clientConfig.service.namespace, 'shop-dev');
    });
  });

  it('maps storage classes of PVCs, PVs and claim templates, also in the beta annotation', async function () {
    const p = profile('storageClassMapping: {gp3: standard}');
    const pvc = await run(obj('v1', 'PersistentVolumeClaim', 'data', 'shop', { annotations: { 'volume.beta.kubernetes.io/storage-class': 'gp3' }, spec: { storageClassName: 'gp3' } }), p);
    assert.equal(pvc.object!.spec.storageClassName, 'standard');
    assert.equal(pvc.object!.metadata.annotations!['volume.beta.kubernetes.io/storage-class'], 'standard');
    assert.deepEqual(pvc.notes, ['storage class gp3 → standard']);
    const pv = await run(obj('v1', 'PersistentVolume', 'pv', undefined, { spec: { storageClassName: 'gp3' } }), p);
    assert.equal(pv.object!.spec.storageClassName, 'standard');
    const sts = await run(obj('apps/v1', 'StatefulSet', 'db', 'shop', { spec: { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { storageClassName: 'gp3' } }, { metadata: { name: 'logs' }, spec: { storageClassName: 'io2' } }] } }), p);
    assert.deepEqual(
      sts.object!.spec.volumeClaimTemplates.map((t: { spec: { storageClassName: string } }) => t.spec.storageClassName),
      ['standard', 'io2'],
    );
    assert.deepEqual(sts.notes, ['storage class gp3 → standard (claim template data)']);
  });

  it('maps ingress classes in the field and in the annotation', async function () {
    const p = profile('ingressClassMapping: {alb: nginx}');
    const a = await run(obj('networking.k8s.io/v1', 'Ingress', 'web', 'shop', { spec: { ingressClassName: 'alb' } }), p);
    assert.equal(a.object!.spec.ingressClassName, 'nginx');
    const b = await run(obj('networking.k8s.io/v1', 'Ingress', 'web', 'shop', { annotations: { 'kubernetes.io/ingress.class': 'alb' }, spec: {} }), p);
    assert.equal(b.object!.metadata.annotations!['kubernetes.io/ingress.class'], 'nginx');
    assert.deepEqual(b.notes, ['ingress class alb → nginx']);
  });

  describe('image registry mapping', function () {
    it('rewrites every container of pods and pod templates, the longest prefix winning', async function () {
      const p = profile('imageRegistryMapping: {"registry.prod.example.com/": "registry.dev.example.com/", "registry.prod.example.com/tools/": "tools.dev.example.com/", "docker.io/library/": "mirror.example.com/hub/"}');
      const d = await run(deployment(), p);
      const spec = d.object!.spec.template.spec;
      assert.equal(spec.initContainers[0].image, 'tools.dev.example.com/init:1');
      assert.equal(spec.containers[0].image, 'registry.dev.example.com/shop/web:2.1');
      assert.equal(spec.containers[1].image, 'mirror.example.com/hub/nginx:1.27');
      assert.ok(d.notes.includes('image registry.prod.example.com/shop/web:2.1 → registry.dev.example.com/shop/web:2.1 (container app)'));
      const pod = await run(obj('v1', 'Pod', 'p', 'shop', { spec: { containers: [{ name: 'a', image: 'registry.prod.example.com/a:1' }], ephemeralContainers: [{ name: 'dbg', image: 'registry.prod.example.com/dbg' }] } }), p);
      assert.equal(pod.object!.spec.ephemeralContainers[0].image, 'registry.dev.example.com/dbg');
      const cron = await run(obj('batch/v1', 'CronJob', 'c', 'shop', { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', image: 'registry.prod.example.com/job:3' }] } } } } } }), p);
      assert.equal(cron.object!.spec.jobTemplate.spec.template.spec.containers[0].image, 'registry.dev.example.com/job:3');
    });

    it('reads short Docker Hub names as docker.io ones, and leaves unmatched images as written', function () {
      assert.equal(mapImage('bitnami/redis:7', { 'docker.io/': 'hub.example.com/' }), 'hub.example.com/bitnami/redis:7');
      assert.equal(mapImage('redis', { 'docker.io/library/': 'hub.example.com/lib/' }), 'hub.example.com/lib/redis');
      assert.equal(mapImage('localhost:5000/app', { 'docker.io/': 'x/' }), undefined);
      assert.equal(mapImage('quay.io/app', { 'docker.io/': 'x/' }), undefined);
      assert.equal(mapImage('quay.io/app', undefined), undefined);
    });
  });

  describe('replicas', function () {
    const p = profile('namespaceMapping: {shop: shop-dev}\nreplicas: {default: 1, rules: [{match: {kind: StatefulSet, namespace: shop}, replicas: 0}]}');

    it('sets the default on Deployments, StatefulSets and ReplicaSets, and leaves DaemonSets', async function () {
      const d = await run(deployment(), p);
      assert.equal(d.object!.spec.replicas, 1);
      assert.ok(d.notes.includes('replicas 3 → 1'));
      const rs = await run(obj('apps/v1', 'ReplicaSet', 'r', 'shop', { spec: {} }), p);
      assert.equal(rs.object!.spec.replicas, 1);
      assert.ok(!rs.notes.some((n) => n.startsWith('replicas')), 'an absent count is already 1');
      const ds = await run(obj('apps/v1', 'DaemonSet', 'agent', 'shop', { spec: {} }), p);
      assert.equal(ds.object!.spec.replicas, undefined);
    });

    it('takes the first matching rule, matched against the source namespace', async function () {
      const sts = obj('apps/v1', 'StatefulSet', 'db', 'shop', { spec: { replicas: 3 } });
      const out = await run(sts, p);
      assert.equal(out.object!.metadata.namespace, 'shop-dev');
      assert.equal(out.object!.spec.replicas, 0);
      assert.ok(out.notes.includes('replicas 3 → 0'));
    });
  });

  it('drops node selectors, affinity and tolerations from pod templates when asked', async function () {
    const out = await run(deployment(), profile('dropNodeSelectors: true\ndropTolerations: true'));
    const spec = out.object!.spec.template.spec;
    assert.equal(spec.nodeSelector, undefined);
    assert.equal(spec.tolerations, undefined);
    assert.ok(spec.affinity);
    assert.deepEqual(out.notes, ['node selector removed', 'tolerations removed']);
  });

  it("drops cloud providers' annotations and the profile's globs, from objects and pod templates", async function () {
    const p = profile('dropCloudAnnotations: true\ndropAnnotations: ["example.com/*"]');
    const svc = await run(
      obj('v1', 'Service', 'web', 'shop', {
        annotations: {
          'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
          'cloud.google.com/neg': '{"ingress":true}',
          'example.com/owner': 'team-a',
          'prometheus.io/scrape': 'true',
        },
        spec: { ports: [{ port: 80 }] },
      }),
      p,
    );
    assert.deepEqual(svc.object!.metadata.annotations, { 'prometheus.io/scrape': 'true' });
    const sa = await run(obj('v1', 'ServiceAccount', 'app', 'shop', { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/x' } }), p);
    assert.equal(sa.object!.metadata.annotations, undefined);
    assert.deepEqual(sa.notes, ['annotation eks.amazonaws.com/role-arn removed']);
    const d = await run(deployment(), p);
    assert.deepEqual(d.object!.spec.template.metadata.annotations, { keep: 'me' });
    assert.deepEqual(d.notes, ['annotation iam.gke.io/gcp-service-account removed from the pod template']);
  });

  describe('Service types', function () {
    const lb = () =>
      obj('v1', 'Service', 'web', 'shop', {
        spec: {
          type: 'LoadBalancer',
          ports: [{ port: 80, nodePort: 30080 }],
          loadBalancerIP: '1.2.3.4',
          loadBalancerSourceRanges: ['10.0.0.0/8'],
          loadBalancerClass: 'service.k8s.aws/nlb',
          allocateLoadBalancerNodePorts: true,
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 31000,
          selector: { app: 'web' },
        },
      });

    it('turns a LoadBalancer into a ClusterIP without node ports or load balancer settings', async function () {
      const out = await run(lb(), profile('serviceTypes: {LoadBalancer: ClusterIP}'));
      assert.deepEqual(out.object!.spec, { type: 'ClusterIP', ports: [{ port: 80 }], selector: { app: 'web' } });
      assert.deepEqual(out.notes, ['Service type LoadBalancer → ClusterIP']);
    });

    it('keeps node ports and the traffic policy when a LoadBalancer becomes a NodePort', async function () {
      const out = await run(lb(), profile('serviceTypes: {LoadBalancer: NodePort}'));
      assert.deepEqual(out.object!.spec, { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }], externalTrafficPolicy: 'Local', selector: { app: 'web' } });
    });

    it('reads a Service without a type as ClusterIP, and leaves types the profile does not name', async function () {
      const plain = obj('v1', 'Service', 'db', 'shop', { spec: { ports: [{ port: 5432 }] } });
      assert.deepEqual((await run(plain, BUILTIN_PROFILES.dev)).object!.spec, { ports: [{ port: 5432 }] });
      const np = obj('v1', 'Service', 'np', 'shop', { spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30001 }] } });
      assert.deepEqual((await run(np, BUILTIN_PROFILES.dev)).object!.spec, { type: 'ClusterIP', ports: [{ port: 80 }] });
    });
  });

  describe('Secrets', function () {
    const secret = (name = 'db', namespace = 'shop', extra: Partial<KObject> = {}) =>
      obj('v1', 'Secret', name, namespace, { type: 'Opaque', data: { password: b64('hunter2-secret'), user: b64('admin') }, stringData: { token: 'abc123' }, ...extra });

    it('are copied as captured by default', async function () {
      const s = secret();
      assert.deepEqual((await run(s, BUILTIN_PROFILES.dr)).object, s);
    });

    it('are dropped under mode skip', async function () {
      const out = await run(secret(), profile('secrets: {mode: skip}'));
      assert.equal(out.object, undefined);
      assert.match(out.dropped!, /mode skip/);
    });

    it('get placeholders of the same length under mode placeholder, stringData folded in, marked, and no value in the notes', async function () {
      const out = await run(secret(), BUILTIN_PROFILES.dev);
      const o = out.object!;
      assert.deepEqual(Object.keys(o.data).sort(), ['password', 'token', 'user']);
      assert.equal(o.stringData, undefined);
      const decoded = Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
      assert.equal(decoded.password.length, 'hunter2-secret'.length);
      assert.equal(decoded.user.length, 5);
      assert.equal(decoded.token.length, 6);
      assert.notEqual(decoded.password, 'hunter2-secret');
      assert.notEqual(decoded.token, 'abc123');
      assert.match(decoded.password, /^[A-Za-z0-9]+$/);
      assert.equal(o.metadata.annotations![MASKED_SECRET_ANNOTATION], 'true');
      assert.deepEqual(out.notes, ['Secret all values replaced by placeholders']);
      const text = JSON.stringify([out.notes, out.warnings]);
      for (const v of ['hunter2', b64('hunter2-secret'), 'abc123', decoded.password]) assert.ok(!text.includes(v));
    });

    it('keep the placeholders already on the target, so a re-run changes nothing', async function () {
      const first = (await run(secret('db', 'shop'), BUILTIN_PROFILES.dev)).object!;
      const second = await run(secret('db', 'shop'), BUILTIN_PROFILES.dev, targetOf(first));
      assert.deepEqual(second.object!.data, first.data);
      assert.match(second.notes[0], /already on the target kept/);
      // Not reused when the target's Secret is not one of ours, or its keys differ.
      const unmarked = structuredClone(first);
      delete unmarked.metadata.annotations![MASKED_SECRET_ANNOTATION];
      assert.notDeepEqual((await run(secret(), BUILTIN_PROFILES.dev, targetOf(unmarked))).object!.data, first.data);
      const fewer = structuredClone(first);
      delete fewer.data.user;
      assert.notDeepEqual((await run(secret(), BUILTIN_PROFILES.dev, targetOf(fewer))).object!.data.password, first.data.password);
    });

    it('look for earlier placeholders in the mapped namespace', async function () {
      const env = targetOf();
      await run(secret(), profile('namespaceMapping: {shop: shop-dev}\nsecrets: {mode: placeholder}'), env);
      assert.deepEqual(env.asked, ['Secret shop-dev/db']);
    });

    it('leave a Secret without values as it is', async function () {
      const s = obj('v1', 'Secret', 'empty', 'shop', { type: 'Opaque' });
      assert.deepEqual((await run(s, BUILTIN_PROFILES.dev)).object, s);
    });

    it('keep registry credentials valid JSON, as the API server checks them', async function () {
      const s = obj('v1', 'Secret', 'pull', 'shop', { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64('{"auths":{"r.example.com":{"auth":"eDp5"}}}') } });
      const out = await run(s, BUILTIN_PROFILES.dev);
      assert.deepEqual(JSON.parse(Buffer.from(out.object!.data['.dockerconfigjson'], 'base64').toString()), { auths: {} });
    });

    it('take values from a named Secret on the target, placeholders for keys it lacks', async function () {
      const vault = obj('v1', 'Secret', 'db-dev', 'vault', { data: { password: b64('dev-password') } });
      const p = profile('secrets: {mode: copy, rules: [{match: {name: db}, mode: fromSecret, from: {name: db-dev, namespace: vault}}]}');
      const out = await run(secret(), p, targetOf(vault));
      assert.equal(out.object!.data.password, b64('dev-password'));
      assert.equal(Buffer.from(out.object!.data.user, 'base64').length, 5);
      assert.notEqual(out.object!.data.user, b64('admin'));
      assert.ok(out.notes.includes('Secret values taken from Secret vault/db-dev on the target'));
      assert.ok(out.notes.includes('Secret values of user, token replaced by placeholders'));
      assert.deepEqual(out.warnings, ['Secret shop/db: Secret vault/db-dev has no user, token; placeholders used']);
      // Other Secrets follow the default mode.
      assert.deepEqual((await run(secret('other'), p, targetOf(vault))).object!.data, secret('other').data);
    });

    it('fall back to placeholders with a warning when the named Secret is not on the target', async function () {
      const out = await run(secret(), profile('secrets: {mode: fromSecret, from: {name: shared}}'));
      assert.deepEqual(out.warnings, ['Secret shop/db: Secret shop/shared to take values from is not on the target; placeholders used instead']);
      assert.equal(out.object!.metadata.annotations![MASKED_SECRET_ANNOTATION], 'true');
      assert.notEqual(out.object!.data.password, b64('hunter2-secret'));
    });

    it('unmark a Secret whose values all come from the named Secret', async function () {
      const src = secret('db', 'shop', { annotations: { [MASKED_SECRET_ANNOTATION]: 'true' }, data: { password: b64('x') }, stringData: undefined });
      const from = obj('v1', 'Secret', 'real', 'shop', { data: { password: b64('real') } });
      const out = await run(src, profile('secrets: {mode: fromSecret, from: {name: real}}'), targetOf(from));
      assert.equal(out.object!.metadata.annotations?.[MASKED_SECRET_ANNOTATION], undefined);
    });
  });

  describe('patches', function () {
    it('apply JSON patch then merge patch, last, on the mapped object, to what the rule matches in the source', async function () {
      const p = profile(`
namespaceMapping: {shop: shop-dev}
replicas: {default: 1}
patches:
  - match: {kind: Deployment, namespace: shop, name: web}
    jsonPatch:
      - {op: test, path: /metadata/namespace, value: shop-dev}
      - {op: replace, path: /spec/replicas, value: 2}
      - {op: add, path: /metadata/labels, value: {}}
      - {op: add, path: /metadata/labels/env, value: dev}
    mergePatch: {metadata: {labels: {tier: front}}, spec: {template: {spec: {nodeSelector: null}}}}
  - match: {name: api}
    mergePatch: {metadata: {labels: {never: here}}}
`);
      const out = await run(deployment(), p);
      assert.equal(out.object!.spec.replicas, 2);
      assert.deepEqual(out.object!.metadata.labels, { env: 'dev', tier: 'front' });
      assert.equal(out.object!.spec.template.spec.nodeSelector, undefined);
      assert.deepEqual(out.notes.slice(-1), ['patch rule 0 applied']);
      assert.deepEqual(out.warnings, []);
    });

    it('skip a rule whose test fails, silently and whole', async function () {
      const p = profile('patches: [{jsonPatch: [{op: test, path: /spec/replicas, value: 5}], mergePatch: {metadata: {labels: {x: y}}}}]');
      const d = deployment();
      const out = await run(d, p);
      assert.deepEqual(out.object, d);
      assert.deepEqual(out.warnings, []);
      assert.deepEqual(out.notes, []);
    });

    it('warn, naming the rule and the object, when a patch cannot be applied, and go on with the next rule', async function () {
      const p = profile(`
patches:
  - jsonPatch: [{op: remove, path: /spec/missing}]
  - jsonPatch: [{op: remove, path: /metadata/name}]
  - mergePatch: {metadata: {labels: {ok: "yes"}}}
`);
      const out = await run(deployment(), p);
      assert.deepEqual(out.warnings, [
        'patch rule 0 on Deployment shop/web not applied: operation 0 (remove /spec/missing): the path does not exist',
        'patch rule 1 on Deployment shop/web not applied: the result has no apiVersion, kind or metadata.name',
      ]);
      assert.deepEqual(out.object!.metadata.labels, { ok: 'yes' });
      assert.equal(out.object!.metadata.name, 'web');
    });
  });

  it('makes a development copy under dev: one replica, ClusterIP, no scheduling constraints or cloud annotations', async function () {
    const out = await run(deployment(), BUILTIN_PROFILES.dev);
    const o = out.object!;
    assert.equal(o.spec.replicas, 1);
    const spec = o.spec.template.spec;
    assert.equal(spec.nodeSelector ?? spec.affinity ?? spec.tolerations, undefined);
    assert.deepEqual(o.spec.template.metadata.annotations, { keep: 'me' });
    assert.deepEqual(out.notes, ['replicas 3 → 1', 'node selector removed', 'affinity removed', 'tolerations removed', 'annotation iam.gke.io/gcp-service-account removed from the pod template']);
  });
});
