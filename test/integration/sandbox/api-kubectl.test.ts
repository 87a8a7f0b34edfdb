/**
 * The sandbox API server as the real kubectl (1.32) sees it: discovery,
 * tables, the real-world manifests, apply/diff/annotate/label/scale, watch,
 * RBAC for both users, and error messages as a real cluster prints them.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { startTestCluster, type TestCluster } from '../../sandbox/apiserver/harness';

const FIXTURES = resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'kubernetes-examples');

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

describe('sandbox API server with kubectl', function () {
  this.timeout(180_000);
  let c: TestCluster;

  before(async () => {
    c = await startTestCluster();
  });
  after(async () => {
    await c?.stop();
  });

  async function ok(args: string[], context: 'admin' | 'restricted' = 'admin'): Promise<string> {
    const r = await c.kubectl(args, { context });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  it('lists the built-in and snapshot resources with short names in api-resources', async () => {
    const out = await ok(['api-resources']);
    for (const line of [
      /^pods\s+po\s+v1\s+true\s+Pod$/m,
      /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m,
      /^persistentvolumeclaims\s+pvc\s+v1\s+true\s+PersistentVolumeClaim$/m,
      /^customresourcedefinitions\s+crd,crds\s+apiextensions.k8s.io\/v1\s+false\s+CustomResourceDefinition$/m,
      /^volumesnapshots\s+vs\s+snapshot.storage.k8s.io\/v1\s+true\s+VolumeSnapshot$/m,
      /^horizontalpodautoscalers\s+hpa\s+autoscaling\/v2\s+true\s+HorizontalPodAutoscaler$/m,
      /^cronjobs\s+cj\s+batch\/v1\s+true\s+CronJob$/m,
    ]) {
      assert.match(out, line);
    }
  });

  it('serves the bootstrap objects to get -A -o json', async () => {
    const list = JSON.parse(await ok(['get', 'namespaces,services,clusterroles', '-A', '-o', 'json']));
    const names = list.items.map((i: any) => `${i.kind}/${i.metadata.name}`);
    for (const n of ['Namespace/default', 'Namespace/kube-system', 'Namespace/kube-public', 'Namespace/kube-node-lease', 'Service/kubernetes', 'ClusterRole/cluster-admin']) {
      assert.ok(names.includes(n), `${n} missing from ${names.join(', ')}`);
    }
    const svc = list.items.find((i: any) => i.kind === 'Service');
    assert.equal(svc.spec.clusterIP, '10.96.0.1');
  });

  it('prints server-side tables with the real columns', async () => {
    await ok(['create', 'namespace', 'tables']);
    // kubectl's typed clients send protobuf bodies.
    await ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=2', '--port=80', '-n', 'tables']);
    await ok(['create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'tables']);
    await ok(['create', 'job', 'once', '--image=busybox', '-n', 'tables', '--', 'echo', 'hi']);
    const created = JSON.parse(await ok(['get', 'deploy', 'web', '-n', 'tables', '-o', 'json']));
    assert.deepEqual(created.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
    assert.equal(created.spec.replicas, 2);
    const job = JSON.parse(await ok(['get', 'job', 'once', '-n', 'tables', '-o', 'json']));
    assert.deepEqual(job.spec.template.spec.containers[0].command, ['echo', 'hi']);
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    assert.match(await ok(['get', 'svc', 'web', '-n', 'tables']), /^web\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s+\d+s$/m);
    assert.match(await ok(['get', 'jobs', '-n', 'tables']), /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$/m);
    const all = await ok(['get', 'all', '-n', 'tables']);
    assert.match(all, /^deployment\.apps\/web\s+0\/2\s+0\s+0\s+\d+s$/m);
    assert.match(all, /^service\/web\s+ClusterIP/m);
    const out = await ok(['get', 'deploy', '-n', 'tables']);
    assert.match(out, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
    assert.match(out, /^web\s+0\/2\s+0\s+0\s+\d+s$/m);
    const wide = await ok(['get', 'deploy', '-n', 'tables', '-o', 'wide']);
    assert.match(wide, /CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(wide, /^web\s+0\/2\s+0\s+0\s+\d+s\s+nginx\s+nginx:1\.25\s+app=web$/m);
    const ns = await ok(['get', 'ns', 'tables']);
    assert.match(ns, /^tables\s+Active\s+\d+s$/m);
  });

  it('creates, server-side applies and diffs every example manifest, failing only for kinds it does not serve', async function () {
    if (!existsSync(FIXTURES)) this.skip();
    const files = yamlFiles(FIXTURES);
    assert.ok(files.length > 10);
    let index = 0;
    for (const file of files) {
      index++;
      const ns = `fx${index}`;
      await ok(['create', 'namespace', ns]);
      // Every document goes to this file's own namespace, so files that share names do not collide.
      const docs = parseAllDocuments(readFileSync(file, 'utf8'))
        .map((d) => d.toJS())
        .filter((d) => d && typeof d === 'object');
      for (const d of docs) if (d.metadata?.namespace) d.metadata.namespace = ns;
      const local = join(c.dir, `fx${index}.yaml`);
      writeFileSync(local, docs.map((d) => stringify(d)).join('---\n'));
      const unserved = docs.filter((d) => d.apiVersion?.startsWith('monitoring.coreos.com/'));
      const where = relative(FIXTURES, file);

      const created = await c.kubectl(['create', '-n', ns, '-f', local]);
      const applied = await c.kubectl(['apply', '--server-side', '-n', ns, '-f', local]);
      const diffed = await c.kubectl(['diff', '-n', ns, '-f', local]);
      for (const [what, r] of [['create', created], ['apply --server-side', applied]] as const) {
        if (unserved.length === 0) {
          assert.equal(r.code, 0, `${what} ${where}: ${r.stderr}`);
          continue;
        }
        assert.notEqual(r.code, 0, `${what} ${where} should fail for ${unserved[0].kind}`);
        for (const u of unserved) {
          assert.ok(r.stderr.includes(`no matches for kind "${u.kind}" in version "${u.apiVersion}"`), `${what} ${where}: ${r.stderr}`);
        }
        assert.ok(r.stderr.includes('ensure CRDs are installed first'), r.stderr);
        // Only the unserved documents fail: no other error lines.
        const otherErrors = r.stderr.split('\n').filter((l) => l.trim() && !l.includes('no matches for kind') && !l.includes('ensure CRDs are installed first'));
        assert.deepEqual(otherErrors, [], `${what} ${where}`);
      }
      if (unserved.length === 0) assert.equal(diffed.code, 0, `diff ${where} should find nothing to change: ${diffed.stdout}${diffed.stderr}`);
    }
  });

  it('annotates, labels and scales, and diff exits 1 with the change', async () => {
    await ok(['create', 'namespace', 'edits']);
    const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'edits' }, spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'nginx:1.25' }] } } } };
    const file = join(c.dir, 'api.json');
    writeFileSync(file, JSON.stringify(dep));
    await ok(['apply', '-f', file]);
    assert.equal((await c.kubectl(['diff', '-f', file])).code, 0);
    await ok(['annotate', 'deploy', 'api', '-n', 'edits', 'lifeboat.dev/backup=true']);
    await ok(['label', 'deploy', 'api', '-n', 'edits', 'team=shop']);
    await ok(['scale', 'deploy', 'api', '-n', 'edits', '--replicas=3']);
    const live = JSON.parse(await ok(['get', 'deploy', 'api', '-n', 'edits', '-o', 'json']));
    assert.equal(live.metadata.annotations['lifeboat.dev/backup'], 'true');
    assert.equal(live.metadata.labels.team, 'shop');
    assert.equal(live.spec.replicas, 3);
    assert.equal(live.metadata.generation, 2, 'only the scale changed the spec');
    dep.spec.template.spec.containers[0].image = 'nginx:1.26';
    writeFileSync(file, JSON.stringify(dep));
    const d = await c.kubectl(['diff', '-f', file]);
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stdout, /^-\s+- image: nginx:1\.25$/m);
    assert.match(d.stdout, /^\+\s+- image: nginx:1\.26$/m);
    await ok(['apply', '-f', file]);
    const after = JSON.parse(await ok(['get', 'deploy', 'api', '-n', 'edits', '-o', 'json']));
    assert.equal(after.spec.template.spec.containers[0].image, 'nginx:1.26');
  });

  it('streams watch events to get -w', async () => {
    await ok(['create', 'namespace', 'watching']);
    const watcher = c.kubectl(['get', 'pods', '-n', 'watching', '-w', '--request-timeout=5s'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1500));
    await ok(['run', 'w1', '--image=nginx:1.25', '-n', 'watching']);
    await ok(['label', 'pod', 'w1', '-n', 'watching', 'seen=yes']);
    const r = await watcher;
    assert.match(r.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
    const rows = r.stdout.split('\n').filter((l) => l.startsWith('w1 '));
    assert.ok(rows.length >= 2, `expected the creation and the label change, got:\n${r.stdout}${r.stderr}`);
    assert.match(rows[0], /^w1\s+0\/1\s+Pending\s+0\s+\d+s$/);
  });

  it('answers auth can-i for both users and enforces RBAC with the real messages', async () => {
    await ok(['create', 'namespace', 'shop']);
    await ok(['create', 'secret', 'generic', 'db', '-n', 'shop', '--from-literal=password=x']);
    assert.equal((await ok(['auth', 'can-i', 'list', 'secrets', '-n', 'shop'])).trim(), 'yes');
    const no = await c.kubectl(['auth', 'can-i', 'list', 'secrets', '-n', 'shop'], { context: 'restricted' });
    assert.equal(no.stdout.trim(), 'no');
    assert.equal(no.code, 1);
    assert.equal((await ok(['auth', 'can-i', 'list', 'pods', '-n', 'shop'], 'restricted')).trim(), 'yes');
    assert.equal((await c.kubectl(['auth', 'can-i', 'create', 'pods', '-n', 'shop'], { context: 'restricted' })).stdout.trim(), 'no');
    const denied = await c.kubectl(['get', 'secrets', '-n', 'shop'], { context: 'restricted' });
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Error from server \(Forbidden\): secrets is forbidden: User "restricted" cannot list resource "secrets" in API group "" in the namespace "shop"/);
    const cluster = await c.kubectl(['get', 'secrets', '-A'], { context: 'restricted' });
    assert.match(cluster.stderr, /secrets is forbidden: User "restricted" cannot list resource "secrets" in API group "" at the cluster scope/);
    const asRestricted = await c.kubectl(['get', 'secrets', '-n', 'shop', '--as', 'restricted']);
    assert.match(asRestricted.stderr, /secrets is forbidden: User "restricted" cannot list resource "secrets" in API group "" in the namespace "shop"/);
    const escalate = await c.kubectl(['get', 'pods', '--as', 'admin'], { context: 'restricted' });
    assert.match(escalate.stderr, /users "admin" is forbidden: User "restricted" cannot impersonate resource "users" in API group "" at the cluster scope/);
    const write = await c.kubectl(['create', 'configmap', 'x', '-n', 'shop'], { context: 'restricted' });
    assert.match(write.stderr, /configmaps is forbidden: User "restricted" cannot create resource "configmaps" in API group "" in the namespace "shop"/);
    // A RoleBinding created now changes what restricted may do.
    await ok(['create', 'role', 'secret-reader', '--verb=get,list', '--resource=secrets', '-n', 'shop']);
    await ok(['create', 'rolebinding', 'restricted-secrets', '--role=secret-reader', '--user=restricted', '-n', 'shop']);
    assert.equal((await ok(['auth', 'can-i', 'list', 'secrets', '-n', 'shop'], 'restricted')).trim(), 'yes');
    assert.match(await ok(['get', 'secrets', '-n', 'shop'], 'restricted'), /^db\s+Opaque\s+1\s+\d+s$/m);
    assert.equal((await c.kubectl(['auth', 'can-i', 'list', 'secrets', '-n', 'default'], { context: 'restricted' })).stdout.trim(), 'no');
    const list = await ok(['auth', 'can-i', '--list', '-n', 'shop'], 'restricted');
    assert.match(list, /^secrets\s+\[\]\s+\[\]\s+\[get list\]$/m);
  });

  it('rejects an unknown token with 401 Unauthorized', async () => {
    const r = await c.kubectl(['get', 'pods', '--token', 'not-a-token']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /You must be logged in to the server \(Unauthorized\)|Unauthorized/);
  });

  it('prints NotFound, AlreadyExists and Invalid as a real cluster does', async () => {
    await ok(['create', 'namespace', 'errs']);
    const nf = await c.kubectl(['get', 'pod', 'ghost', '-n', 'errs']);
    assert.match(nf.stderr, /Error from server \(NotFound\): pods "ghost" not found/);
    const nsMissing = await c.kubectl(['create', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'nowhere' } }) });
    assert.match(nsMissing.stderr, /Error from server \(NotFound\): error when creating "STDIN": namespaces "nowhere" not found/);
    const dup = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dup', namespace: 'errs' } });
    await c.kubectl(['create', '-f', '-'], { stdin: dup });
    const ae = await c.kubectl(['create', '-f', '-'], { stdin: dup });
    assert.match(ae.stderr, /Error from server \(AlreadyExists\): error when creating "STDIN": configmaps "dup" already exists/);
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: 'errs' }, spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'x', image: 'nginx' }] } } } };
    const inv = await c.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(bad) });
    assert.match(inv.stderr, /The Deployment "x" is invalid: spec.selector: Required value/);
    const typo = await c.kubectl(['create', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'typo', namespace: 'errs' }, dta: { a: 'b' } }) });
    assert.match(typo.stderr, /ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"/);
    const name = await c.kubectl(['create', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name', namespace: 'errs' } }) });
    assert.match(name.stderr, /The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/);
  });

  it('serves a new CRD kind within a second, with Established status and printer columns', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }, additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }] }],
      },
    };
    await ok(['create', 'namespace', 'crs']);
    const started = Date.now();
    const r = await c.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(crd) });
    assert.equal(r.code, 0, r.stderr);
    const w = await c.kubectl(['create', '-n', 'crs', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } }) });
    assert.equal(w.code, 0, w.stderr);
    assert.ok(Date.now() - started < 5000);
    assert.match(await ok(['get', 'wd', '-n', 'crs']), /^NAME\s+SIZE$/m);
    await c.server.settled();
    assert.match(await ok(['get', 'widgets', '-n', 'crs'], 'restricted'), /^w1\s+3$/m, 'restricted reads the new group too');
    const status = JSON.parse(await ok(['get', 'crd', 'widgets.example.com', '-o', 'json'])).status;
    const conds = Object.fromEntries(status.conditions.map((x: any) => [x.type, x.status]));
    assert.deepEqual({ Established: conds.Established, NamesAccepted: conds.NamesAccepted }, { Established: 'True', NamesAccepted: 'True' });
    assert.match(await ok(['api-resources', '--api-group=example.com']), /^widgets\s+wd\s+example.com\/v1\s+true\s+Widget$/m);
  });

  it('issues ServiceAccount tokens that authenticate until the ServiceAccount goes', async () => {
    await ok(['create', 'namespace', 'bots']);
    await ok(['create', 'serviceaccount', 'bot', '-n', 'bots']);
    const token = (await ok(['create', 'token', 'bot', '-n', 'bots', '--duration=20m'])).trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(await ok(['auth', 'whoami', '--token', token]), /Username\s+system:serviceaccount:bots:bot/);
    const denied = await c.kubectl(['get', 'pods', '-n', 'bots', '--token', token]);
    assert.match(denied.stderr, /pods is forbidden: User "system:serviceaccount:bots:bot" cannot list resource "pods" in API group "" in the namespace "bots"/);
    await ok(['create', 'rolebinding', 'bot-view', '--clusterrole=sandbox:read-all-but-secrets', '--serviceaccount=bots:bot', '-n', 'bots']);
    assert.equal((await c.kubectl(['get', 'pods', '-n', 'bots', '--token', token])).code, 0);
    await ok(['delete', 'serviceaccount', 'bot', '-n', 'bots']);
    const gone = await c.kubectl(['get', 'pods', '-n', 'bots', '--token', token]);
    assert.match(gone.stderr, /Unauthorized/);
  });
});
