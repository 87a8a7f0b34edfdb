/**
 * What a capture selects from a real (sandbox) cluster over HTTPS, checked
 * against what kubectl lists from the same cluster, and against the tagged
 * application written out by hand from the seed.
 */
import { strict as assert } from 'node:assert';
import { select } from '../../../src/engine/capture/select';
import type { CaptureScope, Selection } from '../../../src/engine/capture/types';
import { KubeApiError, openKubeClient, type KObject, type KubeClient } from '../../../src/engine/kube';
import type { JobProgress } from '../../../src/engine/progress';
import { CancelledError } from '../../../src/engine/progress';
import { startSandbox, type Sandbox } from '../../sandbox';
import { runOk } from '../../support/proc';

/** "Deployment shop/api", "Namespace shop": kinds do not repeat across groups among what a capture keeps here. */
const keyOf = (o: KObject): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
const keys = (s: Selection): string[] => s.objects.map((x) => keyOf(x.object));
const sorted = (a: string[]): string[] => [...a].sort();

describe('capture selection from a sandbox cluster', function () {
  this.timeout(180_000);
  let sandbox: Sandbox;
  let admin: KubeClient;
  let restricted: KubeClient;

  before(async () => {
    sandbox = await startSandbox({ clusters: ['prod'] });
    admin = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod' });
    restricted = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod-restricted' });
  });
  after(async () => {
    admin?.close();
    restricted?.close();
    await sandbox?.stop();
  });

  async function kubectl(args: string[], input?: string): Promise<string> {
    return (await runOk('kubectl', ['--kubeconfig', sandbox.kubeconfigPath, '--context', 'sandbox-prod', ...args], { input, timeoutMs: 60_000 })).stdout;
  }

  async function kubectlJson(args: string[]): Promise<KObject[]> {
    return JSON.parse(await kubectl([...args, '-o', 'json'])).items as KObject[];
  }

  /**
   * What a namespace capture should hold, worked out from kubectl alone:
   * every listable namespaced resource, less the skip rules, plus the
   * cluster-scoped objects the kept ones need.
   */
  async function expectedForNamespace(namespace: string, selector?: string): Promise<string[]> {
    const names = (await kubectl(['api-resources', '--namespaced=true', '--verbs=list', '-o', 'name'])).trim().split('\n');
    const rebuiltResources = new Set(['events', 'events.events.k8s.io', 'endpoints', 'endpointslices.discovery.k8s.io', 'leases.coordination.k8s.io']);
    const listed = await kubectlJson(['get', names.filter((n) => !rebuiltResources.has(n)).join(','), '-n', namespace, ...(selector ? ['-l', selector] : [])]);
    const wanted = listed.filter(
      (o) =>
        !(o.kind === 'Secret' && o.type === 'kubernetes.io/service-account-token') &&
        !(o.kind === 'ConfigMap' && o.metadata.name === 'kube-root-ca.crt') &&
        o.metadata.labels?.['velero.io/exclude-from-backup'] !== 'true' &&
        o.metadata.annotations?.['lifeboat.dev/backup'] !== 'false',
    );
    const uids = new Set(wanted.map((o) => o.metadata.uid));
    const kept = wanted.filter((o) => !(['Pod', 'ReplicaSet'].includes(o.kind) && o.metadata.ownerReferences?.some((r) => r.controller && uids.has(r.uid))));

    const related = new Set<string>([`Namespace ${namespace}`]);
    const pvs = await kubectlJson(['get', 'persistentvolumes']);
    for (const pvc of kept.filter((o) => o.kind === 'PersistentVolumeClaim')) {
      const pv = pvs.find((p) => p.metadata.name === pvc.spec.volumeName);
      if (pv) related.add(`PersistentVolume ${pv.metadata.name}`);
      for (const sc of [pvc.spec.storageClassName, pv?.spec.storageClassName]) if (sc) related.add(`StorageClass ${sc}`);
    }
    for (const crd of await kubectlJson(['get', 'customresourcedefinitions'])) {
      if (kept.some((o) => o.apiVersion.startsWith(`${crd.spec.group}/`) && o.kind === crd.spec.names.kind)) related.add(`CustomResourceDefinition ${crd.metadata.name}`);
    }
    for (const rb of kept.filter((o) => o.kind === 'RoleBinding' && o.roleRef.kind === 'ClusterRole')) related.add(`ClusterRole ${rb.roleRef.name}`);
    const accounts = new Set(kept.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name));
    for (const crb of await kubectlJson(['get', 'clusterrolebindings'])) {
      const binds = (crb.subjects ?? []).some((s: { kind: string; name: string; namespace?: string }) => s.kind === 'ServiceAccount' && s.namespace === namespace && accounts.has(s.name));
      if (binds) {
        related.add(`ClusterRoleBinding ${crb.metadata.name}`);
        related.add(`ClusterRole ${crb.roleRef.name}`);
      }
    }
    return sorted([...kept.map(keyOf), ...related]);
  }

  async function volumeOf(namespace: string, claim: string): Promise<string> {
    return kubectl(['get', 'pvc', claim, '-n', namespace, '-o', 'jsonpath={.spec.volumeName}']);
  }

  it('selects from namespace shop what kubectl lists there, less what the cluster rebuilds, plus the cluster objects it needs', async () => {
    const progress: JobProgress[] = [];
    const selection = await select(admin, { namespaces: ['shop'] }, { onProgress: (p) => progress.push(p) });
    const expected = await expectedForNamespace('shop');
    assert.deepEqual(sorted(keys(selection)), expected);
    assert.deepEqual(selection.warnings, []);
    for (const k of ['Namespace shop', 'CustomResourceDefinition backuppolicies.shop.example.com', 'StorageClass standard', 'StatefulSet shop/db', 'BackupPolicy shop/uploads-hourly', 'ControllerRevision shop/']) {
      assert.ok(expected.some((e) => e.startsWith(k)), `${k} expected`);
    }
    assert.ok(!expected.some((e) => /^(Pod|ReplicaSet|Event|Endpoints|EndpointSlice) /.test(e)), 'rebuilt objects left out');

    const got = keys(selection);
    assert.equal(new Set(got).size, got.length, 'no object twice');
    const clusterScoped = selection.objects.filter((s) => !s.object.metadata.namespace).length;
    assert.ok(selection.objects.slice(0, clusterScoped).every((s) => !s.object.metadata.namespace), 'cluster-scoped objects first');
    const order = selection.objects.map((s) => [s.object.metadata.namespace ?? '', s.object.kind, s.object.metadata.name].join('\0'));
    assert.deepEqual(order, [...order].sort(), 'then by namespace, kind and name');

    // Kept exactly as the API returned it: status, managedFields, resourceVersion and all.
    const live = JSON.parse(await kubectl(['get', 'configmap', 'api-config', '-n', 'shop', '-o', 'json', '--show-managed-fields']));
    assert.deepEqual(selection.objects.find((s) => keyOf(s.object) === 'ConfigMap shop/api-config')?.object, live);
    assert.ok(!got.includes('ConfigMap shop/debug-scratch'), 'velero.io/exclude-from-backup=true is honoured');

    assert.deepEqual(
      selection.volumes.map((v) => [v.namespace, v.pvc, v.reason, v.volume?.metadata.name, v.pods.map((p) => p.metadata.name)]),
      [['shop', 'data-db-0', 'in-scope', await volumeOf('shop', 'data-db-0'), ['db-0']]],
    );
    assert.deepEqual(
      selection.hookPods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
      ['shop/db-0'],
    );
    assert.equal(progress[0].phase, 'discover');
    const last = progress[progress.length - 1];
    assert.equal(last.phase, 'resources');
    assert.ok(last.itemsTotal! > 20, `lists every namespaced resource (${last.itemsTotal})`);
    assert.equal(last.itemsDone, last.itemsTotal);
  });

  it('selects the tagged application: workloads, what they need, tagged custom resources and claims, and their cluster objects', async () => {
    const selection = await select(admin, { tagged: true });
    assert.deepEqual(
      sorted(keys(selection)),
      sorted([
        'CustomResourceDefinition backuppolicies.shop.example.com',
        'Namespace billing',
        'Namespace shop',
        `PersistentVolume ${await volumeOf('billing', 'invoices')}`,
        `PersistentVolume ${await volumeOf('shop', 'data-db-0')}`,
        'StorageClass standard',
        'PersistentVolumeClaim billing/invoices',
        'BackupPolicy shop/db-nightly',
        'ConfigMap shop/api-config',
        'ConfigMap shop/db-tuning',
        'Deployment shop/api',
        'Ingress shop/shop',
        'PersistentVolumeClaim shop/data-db-0',
        'Role shop/api-config-reader',
        'RoleBinding shop/api-config-reader',
        'Secret shop/api-keys',
        'Secret shop/db-credentials',
        'Secret shop/shop-tls',
        'Service shop/api',
        'Service shop/db',
        'ServiceAccount shop/api',
        'StatefulSet shop/db',
      ]),
    );
    assert.deepEqual(selection.warnings, []);
    assert.deepEqual(
      selection.volumes.map((v) => [v.namespace, v.pvc, v.reason, v.pods.map((p) => p.metadata.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '-*'))]),
      [
        ['billing', 'invoices', 'in-scope', ['invoicer-*']],
        ['shop', 'data-db-0', 'in-scope', ['db-0']],
      ],
    );
    assert.deepEqual(
      selection.hookPods.map((p) => p.metadata.name),
      ['db-0'],
    );
  });

  it('starts a tagged capture only from tagged objects the label selector matches', async () => {
    const selection = await select(admin, { tagged: true, selector: 'app.kubernetes.io/name=db' });
    assert.deepEqual(
      sorted(keys(selection)),
      sorted([
        'Namespace shop',
        `PersistentVolume ${await volumeOf('shop', 'data-db-0')}`,
        'StorageClass standard',
        'ConfigMap shop/db-tuning',
        'PersistentVolumeClaim shop/data-db-0',
        'Secret shop/db-credentials',
        'Service shop/db',
        'StatefulSet shop/db',
      ]),
    );
  });

  it('leaves out of a tagged capture what is annotated "false", labelled for Velero to exclude, or in a namespace annotated "false"', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Namespace
metadata: { name: tagcase }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: worker-env, namespace: tagcase }
data: { MODE: batch }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: worker-config, namespace: tagcase, annotations: { lifeboat.dev/backup: "false" } }
data: { config.yml: "x: 1" }
---
apiVersion: v1
kind: Secret
metadata: { name: worker-secret, namespace: tagcase, labels: { velero.io/exclude-from-backup: "true" } }
stringData: { token: not-a-real-token }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: worker, namespace: tagcase, annotations: { lifeboat.dev/backup: "true" } }
spec:
  replicas: 0
  selector: { matchLabels: { app: worker } }
  template:
    metadata: { labels: { app: worker } }
    spec:
      containers:
        - name: worker
          image: registry.example.com/worker:1.0
          envFrom: [{ configMapRef: { name: worker-env } }, { secretRef: { name: worker-secret } }]
          volumeMounts: [{ name: config, mountPath: /config }]
      volumes: [{ name: config, configMap: { name: worker-config } }]
