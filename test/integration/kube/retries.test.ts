/**
 * Retries and the parallelism bound, against a real sandbox API server
 * behind a fault-injecting front (faultFront.ts): throttling and server
 * errors are retried for reads, never replayed for creates unless the
 * server certainly did not act.
 */
import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { openKubeClient, KubeApiError, KubeUnreachableError, type ApiResource, type KubeClient } from '../../../src/engine/kube';
import { startTestCluster, type TestCluster } from '../../sandbox/apiserver/harness';
import { startFaultFront, type FaultFront } from './faultFront';
import { waitFor } from '../../support/proc';

describe('cluster client retries', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let front: FaultFront;
  let tmp: string;
  let client: KubeClient;
  let configmaps: ApiResource;

  const openThroughFront = async (parallelism?: number): Promise<KubeClient> => {
    const file = path.join(tmp, `front-${parallelism ?? 'default'}.kubeconfig`);
    await writeFile(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'front',
      clusters: [{ name: 'front', cluster: { server: front.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'admin', user: { token: cluster.tokens.admin } }],
      contexts: [{ name: 'front', context: { cluster: 'front', user: 'admin' } }],
    }), { mode: 0o600 });
    return openKubeClient({ kubeconfig: file, parallelism });
  };

  before(async () => {
    cluster = await startTestCluster();
    front = await startFaultFront(cluster.server.url, cluster.pki.caCert);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-kube-retries-'));
    client = await openThroughFront();
    configmaps = (await client.resourceFor('v1', 'ConfigMap'))!;
  });

  beforeEach(() => front.reset());

  after(async () => {
    client?.close();
    await front?.stop();
    await cluster?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { name } });
  const posts = () => front.seen().filter((s) => s.method === 'POST' && s.path.endsWith('/configmaps')).length;

  it('retries a read through two 503 answers', async () => {
    front.inject({ method: 'GET', pathIncludes: '/configmaps', times: 2, fault: { status: 503 } });
    const items = await client.listAll(configmaps, { namespace: 'default' });
    assert.ok(items.length >= 1);
    assert.equal(front.seen().filter((s) => s.path.endsWith('/configmaps')).length, 3);
  });

  it('waits as long as Retry-After asks before retrying a throttled create, and creates once', async () => {
    front.inject({ method: 'POST', pathIncludes: '/configmaps', times: 1, fault: { status: 429, retryAfter: '1' } });
    await client.create(configmaps, cm('throttled'));
    const arrivals = front.seen().filter((s) => s.method === 'POST');
    assert.equal(arrivals.length, 2);
    assert.ok(arrivals[1].at - arrivals[0].at >= 950, `retried after ${arrivals[1].at - arrivals[0].at} ms`);
    assert.ok(await client.get(configmaps, 'throttled', 'default'));
  });

  it('does not replay a create the server may have acted on (503)', async () => {
    front.inject({ method: 'POST', pathIncludes: '/configmaps', times: 1, fault: { status: 503 } });
    await assert.rejects(client.create(configmaps, cm('not-replayed')), (err: unknown) => err instanceof KubeApiError && err.status === 503);
    assert.equal(posts(), 1);
  });

  it('does not replay a create whose answer was lost, and says the connection failed', async () => {
    front.inject({ method: 'POST', pathIncludes: '/configmaps', times: 1, fault: { reset: 'before-response' } });
    await assert.rejects(client.create(configmaps, cm('answer-lost')), (err: unknown) => err instanceof KubeUnreachableError && /was cut \(ECONNRESET\) during "create configmaps "answer-lost" in namespace "default""; it may or may not have taken effect/.test(err.message));
    assert.equal(posts(), 1);
    assert.ok(await client.get(configmaps, 'answer-lost', 'default'), 'the server did create it');
  });

  it('retries a read whose answer was lost', async () => {
    front.inject({ method: 'GET', pathIncludes: '/configmaps/answer-lost', times: 1, fault: { reset: 'before-response' } });
    assert.equal((await client.get(configmaps, 'answer-lost', 'default'))?.metadata.name, 'answer-lost');
    assert.equal(front.seen().filter((s) => s.path.endsWith('/configmaps/answer-lost')).length, 2);
  });

  it('retries a dry-run create, which stores nothing', async () => {
    front.inject({ method: 'POST', pathIncludes: '/configmaps', times: 1, fault: { status: 503 } });
    await client.create(configmaps, cm('dry-retried'), { dryRun: true });
    assert.equal(posts(), 2);
    assert.equal(await client.get(configmaps, 'dry-retried', 'default'), undefined);
  });

  it('resumes a watch from the last version seen when the connection drops, without listing again', async () => {
    const ac = new AbortController();
    const events: { type: string; name: string }[] = [];
    const watching = client.watch(configmaps, { namespace: 'default', signal: ac.signal }, (type, obj) => {
      if (type !== 'BOOKMARK') events.push({ type, name: obj.metadata.name });
    });
    try {
      await client.create(configmaps, cm('before-blip'));
      await waitFor('the first event', () => events.some((e) => e.name === 'before-blip') || undefined);
      const lastVersion = (await client.get(configmaps, 'before-blip', 'default'))!.metadata.resourceVersion!;
      front.dropConnections();
      await waitFor('the watch reconnected', () => front.queries().filter((q) => q.includes('watch=1')).length >= 2 || undefined);
      await client.create(configmaps, cm('after-blip'));
      await waitFor('the event after the blip', () => events.some((e) => e.name === 'after-blip') || undefined);
      const watches = front.queries().filter((q) => q.includes('watch=1'));
      assert.ok(watches.length >= 2, 'the watch reconnected');
      assert.ok(watches.slice(1).some((q) => new URLSearchParams(q).get('resourceVersion') === lastVersion), `resumed from ${lastVersion}: ${watches.join(' | ')}`);
      assert.equal(events.filter((e) => e.name === 'before-blip').length, 1, 'nothing replayed');
      assert.equal(front.seen().filter((s) => s.method === 'GET' && s.path === '/api/v1/namespaces/default/configmaps').length, 1 + watches.length, 'one list, then watches only');
    } finally {
      ac.abort();
      await watching;
    }
  });

  it('keeps at most `parallelism` requests in flight', async () => {
    const narrow = await openThroughFront(2);
    try {
      await narrow.discover();
      front.reset();
      front.inject({ method: 'GET', pathIncludes: '/configmaps/', times: 12, fault: { delayMs: 100 } });
      await Promise.all(Array.from({ length: 12 }, () => narrow.get(configmaps, 'throttled', 'default')));
      assert.equal(front.maxInFlight(), 2);
    } finally {
      narrow.close();
    }
  });
});
