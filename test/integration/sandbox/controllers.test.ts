import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { run, waitFor } from '../../support/proc';
import { startSandbox, type Sandbox } from '../../sandbox';
import { R } from '../../sandbox/controllers/resources';
import { parseTable } from '../../support/kubectlTable';

/** What `kubectl create deployment NAME --image=IMAGE` makes. */
function deployment(ns: string, name: string, image: string, replicas: number): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}, labels: {app: ${name}}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec: {containers: [{name: nginx, image: '${image}'}]}
`;
}

describe('sandbox controllers (workloads, scheduling, volumes) seen through kubectl', function () {
  this.timeout(150_000);
  let sandbox: Sandbox;
  const kubectl = (...args: string[]) => run('kubectl', args, { env: { KUBECONFIG: sandbox.kubeconfigPath }, timeoutMs: 60_000 });
  const kubectlOk = async (...args: string[]) => {
    const r = await kubectl(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const apply = async (yaml: string) => {
    const r = await run('kubectl', ['apply', '-f', '-'], { env: { KUBECONFIG: sandbox.kubeconfigPath }, input: yaml, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
  };
  const jsonpath = async (args: string[], path: string) => (await kubectl(...args, '-o', `jsonpath=${path}`)).stdout;

  before(async () => {
    sandbox = await startSandbox({ clusters: ['prod'], seed: false });
    // The CronJob comes first: it fires at the next minute boundary, so it gets the whole suite.
    await apply(`