---
apiVersion: v1
kind: Namespace
metadata: { name: scratch, annotations: { lifeboat.dev/backup: "false" } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: tagged-anyway, namespace: scratch, annotations: { lifeboat.dev/backup: "true" } }
data: { a: b }
`,
    );
    const got = keys(await select(admin, { tagged: true }));
    for (const k of ['Deployment tagcase/worker', 'ConfigMap tagcase/worker-env', 'Namespace tagcase']) assert.ok(got.includes(k), `${k} selected`);
    for (const k of ['ConfigMap tagcase/worker-config', 'Secret tagcase/worker-secret', 'ConfigMap scratch/tagged-anyway', 'Namespace scratch']) assert.ok(!got.includes(k), `${k} left out`);
    assert.equal(got.filter((k) => / tagcase\/| scratch\/|Namespace (tagcase|scratch)/.test(k)).length, 3);

    // The same holds for a capture of everything and of the namespace by name.
    const whole = keys(await select(admin, {}));
    assert.ok(!whole.some((k) => k.includes('scratch') || k === 'ConfigMap tagcase/worker-config' || k === 'Secret tagcase/worker-secret'));
    assert.ok(whole.includes('ConfigMap tagcase/worker-env'));
    const named = await select(admin, { namespaces: ['scratch'] });
    assert.deepEqual(keys(named), []);
    assert.deepEqual(named.warnings, ['namespace "scratch" is annotated lifeboat.dev/backup: "false": nothing captured from it']);
  });

  it('captures everything but Secrets as a user who may not read them, with a warning naming what was refused', async () => {
    const full = await select(admin, { namespaces: ['shop'] });
    const limited = await select(restricted, { namespaces: ['shop'] });
    assert.deepEqual(limited.warnings, ['cannot list secrets in namespace "shop" as this user (Forbidden): not captured']);
    assert.deepEqual(
      keys(limited),
      keys(full).filter((k) => !k.startsWith('Secret ')),
    );
    assert.deepEqual(
      limited.volumes.map((v) => v.pvc),
      ['data-db-0'],
    );

    const taggedFull = await select(admin, { tagged: true });
    const taggedLimited = await select(restricted, { tagged: true });
    assert.deepEqual(taggedLimited.warnings, ['cannot list secrets in any namespace as this user (Forbidden): not captured']);
    assert.deepEqual(
      keys(taggedLimited),
      keys(taggedFull).filter((k) => !k.startsWith('Secret ')),
    );
  });

  it('takes only the kinds named, in the namespaces matched by globs', async () => {
    const scope: CaptureScope = { namespaces: ['sh*', 'bill?ng'], includeKinds: ['deploy', 'ConfigMap', 'statefulsets.apps'] };
    const selection = await select(admin, scope);
    const expected: string[] = [];
    for (const ns of ['shop', 'billing']) {
      for (const o of await kubectlJson(['get', 'deployments,configmaps,statefulsets', '-n', ns])) {
        if (o.metadata.name !== 'kube-root-ca.crt' && o.metadata.labels?.['velero.io/exclude-from-backup'] !== 'true') expected.push(keyOf(o));
      }
    }
    assert.deepEqual(sorted(keys(selection)), sorted(expected));
    assert.ok(expected.includes('Deployment billing/invoicer') && expected.includes('StatefulSet shop/db'));
  });

  it('leaves out the kinds excluded, and still finds where a claim is mounted when pods are excluded', async () => {
    const all = await select(admin, { namespaces: ['shop'] });
    const selection = await select(admin, { namespaces: ['shop'], excludeKinds: ['Secret', 'pods', 'bp'] });
    assert.deepEqual(
      keys(selection),
      keys(all).filter((k) => !/^(Secret|Pod|BackupPolicy) /.test(k) && k !== 'CustomResourceDefinition backuppolicies.shop.example.com'),
    );
    assert.deepEqual(
      selection.volumes.map((v) => [v.pvc, v.pods.map((p) => p.metadata.name)]),
      [['data-db-0', ['db-0']]],
    );
    assert.deepEqual(selection.hookPods, [], 'no pod is in scope to run hooks in');
  });

  it('reads a claim a pod names in its backup-volumes annotation even when claims are outside the kinds, and warns about an unbound claim', async () => {
    const annotated = await select(admin, { namespaces: ['shop'], excludeKinds: ['pvc'] });
    assert.ok(!keys(annotated).some((k) => k.startsWith('PersistentVolumeClaim ')));
    assert.deepEqual(
      annotated.volumes.map((v) => [v.pvc, v.reason, v.volume?.metadata.name, v.pods.map((p) => p.metadata.name)]),
      [['data-db-0', 'annotated', await volumeOf('shop', 'data-db-0'), ['db-0']]],
    );

    await kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Namespace
metadata: { name: pending }
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: waiting, namespace: pending }
spec: { accessModes: [ReadWriteOnce], storageClassName: no-such-class, resources: { requests: { storage: 1Gi } } }
`,
    );
    const pending = await select(admin, { namespaces: ['pending'] });
    assert.ok(keys(pending).includes('PersistentVolumeClaim pending/waiting'));
    assert.deepEqual(pending.volumes, []);
    assert.deepEqual(pending.warnings, ['persistentvolumeclaim pending/waiting is Pending, not bound to a volume: its data is not captured']);
  });

  it('captures the whole cluster, cluster-scoped objects included, less the namespaces excluded by glob', async () => {
    const selection = await select(admin, { excludeNamespaces: ['kube-*', 'default', 'shop', 'tag*', 'pending'] });
    const got = keys(selection);
    assert.ok(!got.some((k) => / (kube-[^/]*|default|shop|tagcase)\//.test(k)), 'nothing from excluded namespaces');
    assert.ok(!got.some((k) => /^Namespace (kube-system|default|shop|tagcase)$/.test(k)), 'nor the excluded Namespace objects');
    for (const k of ['Namespace billing', 'Deployment billing/invoicer', 'ClusterRole cluster-admin', 'StorageClass standard']) assert.ok(got.includes(k), `${k} selected`);
    assert.ok(!got.some((k) => /^(Node|Event|Endpoints|EndpointSlice|Lease) /.test(k)), 'nothing the cluster rebuilds');
    assert.deepEqual(
      selection.volumes.map((v) => `${v.namespace}/${v.pvc}`),
      ['billing/invoices'],
    );
  });

  it('passes a label selector to the server and keeps what it matches', async () => {
    const selector = 'app.kubernetes.io/name=api';
    const selection = await select(admin, { namespaces: ['shop'], selector });
    assert.deepEqual(sorted(keys(selection)), await expectedForNamespace('shop', selector));
    assert.ok(keys(selection).includes('Deployment shop/api') && !keys(selection).includes('Deployment shop/web'));
  });

  it('refuses an unknown kind, naming it and the context, and suggesting what the cluster serves', async () => {
    await assert.rejects(select(admin, { namespaces: ['shop'], includeKinds: ['Deployment', 'deploymnet'] }), (err: Error) => {
      assert.match(err.message, /unknown kind "deploymnet"/);
      assert.match(err.message, /sandbox-prod/);
      assert.match(err.message, /did you mean deployments\.apps/);
      return true;
    });
    await assert.rejects(select(admin, { excludeKinds: ['backuppolicys'] }), /unknown kind "backuppolicys".*did you mean backuppolicies\.shop\.example\.com/);
  });

  it('fails naming the resource, namespace and context when a list fails for a reason other than permission', async () => {
    /*
     * FAULT INJECTION (a stand-in for what the sandbox cannot be made to do:
     * answer one list with a server error). Every call goes to the real
     * client, except listing configmaps, which fails as a 500 would.
     */
    const failing = new Proxy(admin, {
      get(target, prop) {
        if (prop === 'listAll') {
          return (r: Parameters<KubeClient['listAll']>[0], o: Parameters<KubeClient['listAll']>[1]) =>
            r.resource === 'configmaps'
              ? Promise.reject(new KubeApiError('Internal error occurred: etcdserver: request timed out', 500, 'InternalError', target.context))
              : target.listAll(r, o);
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await assert.rejects(select(failing, { namespaces: ['shop'] }), /cannot list configmaps in namespace "shop" on context sandbox-prod: Internal error occurred/);
  });

  it('refuses a malformed label selector before listing anything', async () => {
    await assert.rejects(select(admin, { namespaces: ['shop'], selector: 'app=web!' }), /label selector "app=web!": "web!" is not a valid label value/);
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(select(admin, {}, { signal: controller.signal }), CancelledError);
  });
});
