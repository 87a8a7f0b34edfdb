import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { run, waitFor } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';
import { HostDirs } from '../../sandbox/controllers/hostdirs';
import { R } from '../../sandbox/controllers/resources';
import { parseTables } from '../../support/kubectlTable';

describe('sandbox clusters (startSandbox: prod seeded, dev empty; kubectl and client-node)', function () {
  this.timeout(120_000);
  let sandbox: Sandbox;
  const kubectl = async (...args: string[]) => {
    const r = await run('kubectl', args, { env: { KUBECONFIG: sandbox.kubeconfigPath }, timeoutMs: 60_000 });
    return r;
  };
  const kubectlOk = async (...args: string[]) => {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    sandbox = await startSandbox();
  });
  after(async () => {
    const dirs = sandbox ? [...sandbox.clusters.values()].map((c) => c.dataDir) : [];
    await sandbox?.stop();
    for (const d of dirs) assert.ok(!existsSync(d), `${d} is removed on stop`);
  });

  it('writes one kubeconfig with admin and restricted contexts for prod and dev', async () => {
    assert.deepEqual(sandbox.contexts, ['sandbox-prod', 'sandbox-prod-restricted', 'sandbox-dev', 'sandbox-dev-restricted']);
    assert.equal((await kubectlOk('config', 'current-context')).trim(), 'sandbox-prod');
    assert.deepEqual((await kubectlOk('config', 'get-contexts', '-o', 'name')).trim().split('\n').sort(), [...sandbox.contexts].sort());
    const nodes = parseTables(await kubectlOk('--context', 'sandbox-dev', 'get', 'nodes'))[0];
    assert.deepEqual(
      nodes.map((n) => [n.NAME, n.STATUS, n.VERSION]),
      [
        ['sandbox-dev-node-1', 'Ready', 'v1.32.0'],
        ['sandbox-dev-node-2', 'Ready', 'v1.32.0'],
      ],
    );
    const denied = await kubectl('--context', 'sandbox-prod-restricted', 'get', 'secrets', '-n', 'shop');
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /forbidden/);
    assert.match(await kubectlOk('--context', 'sandbox-prod-restricted', 'get', 'pods', '-n', 'shop'), /db-0/);
  });

  it('shows the seeded shop the way a real cluster does (kubectl get deploy,sts,pvc,pods)', async () => {
    const [deploys, sts, pvcs, pods] = parseTables(await kubectlOk('get', 'deploy,sts,pvc,pods', '-n', 'shop'));
    assert.deepEqual(
      deploys.map((d) => [d.NAME, d.READY, d['UP-TO-DATE'], d.AVAILABLE]),
      [
        ['deployment.apps/api', '2/2', '2', '2'],
        ['deployment.apps/web', '2/2', '2', '2'],
      ],
    );
    assert.deepEqual(sts.map((s) => [s.NAME, s.READY]), [['statefulset.apps/db', '1/1']]);
    assert.equal(pvcs.length, 1);
    assert.equal(pvcs[0].NAME, 'persistentvolumeclaim/data-db-0');
    assert.equal(pvcs[0].STATUS, 'Bound');
    assert.match(pvcs[0].VOLUME, /^pvc-[0-9a-f-]{36}$/);
    assert.equal(pvcs[0].CAPACITY, '1Gi');
    assert.equal(pvcs[0]['ACCESS MODES'], 'RWO');
    assert.equal(pvcs[0].STORAGECLASS, 'standard');
    assert.equal(pods.length, 5);
    for (const p of pods) {
      assert.equal(p.READY, '1/1', p.NAME);
      assert.equal(p.STATUS, 'Running', p.NAME);
      assert.equal(p.RESTARTS, '0', p.NAME);
    }
    assert.ok(pods.some((p) => p.NAME === 'pod/db-0'));
    assert.equal(pods.filter((p) => /^pod\/api-[bcdfghjklmnpqrstvwxz2456789]+-[bcdfghjklmnpqrstvwxz2456789]{5}$/.test(p.NAME)).length, 2);
  });

  it('fills pod, ReplicaSet and Deployment status like the real controllers', async () => {
    const api = sandbox.clusters.get('prod')!.api;
    const deploy = (await api.get(R.deployments, 'shop', 'api'))!;
    assert.equal(deploy.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.deepEqual(
      deploy.status.conditions.map((c: any) => [c.type, c.status, c.reason]),
      [
        ['Available', 'True', 'MinimumReplicasAvailable'],
        ['Progressing', 'True', 'NewReplicaSetAvailable'],
      ],
    );
    assert.equal(deploy.status.observedGeneration, deploy.metadata.generation);
    const rss = (await api.list(R.replicasets, 'shop')).filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === deploy.metadata.uid);
    assert.equal(rss.length, 1);
    const hash = rss[0].metadata.labels?.['pod-template-hash'];
    assert.equal(rss[0].metadata.name, `api-${hash}`);
    assert.equal(rss[0].status.readyReplicas, 2);
    const pods = (await api.list(R.pods, 'shop')).filter((p) => p.metadata.labels?.app === 'api');
    for (const pod of pods) {
      assert.equal(pod.metadata.labels?.['pod-template-hash'], hash);
      assert.equal(pod.metadata.ownerReferences?.[0]?.name, rss[0].metadata.name);
      assert.match(pod.spec.nodeName, /^sandbox-prod-node-[12]$/);
      assert.match(pod.status.podIP, /^10\.244\.\d+\.\d+$/);
      assert.match(pod.status.hostIP, /^172\.18\.0\.\d+$/);
      const conds = Object.fromEntries(pod.status.conditions.map((c: any) => [c.type, c.status]));
      for (const t of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) assert.equal(conds[t], 'True', t);
      const cs = pod.status.containerStatuses[0];
      assert.equal(cs.ready, true);
      assert.equal(cs.started, true);
      assert.equal(cs.restartCount, 0);
      assert.ok(cs.state.running.startedAt);
      assert.match(cs.imageID, /^ghcr\.io\/example-shop\/api@sha256:[0-9a-f]{64}$/);
      assert.match(cs.containerID, /^containerd:\/\/[0-9a-f]{64}$/);
    }
    assert.equal(new Set(pods.map((p) => p.status.podIP)).size, 2);
    const sts = (await api.get(R.statefulsets, 'shop', 'db'))!;
    assert.equal(sts.status.currentRevision, sts.status.updateRevision);
    assert.match(sts.status.updateRevision, /^db-/);
  });

  it('records the events kubectl describe shows', async () => {
    const events = JSON.parse(await kubectlOk('get', 'events', '-n', 'shop', '-o', 'json')).items as any[];
    const about = (kind: string, name: string) => events.filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name).map((e) => e.reason);
    // db-0 may first wait for its claim to bind (FailedScheduling), as on a real cluster.
    assert.deepEqual(about('Pod', 'db-0').filter((r) => r !== 'FailedScheduling').sort(), ['Created', 'Pulled', 'Scheduled', 'Started']);
    assert.deepEqual(about('StatefulSet', 'db'), ['SuccessfulCreate', 'SuccessfulCreate']);
    assert.ok(about('PersistentVolumeClaim', 'data-db-0').includes('ProvisioningSucceeded'));
    assert.deepEqual(about('Deployment', 'api'), ['ScalingReplicaSet']);
    const describe = await kubectlOk('describe', 'pod', 'db-0', '-n', 'shop');
    assert.match(describe, /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned shop\/db-0 to sandbox-prod-node-\d/);
    assert.match(describe, /Normal\s+Started\s+\S+\s+kubelet\s+Started container postgres/);
  });

  it('gives every namespace its default ServiceAccount and kube-root-ca.crt, and Services their endpoints', async () => {
    const prod = sandbox.clusters.get('prod')!;
    const created = await run('kubectl', ['apply', '-f', '-'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, input: 'apiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n' });
    assert.equal(created.code, 0, created.stderr);
    const cm = await waitFor('kube-root-ca.crt in a new namespace', () => prod.api.get(R.configmaps, 'fresh', 'kube-root-ca.crt'));
    assert.equal(cm.data['ca.crt'], prod.caCert);
    await waitFor('the default ServiceAccount', () => prod.api.get(R.serviceaccounts, 'fresh', 'default'));
    const ep = JSON.parse(await kubectlOk('get', 'endpoints', 'api', '-n', 'shop', '-o', 'json'));
    assert.equal(ep.subsets[0].addresses.length, 2);
    assert.deepEqual(ep.subsets[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const slices = JSON.parse(await kubectlOk('get', 'endpointslices', '-n', 'shop', '-l', 'kubernetes.io/service-name=api', '-o', 'json'));
    assert.equal(slices.items.length, 1);
    assert.equal(slices.items[0].endpoints.length, 2);
    assert.ok(slices.items[0].endpoints.every((e: any) => e.conditions.ready === true));
  });

  it('scales Deployments up and down', async () => {
    await kubectlOk('scale', 'deploy/web', '-n', 'shop', '--replicas=3');
    await waitFor('3 ready web pods', async () => (await kubectl('get', 'deploy', 'web', '-n', 'shop', '-o', 'jsonpath={.status.readyReplicas}')).stdout === '3' || undefined, 30_000);
    await kubectlOk('scale', 'deploy/web', '-n', 'shop', '--replicas=1');
    await waitFor('one web pod left', async () => {
      const pods = JSON.parse((await kubectl('get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'json')).stdout).items;
      return pods.length === 1 || undefined;
    }, 30_000);
    assert.match(await kubectlOk('rollout', 'status', 'deploy/web', '-n', 'shop', '--timeout=30s'), /successfully rolled out/);
  });

  it('lists the seeded workloads through client-node', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(sandbox.kubeconfigPath);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const list = await apps.listNamespacedDeployment({ namespace: 'shop' });
    assert.deepEqual(list.items.map((d) => d.metadata?.name).sort(), ['api', 'web']);
    const api = list.items.find((d) => d.metadata?.name === 'api')!;
    assert.equal(api.metadata?.annotations?.['lifeboat.dev/backup'], 'true');
    assert.equal(api.status?.readyReplicas, 2);
    kc.setCurrentContext('sandbox-dev');
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    assert.ok(names.includes('default') && names.includes('kube-system'));
    assert.ok(!names.includes('shop'), 'dev starts without the sample application');
  });

  it('deletes a namespace with everything in it, reclaiming its volume', async () => {
    const prod = sandbox.clusters.get('prod')!;
    const pvc = (await prod.api.get(R.pvcs, 'billing', 'invoices'))!;
    const pv = (await prod.api.get(R.pvs, undefined, pvc.spec.volumeName))!;
    const dir = new HostDirs(prod.dataDir).ofPersistentVolume(pv)!;
    assert.ok(existsSync(`${dir}/2026/09`), 'the volume holds the seeded invoices');
    const r = await kubectl('delete', 'namespace', 'billing', '--timeout=60s');
    assert.equal(r.code, 0, r.stderr);
    const gone = await kubectl('get', 'namespace', 'billing');
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /namespaces "billing" not found/);
    assert.deepEqual(await prod.api.list(R.pods, 'billing'), []);
    assert.deepEqual(await prod.api.list(R.configmaps, 'billing'), []);
    await waitFor('the released volume to be deleted', async () => !(await prod.api.get(R.pvs, undefined, pv.metadata.name)) || undefined, 30_000);
    await waitFor('its directory to be removed', () => !existsSync(dir) || undefined, 30_000);
  });
});
