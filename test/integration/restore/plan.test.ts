/**
 * Planning and running a restore of namespace shop from sandbox-prod into
 * shop-dev on sandbox-dev with the dev profile: the plan before, the writes,
 * the verify plan after, and a second run that writes nothing.
 */
import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isProductionContext, planRestore, runRestore, type RestoreRequest, type RestorePlan, type RestoreResult } from '../../../src/engine/restore';
import { logTo, type LogRecord } from '../../../src/engine/log';
import { capture, podsRunning, secretValues, startRestoreBed, type RestoreBed } from './bed';

function assertNoSecretValue(text: string, values: string[], what: string): void {
  for (const v of values) assert.ok(!text.includes(v), `${what} holds a Secret value`);
}

describe('restore plan and apply on the sandbox clusters', function () {
  this.timeout(300_000);
  let bed: RestoreBed;
  let snapshot: string;
  let request: RestoreRequest;
  let prodSecrets: string[];
  let first: RestoreResult;
  const logs: LogRecord[] = [];

  before(async () => {
    bed = await startRestoreBed('plan');
    snapshot = await capture(bed, ['shop']);
    prodSecrets = await secretValues(bed.prodKube, 'shop');
    assert.ok(prodSecrets.length > 0, 'the seeded namespace has Secrets to leak');
    request = { snapshot: snapshot.slice(0, 8), kubeconfig: bed.sandbox.kubeconfigPath, context: 'sandbox-dev', profile: 'dev', namespaceMapping: { shop: 'shop-dev' } };
  });
  after(async () => {
    await bed?.stop();
  });

  it('plans every object as a create into shop-dev, with diffs and documents that hold no Secret value', async () => {
    const progress: number[] = [];
    const plan: RestorePlan = await planRestore(request, { repo: bed.repo, documents: true, onProgress: (p) => p.phase === 'plan' && progress.push(p.itemsDone ?? 0) });
    assert.deepEqual(plan.target, { context: 'sandbox-dev', cluster: 'sandbox-dev', server: plan.target.server, production: false });
    assert.equal(plan.snapshot.id, snapshot);
    assert.equal(plan.profile, 'dev');
    assert.equal(plan.policy, 'update');
    assert.ok(plan.items.length > 10, `${plan.items.length} items`);
    // The StorageClass the claims name exists on sandbox-dev as it is in the snapshot; everything else is new there.
    assert.deepEqual(
      plan.items.filter((i) => i.action !== 'create').map((i) => `${i.kind} ${i.namespace ?? ''}/${i.name}: ${i.action} ${i.message ?? ''}`),
      ['StorageClass /standard: unchanged '],
    );
    assert.equal(plan.counts.create, plan.items.length - 1);
    assert.equal(plan.counts.unchanged, 1);
    for (const item of plan.items.filter((i) => i.action === 'create')) {
      if (item.kind !== 'Namespace' && item.namespace !== undefined) assert.equal(item.namespace, 'shop-dev', `${item.kind} ${item.name}`);
      assert.match(item.diff, /^--- live .*\n\+\+\+ restore .*\n@@ -0,0 \+1,\d+ @@\n\+apiVersion: /, `${item.kind} ${item.name}: a create adds every line`);
      assert.ok(item.desired && item.live === undefined, `${item.kind} ${item.name}: only the restore side exists`);
    }
    const sc = plan.items.find((i) => i.kind === 'StorageClass');
    assert.equal(sc?.diff, '');
    assert.equal(sc?.live, sc?.desired);
    const ns = plan.items.find((i) => i.kind === 'Namespace');
    assert.equal(ns?.name, 'shop-dev');
    assert.deepEqual(ns?.source, { name: 'shop' });
    // Stages never go backwards: CRDs and Namespaces first, workloads after their PVCs, Secrets and ConfigMaps.
    assert.deepEqual(plan.items.map((i) => i.stage), [...plan.items.map((i) => i.stage)].sort((a, b) => a - b));
    const checkedLater = plan.items.filter((i) => i.message === 'checked without dry run: its namespace is created by this restore');
    assert.ok(checkedLater.length > 0 && checkedLater.every((i) => i.namespace === 'shop-dev'));
    assert.deepEqual(plan.volumes.map((v) => `${v.source.namespace}/${v.source.pvc} → ${v.namespace}/${v.pvc}: ${v.action}`), ['shop/data-db-0 → shop-dev/data-db-0: write']);
    assert.ok(plan.volumes[0].bytes > 0 && plan.volumes[0].files > 0);
    assert.ok(plan.warnings.some((w) => /not restored/.test(w)), `a summary of what is left out: ${plan.warnings.join(' | ')}`);
    assertNoSecretValue(JSON.stringify(plan), prodSecrets, 'the plan');
    const secret = plan.items.find((i) => i.kind === 'Secret' && i.name === 'db-credentials');
    assert.match(secret?.desired ?? '', /: <redacted>$/m);
    assert.equal(progress[progress.length - 1], plan.items.length, 'progress counts every item');
  });

  it('tells production contexts by name', () => {
    assert.ok(isProductionContext('sandbox-prod'));
    assert.ok(isProductionContext('PROD-eu'));
    assert.ok(!isProductionContext('sandbox-dev'));
    assert.ok(isProductionContext('live-eu', '^live-'));
    assert.throws(() => isProductionContext('x', '('), /not a regular expression/);
  });

  it('refuses to run when the confirmed context is not the target', async () => {
    await assert.rejects(runRestore(request, { repo: bed.repo, confirmContext: 'sandbox-prod' }), /confirmed for context "sandbox-prod" but its target is "sandbox-dev"/);
    const namespaces = await bed.kubectl(['--context', 'sandbox-dev', 'get', 'namespaces', '-o', 'name']);
    assert.ok(!namespaces.includes('namespace/shop-dev'), 'nothing was written');
  });

  it('restores into shop-dev, logging each write, and verifies with nothing left to change', async () => {
    first = await runRestore(request, { repo: bed.repo, confirmContext: 'sandbox-dev', log: logTo((r) => logs.push(r)) });
    const failed = first.record.filter((r) => r.outcome === 'failed');
    assert.deepEqual(failed, [], 'nothing failed');
    assert.equal(first.complete, true, first.warnings.join('\n'));
    const written = first.record.filter((r) => r.outcome === 'created' || r.outcome === 'updated');
    // The default ServiceAccount may be made by the namespace's controller between plan and apply: then it is updated.
    assert.equal(written.length, first.plan.counts.create);
    assert.ok(first.record.some((r) => r.outcome === 'data-written' && r.namespace === 'shop-dev' && r.name === 'data-db-0' && (r.bytes ?? 0) > 0));
    assert.ok(logs.some((l) => l.level === 'info' && /^created Deployment shop-dev\/api$/.test(l.message)), 'each write is logged as it is made');
    assert.deepEqual(
      first.verify.items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind} ${i.namespace}/${i.name}: ${i.action}\n${i.diff}`),
      [],
      'verify finds every object as the restore left it',
    );
    assert.deepEqual(first.verify.volumes.map((v) => v.action), ['unchanged']);
    const devSecrets = await secretValues(bed.devKube!, 'shop-dev');
    assertNoSecretValue(JSON.stringify(first), [...prodSecrets, ...devSecrets], 'the result');
    assertNoSecretValue(JSON.stringify(logs), [...prodSecrets, ...devSecrets], 'the log');
  });

  it('leaves the pods of shop-dev Running', async () => {
    const pods = await podsRunning(bed.devKube!, 'shop-dev', 3, 120_000);
    assert.ok(pods.some((p) => p.metadata.name === 'db-0'));
  });

  it('plans an update of what changed on the target, showing changed Secret values only as changed', async () => {
    await bed.kubectl(['--context', 'sandbox-dev', 'scale', 'deployment/api', '-n', 'shop-dev', '--replicas=2']);
    // The dev profile keeps the placeholders it made; one that copies Secrets would change every value.
    const copying = path.join(bed.work, 'dev-copy.yaml');
    await writeFile(copying, 'apiVersion: lifeboat.dev/v1\nkind: RestoreProfile\nextends: dev\nsecrets:\n  mode: copy\n');
    const plan = await planRestore({ ...request, profile: copying }, { repo: bed.repo, documents: true });
    const changed = plan.items.filter((i) => i.action !== 'unchanged');
    assert.deepEqual(changed.map((i) => `${i.kind} ${i.name}: ${i.action}`).sort(), [
      'Deployment api: update',
      'Secret api-keys: update',
      'Secret db-credentials: update',
      'Secret shop-tls: update',
    ]);
    const api = changed.find((i) => i.kind === 'Deployment')!;
    assert.match(api.diff, /^- {2}replicas: 2$/m);
    assert.match(api.diff, /^\+ {2}replicas: 1$/m);
    const secret = changed.find((i) => i.name === 'db-credentials')!;
    assert.match(secret.diff, /^- {2}POSTGRES_PASSWORD: <redacted>$/m);
    assert.match(secret.diff, /^\+ {2}POSTGRES_PASSWORD: "?<redacted: changed>"?$/m);
    assert.match(secret.live ?? '', /POSTGRES_PASSWORD: <redacted>/);
    const devSecrets = await secretValues(bed.devKube!, 'shop-dev');
    assertNoSecretValue(JSON.stringify(plan), [...prodSecrets, ...devSecrets], 'the plan of an update');

    const fixed = await runRestore(request, { repo: bed.repo });
    assert.deepEqual(fixed.record.filter((r) => r.outcome !== 'unchanged').map((r) => `${r.outcome} ${r.kind} ${r.name}`), ['updated Deployment api']);
    assert.equal(fixed.complete, true);
  });

  it('writes nothing on a second run', async () => {
    const again = await runRestore(request, { repo: bed.repo });
    assert.deepEqual(
      again.record.filter((r) => r.outcome !== 'unchanged').map((r) => `${r.outcome} ${r.kind} ${r.namespace}/${r.name} ${r.message ?? ''}`),
      [],
    );
    assert.deepEqual(again.plan.items.filter((i) => i.action !== 'unchanged'), []);
    assert.deepEqual(again.plan.volumes.map((v) => v.action), ['unchanged']);
    assert.equal(again.complete, true);
  });

  it('runs the post-restore hook of a restored workload\'s new pod, after the objects are written', async () => {
    const prod = bed.prodKube;
    await prod.create((await prod.resourceFor('v1', 'Namespace'))!, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hooked' } });
    await prod.create((await prod.resourceFor('apps/v1', 'Deployment'))!, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'app', namespace: 'hooked' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'hooked' } },
        template: {
          metadata: { labels: { app: 'hooked' }, annotations: { 'post.hook.restore.lifeboat.dev/command': JSON.stringify(['/bin/sh', '-c', 'echo warmed']) } },
          spec: { containers: [{ name: 'app', image: 'docker.io/library/busybox:1.37', command: ['sleep', 'infinity'] }] },
        },
      },
    });
    const hookedSnapshot = await capture(bed, ['hooked']);
    const result = await runRestore({ snapshot: hookedSnapshot, kubeconfig: bed.sandbox.kubeconfigPath, context: 'sandbox-dev', profile: 'dr' }, { repo: bed.repo });
    const outcomes = result.record.map((r) => `${r.outcome} ${r.kind}`);
    assert.deepEqual(outcomes.slice(-1), ['hook-ran Pod'], outcomes.join(', '));
    assert.ok(outcomes.indexOf('created Deployment') < outcomes.indexOf('hook-ran Pod'));
    assert.match(result.record[result.record.length - 1].name, /^app-/);
    assert.equal(result.complete, true);
  });

  it('plans a change the server refuses in place as a conflict, left alone under update and recreated under recreate', async () => {
    const dev = bed.devKube!;
    await dev.create((await dev.resourceFor('v1', 'Namespace'))!, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'frozen' } });
    const configMaps = (await dev.resourceFor('v1', 'ConfigMap'))!;
    await dev.create(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'api-config', namespace: 'frozen' }, data: { stale: 'true' }, immutable: true });
    const one: RestoreRequest = { ...request, namespaceMapping: { shop: 'frozen' }, selection: { object: { kind: 'configmap', namespace: 'shop', name: 'api-config' }, clusterResources: 'none' } };
    const plan = await planRestore(one, { repo: bed.repo });
    assert.deepEqual(plan.items.map((i) => `${i.kind} ${i.namespace}/${i.name}: ${i.action}`), ['ConfigMap frozen/api-config: conflict']);
    assert.match(plan.items[0].message ?? '', /immutable/);
    const left = await runRestore(one, { repo: bed.repo });
    assert.deepEqual(left.record.map((r) => r.outcome), ['skipped']);
    assert.match(left.record[0].message ?? '', /recreate policy/);
    assert.equal(left.complete, false);
    const recreated = await runRestore({ ...one, existing: 'recreate' }, { repo: bed.repo });
    assert.deepEqual(recreated.record.map((r) => r.outcome), ['recreated']);
    assert.equal(recreated.complete, true);
    const now = await dev.get(configMaps, 'api-config', 'frozen');
    assert.equal(now?.data?.stale, undefined);
  });
});
