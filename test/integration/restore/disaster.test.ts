/**
 * Acceptance: disaster recovery. `shop` is captured on sandbox-prod with its
 * volume data, the namespace is deleted (and with it its volume), and the
 * snapshot is restored to the same cluster with the built-in `dr` profile.
 * Objects are compared field by field with what they were before the
 * deletion, after the test-local normalise() of ./bed removes what the
 * server and controllers fill in (uids, versions, timestamps, status,
 * allocated IPs and ports, the new volume's name) and nothing else.
 */
import { strict as assert } from 'node:assert';
import type { KObject } from '../../../src/engine/kube/types';
import { readCatalog } from '../../../src/engine/repo/api';
import { planRestore, runRestore } from '../../../src/engine/restore';
import type { RestoreRequest, RestoreResult } from '../../../src/engine/restore/types';
import {
  assertSameListing,
  capture,
  keyOf,
  normalise,
  podsRunning,
  podVolumeListing,
  restorableObjects,
  restoreMovers,
  snapshotVolumeListing,
  startRestoreBed,
  until,
  type RestoreBed,
  type VolumeListing,
} from './bed';

const DATA_DIR = '/var/lib/postgresql/data';

describe('restore acceptance: disaster recovery of a deleted namespace with the dr profile', function () {
  this.timeout(300_000);
  let bed: RestoreBed;
  let snapshot: string;
  let request: RestoreRequest;
  let result: RestoreResult;
  let original: Map<string, KObject>;
  let liveDataBefore: VolumeListing;

  const namespaceOf = async (): Promise<KObject | undefined> => bed.prodKube.get((await bed.prodKube.resourceFor('v1', 'Namespace'))!, 'shop');

  before(async () => {
    bed = await startRestoreBed('disaster', { clusters: ['prod'] });
    snapshot = await capture(bed, ['shop']);
    const captured = new Set((await readCatalog(bed.repo, snapshot)).resources.filter((r) => r.namespace === 'shop').map((r) => `${r.kind}/${r.name}`));
    original = new Map((await restorableObjects(bed.prodKube, 'shop')).filter((o) => captured.has(keyOf(o))).map((o) => [keyOf(o), normalise(o)]));
    original.set('Namespace/shop', normalise((await namespaceOf())!));
    liveDataBefore = await podVolumeListing(bed, 'sandbox-prod', 'shop', 'db-0', 'postgres', DATA_DIR);

    await bed.kubectl(['delete', 'namespace', 'shop', '--wait=true', '--timeout=60s']);
    await until('namespace shop to be gone', async () => !(await namespaceOf()), 60_000);

    request = { snapshot, kubeconfig: bed.sandbox.kubeconfigPath, context: 'sandbox-prod', profile: 'dr' };
    result = await runRestore(request, { repo: bed.repo, confirmContext: 'sandbox-prod' });
  });
  after(async () => {
    await bed?.stop();
  });

  it('completes, and names the target as production', () => {
    assert.equal(result.plan.target.production, true, 'sandbox-prod matches the default production pattern');
    assert.equal(result.plan.profile, 'dr');
    const left = result.verify.items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind}/${i.name}: ${i.action} ${i.message ?? ''}\n${i.diff}`);
    assert.deepEqual(left, []);
    assert.equal(result.complete, true, `failed: ${JSON.stringify(result.record.filter((r) => r.outcome === 'failed'))}`);
  });

  it('brings every object back as it was, field by field', async () => {
    assert.ok(original.size >= 20, `shop had the seeded objects (${original.size})`);
    const after = new Map<string, KObject>();
    for (const [key, was] of original) {
      const resource = (await bed.prodKube.resourceFor(was.apiVersion, was.kind))!;
      const now = await bed.prodKube.get(resource, was.metadata.name, was.metadata.namespace);
      if (now) after.set(key, normalise({ ...now, apiVersion: was.apiVersion, kind: was.kind }));
    }
    assert.deepEqual([...original.keys()].filter((k) => !after.has(k)), [], 'nothing is missing');
    for (const [key, was] of original) assert.deepEqual(after.get(key), was, `${key} is as it was`);
  });

  it('brings the volume data back: every file as the pod saw it before, and as the snapshot holds it', async () => {
    await podsRunning(bed.prodKube, 'shop', 5);
    const liveDataAfter = await podVolumeListing(bed, 'sandbox-prod', 'shop', 'db-0', 'postgres', DATA_DIR);
    assertSameListing(liveDataAfter, liveDataBefore, 'shop/data-db-0 against its files before the deletion');
    assertSameListing(liveDataAfter, await snapshotVolumeListing(bed.repo, snapshot, { namespace: 'shop', pvc: 'data-db-0' }), 'shop/data-db-0 against the snapshot');
  });

  it('runs the workloads again with their replica counts, and leaves no mover', async () => {
    const pods = await podsRunning(bed.prodKube, 'shop', 5);
    assert.deepEqual(pods.map((p) => p.metadata.name.replace(/-[a-z0-9]+-[a-z0-9]{5}$/, '')).sort(), ['api', 'api', 'db-0', 'web', 'web']);
    assert.deepEqual(await restoreMovers(bed.prodKube), []);
  });

  it('plans no change afterwards', async () => {
    const again = await planRestore(request, { repo: bed.repo });
    assert.deepEqual(again.items.filter((i) => i.action !== 'unchanged').map((i) => `${i.kind}/${i.name}: ${i.action}\n${i.diff}`), []);
    assert.deepEqual(again.volumes.map((v) => [v.namespace, v.pvc, v.action]), [['shop', 'data-db-0', 'unchanged']]);
  });
});
