/**
 * The cluster client against sandbox clusters over HTTPS: discovery,
 * paged lists, writes of every patch type, errors that name the context,
 * and pod exec over the WebSocket channel protocol.
 */
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { stringify } from 'yaml';
import { openKubeClient, listContexts, KubeApiError, KubeUnreachableError, type ApiResource, type KObject, type KubeClient, type WatchEventType } from '../../../src/engine/kube';
import { run, waitFor } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';

describe('cluster client', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let admin: KubeClient;
  let restricted: KubeClient;
  let configmaps: ApiResource;
  let secrets: ApiResource;
  let tmp: string;
  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', sandbox.kubeconfigPath, ...args], { timeoutMs: 60_000 });

  before(async () => {
    sandbox = await startSandbox({ clusters: ['prod'] });
    admin = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod' });
    restricted = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod-restricted' });
    configmaps = (await admin.resourceFor('v1', 'ConfigMap'))!;
    secrets = (await admin.resourceFor('v1', 'Secret'))!;
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-kube-test-'));
  });

  after(async () => {
    admin?.close();
    restricted?.close();
    await sandbox?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  describe('discovery', () => {
    it('lists core, apps and custom resources at their preferred versions, without subresources', async () => {
      const all = await admin.discover();
      const find = (group: string, resource: string) => all.find((r) => r.group === group && r.resource === resource);
      assert.deepEqual(
        { ...find('', 'configmaps'), verbs: undefined, shortNames: undefined },
        { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: undefined, shortNames: undefined },
      );
      assert.equal(find('apps', 'deployments')?.kind, 'Deployment');
      assert.equal(find('apps', 'deployments')?.version, 'v1');
      assert.equal(find('shop.example.com', 'backuppolicies')?.kind, 'BackupPolicy');
      assert.equal(find('', 'namespaces')?.namespaced, false);
      assert.ok(!all.some((r) => r.resource.includes('/')), 'subresources are left out');
    });

    it('finds the resource for an apiVersion and kind, and nothing for a kind the cluster does not serve', async () => {
      const deploy = await admin.resourceFor('apps/v1', 'Deployment');
      assert.equal(deploy?.resource, 'deployments');
      assert.equal(await admin.resourceFor('apps/v1', 'Nonesuch'), undefined);
      assert.equal(await admin.resourceFor('nonesuch.example.com/v1', 'Thing'), undefined);
    });

    it('finds a kind at a served version that is not the preferred one', async () => {
      const preferred = (await admin.discover()).filter((r) => r.group === 'autoscaling' && r.resource === 'horizontalpodautoscalers');
      assert.deepEqual(preferred.map((r) => r.version), ['v2'], 'discovery lists the preferred version only');
      const v1 = await admin.resourceFor('autoscaling/v1', 'HorizontalPodAutoscaler');
      assert.equal(v1?.version, 'v1');
      assert.equal(v1?.resource, 'horizontalpodautoscalers');
      assert.equal(await admin.resourceFor('autoscaling/v9', 'HorizontalPodAutoscaler'), undefined);
    });
  });

  describe('reads and writes', () => {
    it('lists page by page and finds as many objects as kubectl', async () => {
      await kubectl('create', 'namespace', 'paging');
      for (let i = 0; i < 23; i++) {
        await admin.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `page-${String(i).padStart(2, '0')}`, namespace: 'paging' }, data: { i: String(i) } });
      }
      const pages: string[] = [];
      const items = await admin.listAll(configmaps, { namespace: 'paging', pageSize: 5 });
      for (const o of items) pages.push(o.metadata.name);
      const r = await kubectl('get', 'configmaps', '-n', 'paging', '-o', 'name');
      assert.equal(r.code, 0, r.stderr);
      const expected = r.stdout.trim().split('\n').map((l) => l.replace('configmap/', ''));
      assert.deepEqual(pages.sort(), expected.sort());
      assert.ok(items.every((o) => o.kind === 'ConfigMap' && o.apiVersion === 'v1'), 'list items carry their kind');
      const everywhere = await admin.listAll(configmaps, { pageSize: 7 });
      const r2 = await kubectl('get', 'configmaps', '-A', '-o', 'name');
      assert.equal(everywhere.length, r2.stdout.trim().split('\n').length);
    });

    it('gets an object, and undefined for one that does not exist', async () => {
      const cm = await admin.get(configmaps, 'api-config', 'shop');
      assert.equal(cm?.metadata.name, 'api-config');
      assert.equal(cm?.kind, 'ConfigMap');
      assert.equal(await admin.get(configmaps, 'nonesuch', 'shop'), undefined);
    });

    it('creates, patches with each patch type, replaces and deletes', async () => {
      const created = await admin.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'patched', namespace: 'shop' }, data: { a: '1' } });
      assert.ok(created.metadata.uid);
      await admin.patch(configmaps, 'patched', 'shop', [{ op: 'add', path: '/data/b', value: '2' }], 'json');
      await admin.patch(configmaps, 'patched', 'shop', { data: { c: '3' } }, 'merge');
      await admin.patch(configmaps, 'patched', 'shop', { metadata: { labels: { strategic: 'yes' } } }, 'strategic');
      const applied = await admin.patch(configmaps, 'patched', 'shop', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'patched', namespace: 'shop' }, data: { d: '4' } }, 'apply', { fieldManager: 'lifeboat-test', force: true });
      assert.deepEqual(applied.data, { a: '1', b: '2', c: '3', d: '4' });
      assert.equal(applied.metadata.labels?.strategic, 'yes');
      const r = await kubectl('get', 'configmap', 'patched', '-n', 'shop', '-o', 'jsonpath={.data}');
      assert.deepEqual(JSON.parse(r.stdout), { a: '1', b: '2', c: '3', d: '4' });
      const replaced = await admin.replace(configmaps, { ...applied, data: { only: 'this' } });
      assert.deepEqual(replaced.data, { only: 'this' });
      assert.equal(await admin.delete(configmaps, 'patched', 'shop', { propagationPolicy: 'Background' }), true);
      assert.equal(await admin.get(configmaps, 'patched', 'shop'), undefined);
      assert.equal(await admin.delete(configmaps, 'patched', 'shop'), false, 'deleting what is gone reports false');
    });

    it('refuses server-side apply without a field manager', async () => {
      assert.throws(() => admin.patch(configmaps, 'x', 'shop', {}, 'apply'), /fieldManager/);
    });

    it('creates nothing on a dry run', async () => {
      const out = await admin.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry', namespace: 'shop' }, data: { a: '1' } }, { dryRun: true });
      assert.equal(out.metadata.name, 'dry');
      assert.equal(await admin.get(configmaps, 'dry', 'shop'), undefined);
      const r = await kubectl('get', 'configmap', 'dry', '-n', 'shop');
      assert.notEqual(r.code, 0);
    });

    it('reports a conflict on create as a KubeApiError with reason AlreadyExists', async () => {
      await assert.rejects(
        admin.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'api-config', namespace: 'shop' } }),
        (err: unknown) => err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists' && /sandbox-prod: cannot create configmaps "api-config" in namespace "shop"/.test(err.message),
      );
    });
  });

  describe('access', () => {
    it('lists the kubeconfig contexts with their servers and the current one', () => {
      const contexts = listContexts(sandbox.kubeconfigPath);
      const prod = contexts.find((c) => c.name === 'sandbox-prod');
      assert.equal(prod?.current, true);
      assert.equal(prod?.server, sandbox.clusters.get('prod')!.url);
      assert.equal(prod?.cluster, 'sandbox-prod');
      assert.equal(contexts.find((c) => c.name === 'sandbox-prod-restricted')?.current, false);
    });

    it('turns Forbidden into a KubeApiError with status 403 that names the context, the verb and the namespace', async () => {
      await assert.rejects(restricted.listAll(secrets, { namespace: 'shop' }), (err: unknown) => {
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.status, 403);
        assert.equal(err.reason, 'Forbidden');
        assert.equal(err.context, 'sandbox-prod-restricted');
        assert.match(err.message, /^sandbox-prod-restricted: cannot list secrets in namespace "shop": Forbidden: /);
        return true;
      });
      assert.equal((await restricted.listAll(configmaps, { namespace: 'shop' })).length > 0, true, 'the restricted user still reads ConfigMaps');
    });

    it('answers canI from a SelfSubjectAccessReview: admin may read Secrets, the restricted user may not', async () => {
      assert.equal(await admin.canI('list', secrets, 'shop'), true);
      assert.equal(await restricted.canI('list', secrets, 'shop'), false);
      assert.equal(await restricted.canI('list', configmaps, 'shop'), true);
      assert.equal(await restricted.canI('create', configmaps, 'shop'), false);
    });

    it('reports a server nobody listens on as unreachable, naming the server', async () => {
      const port = await new Promise<number>((resolve) => {
        const srv = createServer().listen(0, '127.0.0.1', () => {
          const p = (srv.address() as { port: number }).port;
          srv.close(() => resolve(p));
        });
      });
      const server = `https://127.0.0.1:${port}`;
      const file = path.join(tmp, 'unreachable.kubeconfig');
      await writeFile(file, stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'gone',
        clusters: [{ name: 'gone', cluster: { server, 'certificate-authority-data': Buffer.from(sandbox.clusters.get('prod')!.caCert).toString('base64') } }],
        users: [{ name: 'u', user: { token: 'not-a-real-token' } }],
        contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'u' } }],
      }));
      const client = await openKubeClient({ kubeconfig: file });
      try {
        await assert.rejects(client.discover(), (err: unknown) => err instanceof KubeUnreachableError && err.server === server && err.context === 'gone' && err.message.includes(server) && /ECONNREFUSED/.test(err.message));
      } finally {
        client.close();
      }
    });

    it('authenticates through a kubeconfig exec plugin, running it again when its credential expires', async () => {
      const tokenFile = path.join(tmp, 'plugin-token');
      const runs = path.join(tmp, 'plugin-runs');
      await writeFile(tokenFile, sandbox.clusters.get('prod')!.tokens.admin, { mode: 0o600 });
      await writeFile(runs, '');
      const plugin = path.join(tmp, 'credential-plugin.js');
      // An ExecCredential valid for two seconds, so a later request needs a fresh one.
      await writeFile(plugin, `
        const fs = require('node:fs');
        fs.appendFileSync(${JSON.stringify(runs)}, 'x');
        const token = fs.readFileSync(${JSON.stringify(tokenFile)}, 'utf8');
        process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token, expirationTimestamp: new Date(Date.now() + 2000).toISOString() } }));
      `);
      const prod = sandbox.clusters.get('prod')!;
      const file = path.join(tmp, 'exec-plugin.kubeconfig');
      await writeFile(file, stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'plugged',
        clusters: [{ name: 'prod', cluster: { server: prod.url, 'certificate-authority-data': Buffer.from(prod.caCert).toString('base64') } }],
        users: [{ name: 'plugin-user', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin], interactiveMode: 'Never' } } }],
        contexts: [{ name: 'plugged', context: { cluster: 'prod', user: 'plugin-user' } }],
      }));
      const client = await openKubeClient({ kubeconfig: file });
      try {
        const names = (await client.listAll(secrets, { namespace: 'shop' })).map((o) => o.metadata.name);
        assert.ok(names.includes('db-credentials'), 'the plugin token is the admin token: Secrets are readable');
        assert.equal((await readFile(runs, 'utf8')).length, 1);
        await new Promise((r) => setTimeout(r, 2500));
        assert.ok(await client.get(secrets, 'db-credentials', 'shop'));
        assert.equal((await readFile(runs, 'utf8')).length, 2, 'the expired credential was fetched again');
      } finally {
        client.close();
      }
    });
    it('says the credentials could not be had when the exec plugin fails, not that the cluster is unreachable', async () => {
      const prod = sandbox.clusters.get('prod')!;
      const file = path.join(tmp, 'failing-plugin.kubeconfig');
      await writeFile(file, stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'broken',
        clusters: [{ name: 'prod', cluster: { server: prod.url, 'certificate-authority-data': Buffer.from(prod.caCert).toString('base64') } }],
        users: [{ name: 'broken', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', 'process.stderr.write("login required"); process.exit(1)'], interactiveMode: 'Never' } } }],
        contexts: [{ name: 'broken', context: { cluster: 'prod', user: 'broken' } }],
      }));
      const client = await openKubeClient({ kubeconfig: file });
      try {
        await assert.rejects(client.discover(), (err: Error) => !(err instanceof KubeUnreachableError) && /^broken: cannot get credentials from the kubeconfig: /.test(err.message));
      } finally {
        client.close();
      }
    });
  });

  describe('watch', () => {
    it('sees objects added, modified and deleted, and stops when aborted', async () => {
      await kubectl('create', 'namespace', 'watched');
      await admin.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before', namespace: 'watched' } });
      const events: { type: WatchEventType; name: string }[] = [];
      const ac = new AbortController();
      const watching = admin.watch(configmaps, { namespace: 'watched', signal: ac.signal }, (type, obj: KObject) => {
        if (type !== 'BOOKMARK') events.push({ type, name: obj.metadata.name });
      });
      await waitFor('the existing object listed', () => events.some((e) => e.name === 'before') || undefined);
      assert.equal((await kubectl('create', 'configmap', 'watched-one', '-n', 'watched', '--from-literal=a=1')).code, 0);
      assert.equal((await kubectl('patch', 'configmap', 'watched-one', '-n', 'watched', '-p', '{"data":{"a":"2"}}')).code, 0);
      assert.equal((await kubectl('delete', 'configmap', 'watched-one', '-n', 'watched')).code, 0);
      await waitFor('the deletion seen', () => events.some((e) => e.type === 'DELETED' && e.name === 'watched-one') || undefined);
      ac.abort();
      await watching;
      assert.deepEqual(
        events.filter((e) => e.name === 'watched-one').map((e) => e.type),
        ['ADDED', 'MODIFIED', 'DELETED'],
      );
      assert.deepEqual(events[0], { type: 'ADDED', name: 'before' });
    });
  });

  describe('exec', () => {
    const collect = () => {
      const chunks: Buffer[] = [];
      const w = new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      });
      return { w, text: () => Buffer.concat(chunks).toString('utf8') };
    };

    before(async () => {
      await waitFor('pod db-0 running', async () => (await admin.get((await admin.resourceFor('v1', 'Pod'))!, 'db-0', 'shop'))?.status?.phase === 'Running' || undefined, 60_000);
    });

    it('runs a command and hands back its output and exit code 0', async () => {
      const out = collect();
      const result = await admin.exec('shop', 'db-0', ['echo', 'hello from the pod'], { stdout: out.w });
      assert.deepEqual(result, { exitCode: 0 });
      assert.equal(out.text(), 'hello from the pod\n');
    });

    it('reports a non-zero exit as a result', async () => {
      const err = collect();
      const result = await admin.exec('shop', 'db-0', ['sh', '-c', 'echo oops >&2; exit 3'], { stderr: err.w });
      assert.equal(result.exitCode, 3);
      assert.match(result.message ?? '', /exit code 3/);
      assert.equal(err.text(), 'oops\n');
    });

    it('sends stdin through and gets the same bytes back', async () => {
      const input = randomBytes(3 * 1024 * 1024 + 17);
      const hash = createHash('sha256');
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb();
        },
      });
      const result = await admin.exec('shop', 'db-0', ['cat'], { stdin: Readable.from([input.subarray(0, 1_000_000), input.subarray(1_000_000)]), stdout: sink });
      assert.equal(result.exitCode, 0);
      assert.equal(hash.digest('hex'), createHash('sha256').update(input).digest('hex'));
    });

    it('streams 200 MiB to a slow consumer with memory staying flat', async () => {
      let received = 0;
      let peak = process.memoryUsage().rss;
      const base = peak;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      // Small buffer, and every write takes a while: the consumer is far slower than the pod.
      const slow = new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _enc, cb) {
          received += chunk.length;
          setTimeout(cb, 1);
        },
      });
      try {
        const result = await admin.exec('shop', 'db-0', ['head', '-c', '200M', '/dev/zero'], { stdout: slow });
        assert.equal(result.exitCode, 0);
      } finally {
        clearInterval(sampler);
      }
      assert.equal(received, 200 * 1024 * 1024);
      const growth = (peak - base) / (1024 * 1024);
      assert.ok(growth < 60, `RSS grew by ${growth.toFixed(1)} MiB`);
    });

    it('stops promptly when aborted mid-stream', async () => {
      const ac = new AbortController();
      let received = 0;
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          received += chunk.length;
          if (received > 1024 * 1024 && !ac.signal.aborted) ac.abort();
          cb();
        },
      });
      const started = Date.now();
      await assert.rejects(admin.exec('shop', 'db-0', ['head', '-c', '2G', '/dev/zero'], { stdout: sink, signal: ac.signal }), (err: Error) => err.name === 'AbortError');
      assert.ok(Date.now() - started < 10_000, 'the abort ended the exec long before 2 GiB went through');
      assert.ok(received < 512 * 1024 * 1024);
    });

    it('gives up after timeoutMs with an error that says so', async () => {
      const started = Date.now();
      await assert.rejects(admin.exec('shop', 'db-0', ['sleep', '30'], { timeoutMs: 500 }), (err: Error) => err.name === 'TimeoutError' && /sandbox-prod: exec in pod "db-0" in namespace "shop" \(sleep 30\) timed out after 500 ms/.test(err.message));
      assert.ok(Date.now() - started < 5_000);
    });

    it('fails an exec into a missing pod with a KubeApiError naming the pod', async () => {
      await assert.rejects(admin.exec('shop', 'nonesuch', ['true'], { stdout: new PassThrough() }), (err: unknown) => err instanceof KubeApiError && err.status === 404 && /nonesuch/.test(err.message));
    });
  });
});
