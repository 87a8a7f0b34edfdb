import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { run, waitFor } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';
import { parseTables } from '../../support/kubectlTable';

const examples = path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'kubernetes-examples');

/**
 * Real-world manifests (the kubernetes/examples repository) applied with
 * kubectl reach the states a kind-like cluster (default StorageClass
 * `standard`, two schedulable nodes, no GPUs) shows for them.
 */
describe('sandbox fidelity: kubernetes/examples manifests reach real-cluster states', function () {
  this.timeout(150_000);
  let sandbox: Sandbox;
  const kubectl = (...args: string[]) => run('kubectl', args, { env: { KUBECONFIG: sandbox.kubeconfigPath }, timeoutMs: 60_000 });
  const kubectlOk = async (...args: string[]) => {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async function () {
    if (!existsSync(examples)) this.skip();
    sandbox = await startSandbox({ clusters: ['prod'], seed: false });
    const namespaces = ['guestbook', 'guestbook-go', 'cassandra', 'models', 'gpu'].map((ns) => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}\n`).join('---\n');
    const created = await run('kubectl', ['apply', '-f', '-'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, input: namespaces });
    assert.equal(created.code, 0, created.stderr);
    await kubectlOk('apply', '-n', 'guestbook', '-f', path.join(examples, 'web/guestbook/all-in-one/guestbook-all-in-one.yaml'));
    await kubectlOk('apply', '-n', 'cassandra', '-f', path.join(examples, 'databases/cassandra/cassandra-service.yaml'), '-f', path.join(examples, 'databases/cassandra/cassandra-statefulset.yaml'));
    const tf = path.join(examples, 'AI/model-serving-tensorflow');
    await kubectlOk('apply', '-n', 'models', '-f', path.join(tf, 'pv.yaml'), '-f', path.join(tf, 'pvc.yaml'), '-f', path.join(tf, 'deployment.yaml'));
    await kubectlOk('apply', '-n', 'gpu', '-f', path.join(examples, 'AI/vllm-deployment/vllm-deployment.yaml'));
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('guestbook: every Deployment is fully ready and its Services have endpoints', async () => {
    await waitFor('guestbook deployments to be available', async () => {
      const deploys = parseTables(await kubectlOk('get', 'deploy', '-n', 'guestbook'))[0];
      return deploys.length === 3 && deploys.every((d) => d.READY.split('/')[0] === d.READY.split('/')[1]) || undefined;
    }, 60_000);
    const [deploys, pods] = parseTables(await kubectlOk('get', 'deploy,pods', '-n', 'guestbook'));
    assert.deepEqual(
      deploys.map((d) => [d.NAME, d.READY, d['UP-TO-DATE'], d.AVAILABLE]),
      [
        ['deployment.apps/frontend', '3/3', '3', '3'],
        ['deployment.apps/redis-master', '1/1', '1', '1'],
        ['deployment.apps/redis-replica', '2/2', '2', '2'],
      ].filter((row) => deploys.some((d) => d.NAME === row[0])),
    );
    assert.equal(deploys.length, 3);
    assert.equal(pods.length, 6);
    assert.ok(pods.every((p) => p.READY === '1/1' && p.STATUS === 'Running' && p.RESTARTS === '0'));
    const ep = JSON.parse(await kubectlOk('get', 'endpoints', 'frontend', '-n', 'guestbook', '-o', 'json'));
    assert.equal(ep.subsets[0].addresses.length, 3);
  });

  it('guestbook-go: ReplicationControllers and a Deployment run their pods', async () => {
    const go = path.join(examples, 'web/guestbook-go');
    for (const f of ['redis-master-controller.yaml', 'redis-master-service.yaml', 'redis-replica-controller.yaml', 'redis-replica-service.yaml', 'guestbook-controller.yaml', 'guestbook-service.yaml']) {
      await kubectlOk('apply', '-n', 'guestbook-go', '-f', path.join(go, f));
    }
    await waitFor('guestbook-go to be ready', async () => {
      const out = JSON.parse(await kubectlOk('get', 'rc,deploy', '-n', 'guestbook-go', '-o', 'json'));
      return out.items.length === 3 && out.items.every((o: any) => (o.status.readyReplicas ?? 0) === o.spec.replicas) || undefined;
    }, 60_000);
    const rcs = parseTables(await kubectlOk('get', 'rc', '-n', 'guestbook-go'))[0];
    assert.deepEqual(rcs.map((r) => [r.NAME, r.DESIRED, r.CURRENT, r.READY]).sort(), [
      ['guestbook', '3', '3', '3'],
      ['redis-replica', '2', '2', '2'],
    ]);
  });

  it('cassandra: claims of a class nobody provisions stay Pending, and so does the first pod (as on a real cluster)', async () => {
    // The claim template names class "fast" through the beta annotation; the
    // manifest's own StorageClass uses minikube's provisioner, which a kind-like
    // cluster does not run, so nothing ever provisions the volume.
    await waitFor('the scheduler to give up on cassandra-0', async () => (await kubectl('get', 'pod', 'cassandra-0', '-n', 'cassandra', '-o', 'jsonpath={.status.conditions[0].reason}')).stdout === 'Unschedulable' || undefined, 60_000);
    const [sts, pvcs, pods] = parseTables(await kubectlOk('get', 'sts,pvc,pods', '-n', 'cassandra'));
    assert.deepEqual(sts.map((s) => [s.NAME, s.READY]), [['statefulset.apps/cassandra', '0/3']]);
    assert.deepEqual(pvcs.map((p) => [p.NAME, p.STATUS, p.VOLUME, p.CAPACITY]), [['persistentvolumeclaim/cassandra-data-cassandra-0', 'Pending', '', '']]);
    assert.deepEqual(pods.map((p) => [p.NAME, p.READY, p.STATUS]), [['pod/cassandra-0', '0/1', 'Pending']]);
    const provisioner = (await kubectl('get', 'pvc', 'cassandra-data-cassandra-0', '-n', 'cassandra', '-o', 'jsonpath={.metadata.annotations.volume\\.kubernetes\\.io/storage-provisioner}')).stdout;
    assert.equal(provisioner, 'k8s.io/minikube-hostpath');
    const events = JSON.parse((await kubectl('get', 'events', '-n', 'cassandra', '--field-selector', 'involvedObject.name=cassandra-data-cassandra-0', '-o', 'json')).stdout).items;
    assert.ok(events.some((e: any) => e.reason === 'ExternalProvisioning' && e.message.includes("external provisioner 'k8s.io/minikube-hostpath'")));
  });

  it('tensorflow serving: a claim naming a class-less PersistentVolume stays Pending under the default class, and its pod too', async () => {
    // DefaultStorageClass admission gives the claim "standard"; the static PV has
    // no class, so the binder refuses it, exactly like a kind cluster does.
    await waitFor('the tf-serving pod to be unschedulable', async () => {
      const pods = JSON.parse((await kubectl('get', 'pods', '-n', 'models', '-o', 'json')).stdout).items;
      return pods.length === 1 && pods[0].status.conditions?.[0]?.reason === 'Unschedulable' || undefined;
    }, 60_000);
    const [pvcs] = parseTables(await kubectlOk('get', 'pvc', '-n', 'models'));
    assert.deepEqual(pvcs.map((p) => [p.NAME, p.STATUS, p.VOLUME, p.STORAGECLASS]), [['my-model-pvc', 'Pending', 'my-model-pv', 'standard']]);
    const [pvs] = parseTables(await kubectlOk('get', 'pv', 'my-model-pv'));
    assert.equal(pvs[0].STATUS, 'Available');
    const [deploys] = parseTables(await kubectlOk('get', 'deploy', 'tf-serving', '-n', 'models'));
    assert.equal(deploys[0].READY, '0/1');
  });

  it('vLLM: a pod asking for a GPU stays Pending on nodes without GPUs', async () => {
    const msg = await waitFor('the GPU pod to be unschedulable', async () => {
      const pods = JSON.parse((await kubectl('get', 'pods', '-n', 'gpu', '-o', 'json')).stdout).items;
      return pods[0]?.status.conditions?.[0]?.message as string | undefined;
    }, 60_000);
    assert.match(msg, /^0\/2 nodes are available: 2 Insufficient nvidia\.com\/gpu\./);
    const [, pods] = parseTables(await kubectlOk('get', 'deploy,pods', '-n', 'gpu'));
    assert.deepEqual(pods.map((p) => [p.READY, p.STATUS]), [['0/1', 'Pending']]);
  });
});
