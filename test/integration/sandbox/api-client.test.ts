/**
 * The sandbox API server as @kubernetes/client-node sees it: selectors,
 * paging and expired continue tokens, watch resume and expiry, optimistic
 * concurrency, validation errors with causes, dry run, patches and
 * server-side apply conflicts, subresources, garbage collection and
 * namespace deletion.
 */
import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import WebSocket from 'ws';
import type { ExecRequest } from '../../sandbox/contract';
import { startTestCluster, type TestCluster } from '../../sandbox/apiserver/harness';

type Obj = k8s.KubernetesObject & Record<string, any>;

function status(e: unknown): any {
  const err = e as k8s.ApiException<any>;
  assert.ok(err && typeof err.code === 'number', `expected an API error, got ${String(e)}`);
  return typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
}

async function rejects(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return status(e);
  }
  assert.fail('expected the request to fail');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const deployment = (name: string, ns: string, image = 'nginx:1.25'): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns, labels: { app: name } },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } } },
});

describe('sandbox API server with @kubernetes/client-node', function () {
  this.timeout(120_000);
  let c: TestCluster;
  let kc: k8s.KubeConfig;
  let objects: k8s.KubernetesObjectApi;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  before(async () => {
    c = await startTestCluster();
    kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    for (const ns of ['lists', 'writes', 'gc', 'doomed']) await core.createNamespace({ body: { metadata: { name: ns } } });
  });
  after(async () => {
    await c?.stop();
  });

  it('filters lists by equality and set-based label selectors and by field selectors', async () => {
    const make = (name: string, labels: Record<string, string>): Promise<unknown> => core.createNamespacedConfigMap({ namespace: 'lists', body: { metadata: { name, labels } } });
    await make('a', { tier: 'web', env: 'prod' });
    await make('b', { tier: 'db', env: 'prod' });
    await make('c', { tier: 'web' });
    const names = async (q: { labelSelector?: string; fieldSelector?: string }): Promise<string[]> => (await core.listNamespacedConfigMap({ namespace: 'lists', ...q })).items.map((i) => i.metadata!.name!);
    assert.deepEqual(await names({ labelSelector: 'tier=web' }), ['a', 'c']);
    assert.deepEqual(await names({ labelSelector: 'tier in (web,db),env' }), ['a', 'b']);
    // kube-root-ca.crt, which every namespace holds, has no env label either.
    assert.deepEqual(await names({ labelSelector: 'env notin (prod)' }), ['c', 'kube-root-ca.crt']);
    assert.deepEqual(await names({ labelSelector: 'tier,!env' }), ['c']);
    assert.deepEqual(await names({ labelSelector: 'tier!=web' }), ['b', 'kube-root-ca.crt']);
    assert.deepEqual(await names({ fieldSelector: 'metadata.name=b' }), ['b']);
    assert.deepEqual(await names({ fieldSelector: 'metadata.name!=b,metadata.namespace=lists' }), ['a', 'c', 'kube-root-ca.crt']);
    const bad = await rejects(core.listNamespacedConfigMap({ namespace: 'lists', fieldSelector: 'data.x=1' }));
    assert.equal(bad.code, 400);
    assert.equal(bad.reason, 'BadRequest');
    assert.equal(bad.message, 'field label not supported: data.x');
    await core.createNamespacedPod({ namespace: 'lists', body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    assert.equal((await core.listNamespacedPod({ namespace: 'lists', fieldSelector: 'status.phase=Pending' })).items.length, 1);
    assert.equal((await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n1' })).items.length, 0);
  });

  it('pages with limit and continue, and answers 410 Gone for a continue token older than the last compaction', async () => {
    for (let i = 0; i < 7; i++) await core.createNamespacedSecret({ namespace: 'lists', body: { metadata: { name: `s${i}` }, stringData: { k: 'v' } } });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedSecret({ namespace: 'lists', limit: 3, _continue: token });
      seen.push(...page.items.map((i) => i.metadata!.name!));
      token = page.metadata?._continue;
      pages++;
      if (token) assert.equal(typeof page.metadata?.remainingItemCount, 'number');
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['s0', 's1', 's2', 's3', 's4', 's5', 's6']);
    const first = await core.listNamespacedSecret({ namespace: 'lists', limit: 2 });
    await core.createNamespacedConfigMap({ namespace: 'lists', body: { metadata: { name: 'after-first-page' } } });
    await c.server.compact();
    const gone = await rejects(core.listNamespacedSecret({ namespace: 'lists', limit: 2, _continue: first.metadata!._continue }));
    assert.equal(gone.code, 410);
    assert.equal(gone.reason, 'Expired');
    assert.match(gone.message, /^The provided continue parameter is too old to display a consistent list result\./);
    assert.ok(gone.metadata.continue, 'a fresh token to continue inconsistently');
  });

  it('replays watch events after a resourceVersion and reports an expired one as 410', async () => {
    const start = await core.listNamespacedConfigMap({ namespace: 'writes' });
    const rv = start.metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({ namespace: 'writes', body: { metadata: { name: 'w1' }, data: { a: '1' } } });
    await core.patchNamespacedConfigMap({ namespace: 'writes', name: 'w1', body: { data: { a: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core.deleteNamespacedConfigMap({ namespace: 'writes', name: 'w1' });
    const events: string[] = [];
    const watch = new k8s.Watch(kc);
    const ctl = await watch.watch('/api/v1/namespaces/writes/configmaps', { resourceVersion: rv }, (type, obj) => events.push(`${type} ${obj.metadata.name} ${obj.data?.a ?? ''}`), () => undefined);
    await until('three replayed events', async () => events.length >= 3);
    ctl.abort();
    assert.deepEqual(events, ['ADDED w1 1', 'MODIFIED w1 2', 'DELETED w1 2']);

    await c.server.compact();
    const errors: any[] = [];
    const ctl2 = await watch.watch('/api/v1/namespaces/writes/configmaps', { resourceVersion: rv }, (type, obj) => type === 'ERROR' && errors.push(obj), () => undefined);
    await until('the expiry error', async () => errors.length > 0);
    ctl2.abort();
    assert.equal(errors[0].code, 410);
    assert.equal(errors[0].reason, 'Expired');
    assert.match(errors[0].message, /^too old resource version: \d+ \(\d+\)$/);
  });

  it('rejects an update with a stale resourceVersion with the real Conflict', async () => {
    const created = (await objects.create(deployment('api', 'writes'))) as Obj;
    const stale = JSON.parse(JSON.stringify(created)) as Obj;
    created.spec.replicas = 2;
    await objects.replace(created);
    stale.spec.replicas = 5;
    const st = await rejects(objects.replace(stale));
    assert.equal(st.code, 409);
    assert.equal(st.reason, 'Conflict');
    assert.equal(st.message, 'Operation cannot be fulfilled on deployments.apps "api": the object has been modified; please apply your changes to the latest version and try again');
    assert.deepEqual(st.details, { name: 'api', group: 'apps', kind: 'deployments' });
  });

  it('reports validation failures as Invalid with causes, and immutable fields', async () => {
    const bad = deployment('broken', 'writes');
    delete bad.spec.selector;
    bad.spec.template.spec.containers[0].image = '';
    const st = await rejects(objects.create(bad));
    assert.equal(st.code, 422);
    assert.equal(st.reason, 'Invalid');
    assert.equal(st.message, 'Deployment.apps "broken" is invalid: [spec.selector: Required value, spec.template.spec.containers[0].image: Required value]');
    assert.deepEqual(st.details.causes, [
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' },
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' },
    ]);
    const live = (await objects.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'writes' } })) as Obj;
    live.spec.selector = { matchLabels: { app: 'other' } };
    live.spec.template.metadata.labels = { app: 'other' };
    const imm = await rejects(objects.replace(live));
    assert.match(imm.message, /^Deployment\.apps "api" is invalid: spec\.selector: Invalid value: .*: field is immutable$/);
    const pod = await core.createNamespacedPod({ namespace: 'writes', body: { metadata: { name: 'imm' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } } });
    pod.spec!.containers[0].image = 'busybox:1.37';
    const bound = await core.replaceNamespacedPod({ namespace: 'writes', name: 'imm', body: { ...pod, spec: { ...pod.spec!, nodeName: 'node-1' } } });
    assert.deepEqual([bound.spec!.containers[0].image, bound.spec!.nodeName], ['busybox:1.37', 'node-1'], 'images may change and a pod binds once');
    bound.spec!.restartPolicy = 'Never';
    const podErr = await rejects(core.replaceNamespacedPod({ namespace: 'writes', name: 'imm', body: bound }));
    assert.match(podErr.message, /^Pod "imm" is invalid: spec: Forbidden: pod updates may not change fields other than `spec\.containers\[\*\]\.image`/);
    const svc = await core.createNamespacedService({ namespace: 'writes', body: { metadata: { name: 'svc' }, spec: { selector: { app: 'api' }, ports: [{ port: 80 }] } } });
    assert.match(svc.spec!.clusterIP!, /^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
    svc.spec!.clusterIP = '10.96.99.99';
    svc.spec!.clusterIPs = ['10.96.99.99'];
    const ipErr = await rejects(core.replaceNamespacedService({ namespace: 'writes', name: 'svc', body: svc }));
    assert.equal(ipErr.reason, 'Invalid');
    assert.ok(ipErr.details.causes.some((x: any) => x.field === 'spec.clusterIP' && /field is immutable/.test(x.message)));
  });

  it('applies defaults on dryRun=All and stores nothing', async () => {
    const dry = (await objects.create(deployment('dry', 'writes'), undefined, 'All')) as Obj;
    assert.equal(dry.spec.strategy.type, 'RollingUpdate');
    assert.equal(dry.spec.strategy.rollingUpdate.maxSurge, '25%');
    assert.equal(dry.spec.revisionHistoryLimit, 10);
    assert.equal(dry.spec.progressDeadlineSeconds, 600);
    const c0 = dry.spec.template.spec.containers[0];
    assert.deepEqual([c0.imagePullPolicy, c0.terminationMessagePath, dry.spec.template.spec.dnsPolicy, dry.spec.template.spec.restartPolicy], ['IfNotPresent', '/dev/termination-log', 'ClusterFirst', 'Always']);
    assert.ok(dry.metadata?.uid && dry.metadata?.creationTimestamp);
    assert.equal(dry.metadata?.generation, 1);
    const gone = await rejects(objects.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'dry', namespace: 'writes' } }));
    assert.equal(gone.code, 404);
    assert.equal(gone.message, 'deployments.apps "dry" not found');
    const svc = (await objects.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'drysvc', namespace: 'writes' }, spec: { ports: [{ port: 80 }] } } as Obj, undefined, 'All')) as Obj;
    assert.deepEqual([svc.spec.type, svc.spec.sessionAffinity, svc.spec.ipFamilies, svc.spec.ports[0].protocol, svc.spec.ports[0].targetPort], ['ClusterIP', 'None', ['IPv4'], 'TCP', 80]);
    assert.equal((await core.listNamespacedService({ namespace: 'writes' })).items.filter((s) => s.metadata!.name === 'drysvc').length, 0);
  });

  it('merges strategic patches by name and reports server-side apply conflicts unless forced', async () => {
    await objects.create(deployment('smp', 'writes'), undefined, undefined, 'creator');
    const patched = (await objects.patch(
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'smp', namespace: 'writes' }, spec: { template: { spec: { containers: [{ name: 'side', image: 'busybox' }, { name: 'main', image: 'nginx:1.26' }] } } } } as Obj,
      undefined, undefined, 'test', undefined, k8s.PatchStrategy.StrategicMergePatch,
    )) as Obj;
    assert.deepEqual(patched.spec.template.spec.containers.map((x: any) => `${x.name}=${x.image}`), ['main=nginx:1.26', 'side=busybox']);
    // client-node's typed serializer drops `$patch`, so the directive goes through kubectl.
    const del = await c.kubectl(['patch', 'deploy', 'smp', '-n', 'writes', '-p', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } })]);
    assert.equal(del.code, 0, del.stderr);
    const removed = (await objects.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'smp', namespace: 'writes' } })) as Obj;
    assert.deepEqual(removed.spec.template.spec.containers.map((x: any) => x.name), ['main']);

    const applied = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'smp', namespace: 'writes' }, spec: { replicas: 4 } } as Obj;
    const st = await rejects(objects.patch(applied, undefined, undefined, 'ops', false, k8s.PatchStrategy.ServerSideApply));
    assert.equal(st.code, 409);
    assert.equal(st.message, 'Apply failed with 1 conflict: conflict with "creator" using apps/v1: .spec.replicas');
    assert.deepEqual(st.details.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "creator" using apps/v1', field: '.spec.replicas' }]);
    const forced = (await objects.patch(applied, undefined, undefined, 'ops', true, k8s.PatchStrategy.ServerSideApply)) as Obj;
    assert.equal(forced.spec.replicas, 4);
    const owners = forced.metadata!.managedFields!.map((m: any) => `${m.manager}/${m.operation}`);
    assert.ok(owners.includes('ops/Apply'), owners.join(','));
  });

  it('reads and writes the scale and status subresources', async () => {
    const scale = await apps.readNamespacedDeploymentScale({ namespace: 'writes', name: 'api' });
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.status!.selector, 'app=api');
    await apps.replaceNamespacedDeploymentScale({ namespace: 'writes', name: 'api', body: { ...scale, spec: { replicas: 6 } } });
    assert.equal((await apps.readNamespacedDeployment({ namespace: 'writes', name: 'api' })).spec!.replicas, 6);
    const dep = await apps.readNamespacedDeployment({ namespace: 'writes', name: 'api' });
    dep.status = { replicas: 6, readyReplicas: 6, observedGeneration: dep.metadata!.generation };
    await apps.replaceNamespacedDeploymentStatus({ namespace: 'writes', name: 'api', body: dep });
    const after = await apps.readNamespacedDeployment({ namespace: 'writes', name: 'api' });
    assert.equal(after.status!.readyReplicas, 6);
    after.status = { replicas: 0 };
    after.metadata!.labels = { ...(after.metadata!.labels ?? {}), touched: 'yes' };
    await apps.replaceNamespacedDeployment({ namespace: 'writes', name: 'api', body: after });
    const again = await apps.readNamespacedDeployment({ namespace: 'writes', name: 'api' });
    assert.equal(again.status!.readyReplicas, 6, 'a main-resource update leaves status alone');
    assert.equal(again.metadata!.labels!.touched, 'yes');
  });

  it('collects dependents after Background and Foreground deletion and orphans them on Orphan', async () => {
    const owner = async (name: string): Promise<Obj> => (await objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'gc' } } as Obj)) as Obj;
    const dependent = (name: string, o: Obj): Promise<unknown> =>
      objects.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'gc', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: o.metadata!.name!, uid: o.metadata!.uid! }] } } as Obj);
    const exists = async (name: string): Promise<boolean> => (await core.listNamespacedSecret({ namespace: 'gc', fieldSelector: `metadata.name=${name}` })).items.length > 0;
    const bg = await owner('bg');
    await dependent('bg-dep', bg);
    await core.deleteNamespacedConfigMap({ namespace: 'gc', name: 'bg', propagationPolicy: 'Background' });
    await until('background GC', async () => !(await exists('bg-dep')));

    const fg = await owner('fg');
    await dependent('fg-dep', fg);
    await core.deleteNamespacedConfigMap({ namespace: 'gc', name: 'fg', propagationPolicy: 'Foreground' });
    await until('foreground GC', async () => !(await exists('fg-dep')) && (await core.listNamespacedConfigMap({ namespace: 'gc', fieldSelector: 'metadata.name=fg' })).items.length === 0);

    const or = await owner('or');
    await dependent('or-dep', or);
    await core.deleteNamespacedConfigMap({ namespace: 'gc', name: 'or', propagationPolicy: 'Orphan' });
    await until('orphaning', async () => (await core.listNamespacedConfigMap({ namespace: 'gc', fieldSelector: 'metadata.name=or' })).items.length === 0);
    const orphan = await core.readNamespacedSecret({ namespace: 'gc', name: 'or-dep' });
    assert.equal(orphan.metadata!.ownerReferences, undefined);
  });

  it('empties and removes a deleted namespace, refusing new content while it terminates', async () => {
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    await core.createNamespacedSecret({ namespace: 'doomed', body: { metadata: { name: 'plain' } } });
    await core.deleteNamespace({ name: 'doomed' });
    const ns = await core.readNamespace({ name: 'doomed' });
    assert.equal(ns.status!.phase, 'Terminating');
    assert.ok(ns.metadata!.deletionTimestamp);
    const st = await rejects(core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'late' } } }));
    assert.equal(st.code, 403);
    assert.equal(st.message, 'configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated');
    await until('the plain secret to go', async () => (await core.listNamespacedSecret({ namespace: 'doomed' })).items.length === 0);
    assert.ok((await core.readNamespace({ name: 'doomed' })).metadata!.deletionTimestamp, 'held by the finalizer');
    await core.patchNamespacedConfigMap({ namespace: 'doomed', name: 'held', body: [{ op: 'remove', path: '/metadata/finalizers' }] }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch));
    await until('the namespace to go', async () => !(await core.listNamespace()).items.some((n) => n.metadata!.name === 'doomed'));
    const nf = await rejects(core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'x' } } }));
    assert.equal(nf.message, 'namespaces "doomed" not found');
    const forbidden = await rejects(core.deleteNamespace({ name: 'default' }));
    assert.equal(forbidden.message, 'namespaces "default" is forbidden: this namespace may not be deleted');
  });

  it('hands pods/exec to the exec handler only after authentication, authorization and the pod check', async () => {
    const seen: ExecRequest[] = [];
    const wss = new WebSocket.Server({ noServer: true });
    c.server.setExecHandler((request, req, socket, head) => {
      seen.push(request);
      wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000, 'done'));
    });
    await core.createNamespacedPod({ namespace: 'writes', body: { metadata: { name: 'shell' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } } });
    const open = (pod: string, token: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const url = `${c.server.url.replace('https', 'wss')}/api/v1/namespaces/writes/pods/${pod}/exec?command=tar&command=cf&command=-&stdout=true&stderr=true`;
        const ws = new WebSocket(url, ['v5.channel.k8s.io'], { ca: c.pki.caCert, headers: { authorization: `Bearer ${token}` } });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('close', () => resolve(101));
        ws.on('error', reject);
      });
    assert.equal(await open('shell', 'wrong'), 401);
    assert.equal(await open('shell', c.tokens.restricted), 403);
    assert.equal(await open('ghost', c.tokens.admin), 404);
    assert.equal(seen.length, 0);
    assert.equal(await open('shell', c.tokens.admin), 101);
    assert.deepEqual(seen, [{ namespace: 'writes', pod: 'shell', container: 'main', command: ['tar', 'cf', '-'], stdin: false, stdout: true, stderr: true, tty: false }]);
    wss.close();
  });

  it('prunes, defaults and validates custom resources by their CRD schema', async () => {
    // Through kubectl: client-node's typed CRD model does not carry schema defaults.
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer' }, mode: { type: 'string', default: 'fast', enum: ['fast', 'slow'] } } } } } } }],
      },
    };
    const made = await c.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(crd) });
    assert.equal(made.code, 0, made.stderr);
    const g = (await objects.create({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g1', namespace: 'writes' }, spec: { size: 3, bogus: true } } as Obj)) as Obj;
    assert.deepEqual(g.spec, { size: 3, mode: 'fast' });
    const st = await rejects(objects.create({ apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g2', namespace: 'writes' }, spec: { size: 'big' } } as Obj));
    assert.equal(st.reason, 'Invalid');
    assert.equal(st.message, 'Gadget.example.com "g2" is invalid: spec.size: Invalid value: "string": spec.size in body must be of type integer: "string"');
  });
});
