/**
 * The cluster client against sandbox clusters over HTTPS: discovery,
 * paged lists, writes of every patch type, errors that name the context,
 * and pod exec over the WebSocket channel protocol.
 */
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { openKubeClient, KubeApiError, type ApiResource, type KubeClient } from '../../../src/engine/kube';
import { run, waitFor } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';

describe('cluster client', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  let admin: KubeClient;
  let restricted: KubeClient;
  let configmaps: ApiResource;
  const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', sandbox.kubeconfigPath, ...args], { timeoutMs: 60_000 });

  before(async () => {
    sandbox = await startSandbox({ clusters: ['prod'] });
    admin = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod' });
    restricted = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod-restricted' });
    configmaps = (await admin.resourceFor('v1', 'ConfigMap'))!;
  });

  after(async () => {
    admin?.close();
    restricted?.close();
    await sandbox?.stop();
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

    it('fails an exec into a missing pod with a KubeApiError naming the pod', async () => {
      await assert.rejects(admin.exec('shop', 'nonesuch', ['true'], { stdout: new PassThrough() }), (err: unknown) => err instanceof KubeApiError && err.status === 404 && /nonesuch/.test(err.message));
    });
  });
});