apiVersion: v1
kind: Namespace
metadata: {name: work}
---
apiVersion: v1
kind: Namespace
metadata: {name: watch}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: work}
spec:
  schedule: '* * * * *'
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: tick, image: 'busybox:1.36', command: [date]}]
`);
  });
  after(async () => {
    await sandbox?.stop();
  });

  it('streams the first pod events of a new Deployment to kubectl get pods -w', async () => {
    // All namespaces: the initial list (kube-system's pods) shows when the watch is in place.
    const watcher = spawn('kubectl', ['get', 'pods', '-A', '-w'], { env: { ...process.env, KUBECONFIG: sandbox.kubeconfigPath } });
    let out = '';
    watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('kubectl to list the existing pods', () => /coredns-/.test(out) || undefined, 30_000);
      await apply(deployment('watch', 'hello', 'nginx:1.27.2', 1));
      await waitFor('a Running event', () => /\nwatch\s+hello-\S+\s+1\/1\s+Running/.test(out) || undefined, 30_000);
    } finally {
      watcher.kill('SIGKILL');
    }
    const lines = out.trim().split('\n');
    assert.match(lines[0], /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    const statuses = lines.filter((l) => l.startsWith('watch ')).map((l) => l.split(/\s+/).slice(2, 4).join(' '));
    assert.equal(statuses[0], '0/1 Pending', out);
    const creating = statuses.indexOf('0/1 ContainerCreating');
    const running = statuses.indexOf('1/1 Running');
    assert.ok(creating > 0 && running > creating, `Pending → ContainerCreating → Running:\n${out}`);
  });

  it('rolls a Deployment to a new ReplicaSet revision on an image change', async () => {
    await apply(deployment('work', 'roll', 'nginx:1.27.1', 2));
    await kubectlOk('rollout', 'status', 'deploy/roll', '-n', 'work', '--timeout=60s');
    await kubectlOk('set', 'image', 'deploy/roll', '-n', 'work', 'nginx=nginx:1.27.2');
    assert.match(await kubectlOk('rollout', 'status', 'deploy/roll', '-n', 'work', '--timeout=60s'), /successfully rolled out/);
    const rs = parseTable(await kubectlOk('get', 'rs', '-n', 'work', '-l', 'app=roll', '--sort-by=.metadata.creationTimestamp'));
    assert.equal(rs.length, 2);
    assert.deepEqual([rs[0].DESIRED, rs[0].CURRENT, rs[0].READY], ['0', '0', '0']);
    assert.deepEqual([rs[1].DESIRED, rs[1].CURRENT, rs[1].READY], ['2', '2', '2']);
    const revisions = await jsonpath(['get', 'rs', '-n', 'work', '-l', 'app=roll', '--sort-by=.metadata.creationTimestamp'], '{.items[*].metadata.annotations.deployment\\.kubernetes\\.io/revision}');
    assert.equal(revisions, '1 2');
    const images = await jsonpath(['get', 'pods', '-n', 'work', '-l', 'app=roll'], '{.items[*].spec.containers[0].image}');
    await waitFor('old pods to go', async () => (await jsonpath(['get', 'pods', '-n', 'work', '-l', 'app=roll'], '{.items[*].spec.containers[0].image}')) === 'nginx:1.27.2 nginx:1.27.2' || undefined, 30_000).catch(() => assert.fail(`pods still on ${images}`));
  });

  it('replaces every old pod before starting new ones under the Recreate strategy', async () => {
    await apply(deployment('work', 'single', 'nginx:1.27.1', 1).replace('spec:\n  replicas', 'spec:\n  strategy: {type: Recreate}\n  replicas'));
    await kubectlOk('rollout', 'status', 'deploy/single', '-n', 'work', '--timeout=60s');
    await kubectlOk('set', 'image', 'deploy/single', '-n', 'work', 'nginx=nginx:1.27.2');
    await kubectlOk('rollout', 'status', 'deploy/single', '-n', 'work', '--timeout=60s');
    const api = sandbox.clusters.get('prod')!.api;
    const events = (await api.list(R.events, 'work'))
      .filter((e) => e.involvedObject.name === 'single' && e.reason === 'ScalingReplicaSet')
      .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
      .map((e) => e.message.replace(/single-\w+/, 'RS'));
    assert.deepEqual(events, ['Scaled up replica set RS from 0 to 1', 'Scaled down replica set RS from 1 to 0', 'Scaled up replica set RS from 0 to 1']);
  });

  it('creates StatefulSet pods in order with a claim each, and keeps the claims when scaled down', async () => {
    await apply(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kv, namespace: work}
spec:
  serviceName: kv
  replicas: 3
  selector: {matchLabels: {app: kv}}
  template:
    metadata: {labels: {app: kv}}
    spec:
      containers:
      - name: kv
        image: redis:7.2
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 256Mi}}}
`);
    await kubectlOk('rollout', 'status', 'sts/kv', '-n', 'work', '--timeout=60s');
    const api = sandbox.clusters.get('prod')!.api;
    const pods = (await api.list(R.pods, 'work')).filter((p) => p.metadata.labels?.app === 'kv');
    pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    assert.deepEqual(pods.map((p) => p.metadata.name), ['kv-0', 'kv-1', 'kv-2']);
    for (let i = 1; i < 3; i++) {
      assert.ok(Date.parse(pods[i].metadata.creationTimestamp!) >= Date.parse(pods[i - 1].status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime), `kv-${i} waits for kv-${i - 1} to be ready`);
    }
    const pvcs = parseTable(await kubectlOk('get', 'pvc', '-n', 'work'));
    assert.deepEqual(pvcs.map((p) => [p.NAME, p.STATUS, p.CAPACITY, p.STORAGECLASS]), [
      ['data-kv-0', 'Bound', '256Mi', 'standard'],
      ['data-kv-1', 'Bound', '256Mi', 'standard'],
      ['data-kv-2', 'Bound', '256Mi', 'standard'],
    ]);
    const sts = parseTable(await kubectlOk('get', 'sts', 'kv', '-n', 'work'))[0];
    assert.equal(sts.READY, '3/3');
    // A template change replaces pods from the highest ordinal down, each once the others are ready.
    const before = await jsonpath(['get', 'sts', 'kv', '-n', 'work'], '{.status.updateRevision}');
    await kubectlOk('set', 'image', 'sts/kv', '-n', 'work', 'kv=redis:7.4');
    await kubectlOk('rollout', 'status', 'sts/kv', '-n', 'work', '--timeout=60s');
    await waitFor('every kv pod on the new image', async () => (await jsonpath(['get', 'pods', '-n', 'work', '-l', 'app=kv'], '{.items[*].spec.containers[0].image}')) === 'redis:7.4 redis:7.4 redis:7.4' || undefined, 60_000);
    const revisions = await jsonpath(['get', 'sts', 'kv', '-n', 'work'], '{.status.currentRevision} {.status.updateRevision}');
    const [current, update] = revisions.split(' ');
    assert.equal(current, update);
    assert.notEqual(update, before);
    await kubectlOk('scale', 'sts/kv', '-n', 'work', '--replicas=1');
    await waitFor('kv-1 and kv-2 to go', async () => (await jsonpath(['get', 'pods', '-n', 'work', '-l', 'app=kv'], '{.items[*].metadata.name}')) === 'kv-0' || undefined, 30_000);
    assert.equal((await jsonpath(['get', 'pvc', '-n', 'work'], '{.items[*].metadata.name}')).split(' ').length, 3);
  });

  it('runs Job pods to completion', async () => {
    await apply(`
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: work}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: 'busybox:1.36', command: [echo, done]}]
`);
    await kubectlOk('wait', '--for=condition=complete', 'job/once', '-n', 'work', '--timeout=60s');
    const job = parseTable(await kubectlOk('get', 'job', 'once', '-n', 'work'))[0];
    assert.equal(job.STATUS, 'Complete');
    assert.equal(job.COMPLETIONS, '1/1');
    const pod = parseTable(await kubectlOk('get', 'pods', '-n', 'work', '-l', 'job-name=once'))[0];
    assert.deepEqual([pod.READY, pod.STATUS], ['0/1', 'Completed']);
    assert.ok(await jsonpath(['get', 'job', 'once', '-n', 'work'], '{.status.completionTime}'));
    await apply(`
apiVersion: batch/v1
kind: Job
metadata: {name: batch, namespace: work}
spec:
  completions: 3
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: step, image: 'busybox:1.36', command: ['true']}]
`);
    await kubectlOk('wait', '--for=condition=complete', 'job/batch', '-n', 'work', '--timeout=60s');
    assert.equal(parseTable(await kubectlOk('get', 'job', 'batch', '-n', 'work'))[0].COMPLETIONS, '3/3');
    assert.equal((await jsonpath(['get', 'pods', '-n', 'work', '-l', 'job-name=batch'], '{.items[*].status.phase}')).split(' ').length, 3);
  });

  it('runs one DaemonSet pod per node', async () => {
    await apply(`
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: work}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: fluent/fluent-bit:3.1}]}
`);
    await kubectlOk('rollout', 'status', 'ds/agent', '-n', 'work', '--timeout=60s');
    const ds = parseTable(await kubectlOk('get', 'ds', 'agent', '-n', 'work'))[0];
    assert.deepEqual([ds.DESIRED, ds.CURRENT, ds.READY, ds['UP-TO-DATE'], ds.AVAILABLE], ['2', '2', '2', '2', '2']);
    const nodes = (await jsonpath(['get', 'pods', '-n', 'work', '-l', 'app=agent'], '{.items[*].spec.nodeName}')).split(' ').sort();
    assert.deepEqual(nodes, ['sandbox-prod-node-1', 'sandbox-prod-node-2']);
  });

  it('keeps a ReplicationController`s pods at its replica count', async () => {
    await apply(`
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy, namespace: work}
spec:
  replicas: 2
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: legacy, image: nginx:1.27.2}]}
`);
    await waitFor('the RC to be ready', async () => (await jsonpath(['get', 'rc', 'legacy', '-n', 'work'], '{.status.readyReplicas}')) === '2' || undefined, 30_000);
  });

  it('keeps a pod Pending while its claim has no StorageClass, and runs it once one appears', async () => {
    await apply(`
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: late, namespace: work}
spec:
  storageClassName: late-class
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: waits, namespace: work}
spec:
  containers: [{name: app, image: busybox:1.36, command: [sleep, infinity], volumeMounts: [{name: d, mountPath: /d}]}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: late}}]
`);
    await waitFor('the scheduler to report the unbound claim', async () => /unbound immediate PersistentVolumeClaims/.test(await jsonpath(['get', 'pod', 'waits', '-n', 'work'], '{.status.conditions[0].message}')) || undefined, 30_000);
    assert.equal(parseTable(await kubectlOk('get', 'pvc', 'late', '-n', 'work'))[0].STATUS, 'Pending');
    assert.equal(parseTable(await kubectlOk('get', 'pod', 'waits', '-n', 'work'))[0].STATUS, 'Pending');
    await apply(`
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: late-class}
provisioner: hostpath.sandbox.lifeboat.dev
reclaimPolicy: Retain
`);
    await kubectlOk('wait', '--for=jsonpath={.status.phase}=Running', 'pod/waits', '-n', 'work', '--timeout=60s');
    const pv = await jsonpath(['get', 'pvc', 'late', '-n', 'work'], '{.spec.volumeName}');
    assert.equal(await jsonpath(['get', 'pv', pv], '{.spec.claimRef.name} {.status.phase} {.spec.persistentVolumeReclaimPolicy}'), 'late Bound Retain');
    assert.equal(await jsonpath(['get', 'pvc', 'late', '-n', 'work'], '{.metadata.finalizers}'), '["kubernetes.io/pvc-protection"]');
    // A claim in use is only marked for deletion (kubectl shows Terminating) until its pod is gone.
    await kubectlOk('delete', 'pvc', 'late', '-n', 'work', '--wait=false');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(parseTable(await kubectlOk('get', 'pvc', 'late', '-n', 'work'))[0].STATUS, 'Terminating');
    await kubectlOk('delete', 'pod', 'waits', '-n', 'work', '--wait=true');
    await waitFor('the claim to go with its pod', async () => (await kubectl('get', 'pvc', 'late', '-n', 'work')).code !== 0 || undefined, 30_000);
    await waitFor('the retained volume to be Released', async () => (await jsonpath(['get', 'pv', pv], '{.status.phase}')) === 'Released' || undefined, 30_000);
  });

  it('creates a Job from a CronJob on schedule', async () => {
    await waitFor('the CronJob to schedule a Job', async () => (await jsonpath(['get', 'cronjob', 'tick', '-n', 'work'], '{.status.lastScheduleTime}')) || undefined, 75_000);
    const jobs = JSON.parse(await kubectlOk('get', 'jobs', '-n', 'work', '-o', 'json')).items.filter((j: any) => j.metadata.ownerReferences?.[0]?.name === 'tick');
    assert.equal(jobs.length, 1);
    assert.match(jobs[0].metadata.name, /^tick-\d{8}$/);
    assert.ok(jobs[0].metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp']);
  });
});
