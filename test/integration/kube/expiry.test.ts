/**
 * What the client does when the API server has compacted away the
 * snapshot it was reading: a paged list starts over, a watch lists again.
 * The sandbox API server is started on its own here because only it
 * offers compaction on demand (kube-apiserver compacts every 5 minutes).
 */
import * as assert from 'node:assert/strict';
import { openKubeClient, KubeApiError, type ApiResource, type KObject, type KubeClient, type WatchEventType } from '../../../src/engine/kube';
import { startTestCluster, type TestCluster } from '../../sandbox/apiserver/harness';
import { waitFor } from '../../support/proc';

describe('cluster client after compaction', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let client: KubeClient;
  let configmaps: ApiResource;
  const cm = (name: string, namespace = 'default'): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { name } });

  before(async () => {
    cluster = await startTestCluster();
    client = await openKubeClient({ kubeconfig: cluster.kubeconfig, context: 'admin' });
    configmaps = (await client.resourceFor('v1', 'ConfigMap'))!;
    for (let i = 0; i < 12; i++) await client.create(configmaps, cm(`expiring-${String(i).padStart(2, '0')}`));
  });

  after(async () => {
    client?.close();
    await cluster?.stop();
  });

  it('the server really answers 410 Expired for a continue token older than the compaction', async () => {
    const first = await client.request<{ metadata: { continue: string } }>('GET', '/api/v1/namespaces/default/configmaps', { query: { limit: '5' } });
    await client.create(configmaps, cm('bump-1'));
    await cluster.server.compact();
    await assert.rejects(
      client.request('GET', '/api/v1/namespaces/default/configmaps', { query: { limit: '5', continue: first.metadata.continue } }),
      (err: unknown) => err instanceof KubeApiError && err.status === 410 && err.reason === 'Expired',
    );
  });

  it('restarts a paged list whose continue token expired, handing out each object once', async () => {
    const names: string[] = [];
    let compacted = false;
    for await (const o of client.list(configmaps, { namespace: 'default', pageSize: 5 })) {
      names.push(o.metadata.name);
      if (!compacted) {
        // Between the first and the second page the snapshot goes away.
        compacted = true;
        await client.create(configmaps, cm('created-mid-list'));
        await cluster.server.compact();
      }
    }
    const r = await cluster.kubectl(['get', 'configmaps', '-n', 'default', '-o', 'name']);
    const expected = r.stdout.trim().split('\n').map((l) => l.replace('configmap/', ''));
    assert.equal(new Set(names).size, names.length, 'no object twice');
    assert.deepEqual([...names].sort(), expected.sort());
    assert.ok(names.includes('created-mid-list'), 'the restarted list reflects the newer snapshot');
  });

  it('lists again when its watch version was compacted, reporting what changed meanwhile', async () => {
    const seed = await client.request<{ metadata: { resourceVersion: string } }>('GET', '/api/v1/namespaces/default/configmaps', { query: { limit: '1' } });
    const stale = seed.metadata.resourceVersion;
    // After the stale version: one object changes, one goes, one comes; then history up to now is forgotten.
    await client.patch(configmaps, 'expiring-00', 'default', { data: { changed: 'yes' } }, 'merge');
    await client.delete(configmaps, 'expiring-01', 'default');
    await client.create(configmaps, cm('after-stale'));
    await cluster.server.compact();
    const events: { type: WatchEventType; name: string }[] = [];
    const ac = new AbortController();
    const watching = client.watch(configmaps, { namespace: 'default', resourceVersion: stale, signal: ac.signal }, (type, obj) => {
      if (type !== 'BOOKMARK') events.push({ type, name: obj.metadata.name });
    });
    await waitFor('the relist', () => events.some((e) => e.name === 'after-stale') || undefined);
    await client.create(configmaps, cm('after-relist'));
    await waitFor('a live event after the relist', () => events.some((e) => e.name === 'after-relist') || undefined);
    ac.abort();
    await watching;
    assert.deepEqual(events.find((e) => e.name === 'after-stale'), { type: 'ADDED', name: 'after-stale' });
    assert.deepEqual(events.find((e) => e.name === 'after-relist'), { type: 'ADDED', name: 'after-relist' });
    assert.ok(events.some((e) => e.name === 'expiring-00'), 'the changed object is reported');
  });
});
