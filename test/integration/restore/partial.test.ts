/**
 * Acceptance: planning against a target that already holds part of the
 * application, as a user who may not write everything. On sandbox-dev,
 * `shop-dev` holds some of shop's objects as they are in the snapshot, some
 * changed (one where the server allows no change in place), and the
 * `restricted` user may write every kind there but Services. Its plan
 * classifies each object, shows the change of what differs, and holds no
 * Secret value.
 */
import { strict as assert } from 'node:assert';
import type { KObject, KubeClient } from '../../../src/engine/kube/types';
import { planRestore } from '../../../src/engine/restore';
import type { PlanAction, RestorePlan, RestoreRequest } from '../../../src/engine/restore/types';
import { cliOk, parseJson } from '../../support/proc';
import { capture, keyOf, normalise, restorableObjects, secretValues, startRestoreBed, type RestoreBed } from './bed';

const NS = 'shop-dev';

/** What restricted may do on dev: write every kind shop has in shop-dev but Services, and apply its Namespace and the CRD. */
function restrictedGrants(): KObject[] {
  const rbac = 'rbac.authorization.k8s.io/v1';
  const writer = ['get', 'list', 'watch', 'create', 'patch', 'update'];
  return [
    {
      apiVersion: rbac,
      kind: 'Role',
      metadata: { name: 'restore-all-but-services', namespace: NS },
      rules: [
        { apiGroups: [''], resources: ['configmaps', 'secrets', 'serviceaccounts', 'persistentvolumeclaims'], verbs: writer },
        { apiGroups: ['apps'], resources: ['deployments', 'statefulsets'], verbs: writer },
        { apiGroups: ['batch'], resources: ['cronjobs'], verbs: writer },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: writer },
        { apiGroups: ['shop.example.com'], resources: ['backuppolicies'], verbs: writer },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...writer, 'escalate', 'bind'] },
      ],
    },
    {
      apiVersion: rbac,
      kind: 'RoleBinding',
      metadata: { name: 'restore-all-but-services', namespace: NS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'restore-all-but-services' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'restricted' }],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRole',
      metadata: { name: 'restore-shop-dev' },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], resourceNames: [NS], verbs: ['get', 'patch'] },
        { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: ['backuppolicies.shop.example.com'], verbs: ['get', 'patch'] },
      ],
    },
    {
      apiVersion: rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'restore-shop-dev' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'restore-shop-dev' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'restricted' }],
    },
  ];
}

async function createOn(kube: KubeClient, obj: KObject): Promise<void> {
  await kube.create((await kube.resourceFor(obj.apiVersion, obj.kind))!, obj);
}

