/**
 * Acceptance: hydrating a development cluster from production. `shop` is
 * captured on sandbox-prod with its volume data and restored to
 * sandbox-dev with the built-in `dev` profile into `shop-dev`.
 */
import { strict as assert } from 'node:assert';
import type { KObject } from '../../../src/engine/kube/types';
import { readCatalog } from '../../../src/engine/repo/api';
import { planRestore, runRestore } from '../../../src/engine/restore';
import { MASKED_SECRET_ANNOTATION, type RestoreRequest, type RestoreResult } from '../../../src/engine/restore/types';
import { assertSameListing, capture, keyOf, podsRunning, podVolumeListing, restorableObjects, restoreMovers, snapshotVolumeListing, startRestoreBed, type RestoreBed } from './bed';

const CLOUD_ANNOTATION = 'service.beta.kubernetes.io/aws-load-balancer-type';

describe('restore acceptance: hydrate shop from prod into shop-dev on dev with the dev profile', function () {
  this.timeout(300_000);
  let bed: RestoreBed;
  let snapshot: string;
  let request: RestoreRequest;
  let result: RestoreResult;
  /** Objects of prod's shop that the snapshot holds and a restore brings back. */
  let expected: KObject[];

  /** An object of shop-dev on dev; `clusterScoped` for a cluster-scoped one. */
  const devGet = async (apiVersion: string, kind: string, name: string, clusterScoped = false): Promise<KObject | undefined> =>
    bed.devKube!.get((await bed.devKube!.resourceFor(apiVersion, kind))!, name, clusterScoped ? undefined : 'shop-dev');

  before(async () => {
    bed = await startRestoreBed('hydrate');
    // Production-only scheduling and a cloud load balancer annotation, for the profile to remove.
    await bed.kubectl([
      'patch', 'deployment', 'web', '-n', 'shop', '--type', 'merge', '-p',
      JSON.stringify({
        spec: {
          template: {
            spec: {
              nodeSelector: { 'cloud.example.com/pool': 'frontend' },
              tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'frontend', effect: 'NoSchedule' }],
              affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'cloud.example.com/zone', operator: 'In', values: ['eu-west-1a'] }] }] } } },
            },
          },
        },
      }),
    ]);
    await bed.kubectl(['annotate', 'service', 'web', '-n', 'shop', `${CLOUD_ANNOTATION}=nlb`]);
    snapshot = await capture(bed, ['shop']);
    const captured = new Set((await readCatalog(bed.repo, snapshot)).resources.filter((r) => r.namespace === 'shop').map((r) => `${r.kind}/${r.name}`));
    expected = (await restorableObjects(bed.prodKube, 'shop')).filter((o) => captured.has(keyOf(o)));
    request = { snapshot, kubeconfig: bed.sandbox.kubeconfigPath, context: 'sandbox-dev', profile: 'dev', namespaceMapping: { shop: 'shop-dev' } };
    result = await runRestore(request, { repo: bed.repo });
  });
  after(async () => {
    await bed?.stop();
  });

  it('completes, with nothing left to change in its own verify plan', () => {
    const left = result.verify.items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind}/${i.name}: ${i.action} ${i.message ?? ''}\n${i.diff}`);
    assert.deepEqual(left, []);
    assert.equal(result.complete, true, `record: ${JSON.stringify(result.record.filter((r) => r.outcome === 'failed'))}`);
    assert.equal(result.plan.target.context, 'sandbox-dev');
    assert.equal(result.plan.target.production, false);
    assert.equal(result.plan.profile, 'dev');
  });

  it('brings back every object of the snapshot into shop-dev', async () => {
    assert.ok(expected.length >= 20, `shop has the seeded objects (${expected.length})`);
    const missing: string[] = [];
    for (const o of expected) if (!(await devGet(o.apiVersion, o.kind, o.metadata.name))) missing.push(keyOf(o));
    assert.deepEqual(missing, []);
    const ns = await devGet('v1', 'Namespace', 'shop-dev', true);
    assert.equal(ns?.metadata.labels?.['app.kubernetes.io/part-of'], 'shop', 'the namespace keeps its labels under its new name');
    assert.ok(await devGet('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'backuppolicies.shop.example.com', true), 'the CRD of the custom resources came along');
    assert.equal((await devGet('shop.example.com/v1alpha1', 'BackupPolicy', 'db-nightly'))?.spec.target.name, 'db');
    assert.equal(await devGet('v1', 'ConfigMap', 'debug-scratch'), undefined, 'what the capture excluded is not there');
  });

  it('applies the dev profile: one replica, no LoadBalancer, no production scheduling, no cloud annotations', async () => {
    for (const [kind, name] of [['Deployment', 'api'], ['Deployment', 'web'], ['StatefulSet', 'db']]) {
      assert.equal((await devGet('apps/v1', kind, name))?.spec.replicas, 1, `${kind} ${name} runs one replica`);
    }
    const types = await Promise.all(['api', 'web', 'db'].map(async (s) => (await devGet('v1', 'Service', s))?.spec.type));
    assert.deepEqual(types, ['ClusterIP', 'ClusterIP', 'ClusterIP']);
    const web = await devGet('v1', 'Service', 'web');
    assert.equal(web?.metadata.annotations?.[CLOUD_ANNOTATION], undefined);
    assert.equal(web?.spec.ports[0].nodePort, undefined, 'a ClusterIP Service has no node port');
    const pod = (await devGet('apps/v1', 'Deployment', 'web'))!.spec.template.spec;
    assert.deepEqual([pod.nodeSelector, pod.tolerations, pod.affinity], [undefined, undefined, undefined]);
    const configured = (await devGet('v1', 'ConfigMap', 'api-config'))!;
    const source = expected.find((o) => keyOf(o) === 'ConfigMap/api-config')!;
    assert.deepEqual(configured.data, source.data, 'ConfigMaps are copied as they were');
  });

  it('masks Secrets: same keys and lengths, every value different, marked as masked', async () => {
    const secrets = expected.filter((o) => o.kind === 'Secret');
    assert.deepEqual(secrets.map((s) => s.metadata.name).sort(), ['api-keys', 'db-credentials', 'shop-tls']);
    for (const prod of secrets) {
      const dev = await devGet('v1', 'Secret', prod.metadata.name);
      assert.ok(dev, `Secret ${prod.metadata.name} restored`);
      assert.equal(dev.type, prod.type);
      assert.ok(dev.metadata.annotations?.[MASKED_SECRET_ANNOTATION] !== undefined, `Secret ${prod.metadata.name} carries ${MASKED_SECRET_ANNOTATION}`);
      assert.deepEqual(Object.keys(dev.data ?? {}).sort(), Object.keys(prod.data).sort(), `Secret ${prod.metadata.name} keeps its keys`);
      for (const key of Object.keys(prod.data)) {
        const was = Buffer.from(prod.data[key], 'base64');
        const masked: Buffer = Buffer.from(String(dev.data[key]), 'base64');
        assert.equal(masked.length, was.length, `${prod.metadata.name}.${key} keeps its length`);
        assert.ok(!masked.equals(was), `${prod.metadata.name}.${key} is not production's value`);
      }
    }
  });

  it('writes the volume: every file byte-identical with the snapshot, as the restored postgres pod sees it', async () => {
    const claim = await devGet('v1', 'PersistentVolumeClaim', 'data-db-0');
    assert.equal(claim?.status?.phase, 'Bound');
    const want = await snapshotVolumeListing(bed.repo, snapshot, { namespace: 'shop', pvc: 'data-db-0' });
    assert.ok(want.size > 20, 'the seeded volume has files to compare');
    const got = await podVolumeListing(bed, 'sandbox-dev', 'shop-dev', 'db-0', 'postgres', '/var/lib/postgresql/data');
    assertSameListing(got, want, 'shop-dev/data-db-0');
    assert.ok(result.record.some((r) => r.outcome === 'data-written' && r.name === 'data-db-0' && (r.bytes ?? 0) > 0), 'the record names the data written');
  });

  it('leaves the pods Running and no restore mover behind', async () => {
    const pods = await podsRunning(bed.devKube!, 'shop-dev', 3);
    assert.deepEqual(pods.map((p) => p.metadata.name.replace(/-[a-z0-9]+-[a-z0-9]{5}$/, '')).sort(), ['api', 'db-0', 'web']);
    assert.deepEqual(await restoreMovers(bed.devKube!), []);
  });

  it('plans no change on a second look: every object and volume unchanged', async () => {
    const again = await planRestore(request, { repo: bed.repo });
    const changes = again.items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind}/${i.name}: ${i.action} ${i.message ?? ''}\n${i.diff}`);
    assert.deepEqual(changes, []);
    assert.deepEqual(
      again.volumes.map((v) => [v.namespace, v.pvc, v.action]),
      [['shop-dev', 'data-db-0', 'unchanged']],
    );
    assert.equal(again.counts.unchanged, again.items.length);
  });
});