describe('restore acceptance: plan against a partly restored target as a restricted user', function () {
  this.timeout(300_000);
  let bed: RestoreBed;
  let snapshot: string;
  let request: RestoreRequest;
  let plan: RestorePlan;
  /** Values of prod's Secrets and of the changed Secret put on dev: none may appear in a plan. */
  let secrets: string[];

  before(async () => {
    bed = await startRestoreBed('partial');
    snapshot = await capture(bed, ['shop'], false);
    const prod = new Map((await restorableObjects(bed.prodKube, 'shop')).map((o) => [keyOf(o), o]));
    const dev = bed.devKube!;
    const copy = (key: string, change?: (o: KObject) => void): Promise<void> => {
      const o = normalise(prod.get(key)!, { namespace: NS });
      change?.(o);
      return createOn(dev, o);
    };

    const crd = await bed.prodKube.get((await bed.prodKube.resourceFor('apiextensions.k8s.io/v1', 'CustomResourceDefinition'))!, 'backuppolicies.shop.example.com');
    await createOn(dev, normalise({ ...crd!, apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' }));
    const shopNs = await bed.prodKube.get((await bed.prodKube.resourceFor('v1', 'Namespace'))!, 'shop');
    await createOn(dev, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { ...shopNs!.metadata.labels, 'kubernetes.io/metadata.name': NS } } });
    // As in the snapshot:
    await copy('ConfigMap/api-config');
    await copy('ServiceAccount/api');
    await copy('Secret/db-credentials');
    await copy('Service/api');
    // Changed:
    await copy('ConfigMap/web-nginx', (o) => (o.data['default.conf'] = o.data['default.conf'].replace('listen 8080;', 'listen 9090;')));
    // Changed where the server allows no change in place: a claim's access modes.
    await copy('PersistentVolumeClaim/data-db-0', (o) => {
      o.spec.accessModes = ['ReadWriteMany'];
      delete o.spec.volumeName;
    });
    const devKey = Buffer.from('sk_test_a-development-key-that-is-long').toString('base64');
    await copy('Secret/api-keys', (o) => (o.data.PAYMENT_API_KEY = devKey));
    for (const grant of restrictedGrants()) await createOn(dev, grant);

    secrets = [...(await secretValues(bed.prodKube, 'shop')), devKey, Buffer.from(devKey, 'base64').toString()];
    request = { snapshot, kubeconfig: bed.sandbox.kubeconfigPath, context: 'sandbox-dev-restricted', profile: 'dr', namespaceMapping: { shop: NS }, selection: { volumes: false } };
    plan = await planRestore(request, { repo: bed.repo, documents: true });
  });
  after(async () => {
    await bed?.stop();
  });

  it('classifies every object: unchanged, update, conflict, create, or forbidden', async () => {
    const known: Record<string, PlanAction> = {
      'CustomResourceDefinition/backuppolicies.shop.example.com': 'unchanged',
      [`Namespace/${NS}`]: 'unchanged',
      'ConfigMap/api-config': 'unchanged',
      'ServiceAccount/api': 'unchanged',
      'ServiceAccount/default': 'unchanged',
      'Secret/db-credentials': 'unchanged',
      'ConfigMap/web-nginx': 'update',
      'Secret/api-keys': 'update',
      'PersistentVolumeClaim/data-db-0': 'conflict',
      'Service/api': 'forbidden',
      'Service/db': 'forbidden',
      'Service/web': 'forbidden',
    };
    // Anything else is created where restricted may write its kind, and forbidden where not (StorageClasses, ControllerRevisions…).
    const writable = new Set(restrictedGrants().flatMap((g) => (g.rules ?? []).flatMap((r: { resources: string[] }) => r.resources)));
    const actual = Object.fromEntries(plan.items.map((i) => [`${i.kind}/${i.name}`, i.action]));
    const expected: Record<string, PlanAction> = {};
    await bed.devKube!.discover({ refresh: true }); // the CRD was created after the first discovery
    for (const i of plan.items) {
      const served = await bed.devKube!.resourceFor(i.group ? `${i.group}/${i.version}` : i.version, i.kind);
      expected[`${i.kind}/${i.name}`] = known[`${i.kind}/${i.name}`] ?? (served && writable.has(served.resource) ? 'create' : 'forbidden');
    }
    for (const k of Object.keys(known)) if (k !== 'ServiceAccount/default') assert.ok(k in actual, `the plan has ${k}`);
    assert.deepEqual(actual, expected);
    for (const k of ['Deployment/api', 'Deployment/web', 'StatefulSet/db', 'ConfigMap/db-tuning', 'Secret/shop-tls', 'BackupPolicy/db-nightly']) assert.equal(actual[k], 'create', k);
    assert.ok(plan.items.every((i) => !i.namespace || i.namespace === NS), 'everything lands in shop-dev');
    const counts = Object.fromEntries(Object.entries(plan.counts).filter(([, n]) => n > 0));
    const tally: Record<string, number> = {};
    for (const i of plan.items) tally[i.action] = (tally[i.action] ?? 0) + 1;
    assert.deepEqual(counts, tally);
    assert.deepEqual(plan.target, { ...plan.target, context: 'sandbox-dev-restricted', production: false });
  });

  it('gives the server\'s reason for what the user may not write and for what cannot change in place', () => {
    const svc = plan.items.find((i) => i.kind === 'Service' && i.name === 'web')!;
    assert.match(svc.message ?? '', /User "restricted" cannot \w+ resource "services"/);
    const claim = plan.items.find((i) => i.kind === 'PersistentVolumeClaim' && i.name === 'data-db-0')!;
    assert.match(claim.message ?? '', /spec is immutable/);
  });

  it('shows the change of the changed ConfigMap, and nothing for unchanged objects', () => {
    const diff = plan.items.find((i) => i.kind === 'ConfigMap' && i.name === 'web-nginx')!.diff.split('\n');
    assert.ok(diff.some((l) => l.startsWith('-') && l.includes('listen 9090;')), diff.join('\n'));
    assert.ok(diff.some((l) => l.startsWith('+') && l.includes('listen 8080;')), diff.join('\n'));
    assert.ok(!diff.some((l) => /^[-+]\s/.test(l) && l.includes('try_files')), 'unchanged lines are context, not changes');
    for (const i of plan.items.filter((x) => x.action === 'unchanged')) assert.equal(i.diff, '', `${i.kind}/${i.name} has no diff`);
    const created = plan.items.find((i) => i.kind === 'ConfigMap' && i.name === 'db-tuning')!.diff.split('\n').filter((l) => /^[-+ ]/.test(l) && !/^(\+\+\+|---) /.test(l));
    assert.ok(created.length > 0 && created.every((l) => l.startsWith('+')), 'a create adds every line');
  });

  it('says that a Secret value changed without showing any value, in diffs and documents alike', () => {
    const keys = plan.items.find((i) => i.kind === 'Secret' && i.name === 'api-keys')!;
    assert.match(keys.diff, /PAYMENT_API_KEY.*<redacted: changed>/);
    assert.ok(keys.live && keys.desired, 'documents were asked for');
    const json = JSON.stringify(plan);
    assert.ok(secrets.length >= 8, 'there are Secret values to look for');
    const leaked = secrets.filter((s) => json.includes(s));
    assert.equal(leaked.length, 0, `${leaked.length} Secret value(s) appear in the plan`);
  });

  it('prints the same classification with lifeboat plan --output json, without Secret values', async () => {
    const out = await cliOk(
      ['plan', snapshot.slice(0, 12), '--to', 'sandbox-dev-restricted', '--profile', 'dr', '--namespace-mapping', `shop:${NS}`, '--no-volumes', '--output', 'json', '--repo', bed.repoDir],
      { env: { KUBECONFIG: bed.sandbox.kubeconfigPath, LIFEBOAT_PASSWORD: bed.passphrase }, timeoutMs: 120_000 },
    );
    const printed = parseJson<RestorePlan>(out);
    assert.deepEqual(
      printed.items.map((i) => `${i.kind}/${i.name}=${i.action}`),
      plan.items.map((i) => `${i.kind}/${i.name}=${i.action}`),
    );
    assert.equal(secrets.filter((s) => out.stdout.includes(s) || out.stderr.includes(s)).length, 0, 'no Secret value is printed');
  });
});
