/**
 * Post-restore hooks on the dev sandbox: pods annotated the Velero way or
 * Lifeboat's, each hook's command run in the pod once it runs (the sandbox
 * runs it as a real process seeing the pod's volumes), with on-error,
 * exec-timeout and wait-timeout honoured.
 */
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { openKubeClient } from '../../../src/engine/kube/client';
import type { KubeClient } from '../../../src/engine/kube/types';
import { logTo, type LogRecord } from '../../../src/engine/log';
import { runRestoreHooks } from '../../../src/engine/restore/hooks';
import type { RestoreRecordEntry } from '../../../src/engine/restore/types';
import { startSandbox, type Cluster, type Sandbox } from '../../sandbox';
import { boundClaim, ensureNamespace, kindsOf, type Kinds } from '../capture/volumeFixtures';

describe('post-restore hooks', function () {
  this.timeout(180_000);
  let sandbox: Sandbox;
  let dev: Cluster;
  let kube: KubeClient;
  let kinds: Kinds;
  let dataDir: string;

  before(async () => {
    sandbox = await startSandbox({ clusters: ['dev'] });
    dev = sandbox.clusters.get('dev')!;
    kube = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-dev' });
    kinds = await kindsOf(kube);
    await ensureNamespace(kube, kinds, 'hooked');
    await ensureNamespace(kube, kinds, 'elsewhere');
    await boundClaim(kube, kinds, 'hooked', 'data');
    dataDir = (await dev.claimDir('hooked', 'data'))!;
  });

  after(async () => {
    kube?.close();
    await sandbox?.stop();
  });

  /** A pod mounting hooked/data at /data, with these annotations; `pending` pins it to a node that does not exist. */
  async function pod(name: string, annotations: Record<string, string>, options: { namespace?: string; pending?: boolean } = {}): Promise<void> {
    const namespace = options.namespace ?? 'hooked';
    await kube.create(kinds.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, annotations },
      spec: {
        ...(options.pending ? { nodeSelector: { 'kubernetes.io/hostname': 'no-such-node' } } : {}),
        containers: [
          { name: 'app', image: 'docker.io/library/busybox:1.37', command: ['sleep', 'infinity'], volumeMounts: namespace === 'hooked' ? [{ name: 'data', mountPath: '/data' }] : [] },
          { name: 'sidecar', image: 'docker.io/library/busybox:1.37', command: ['sleep', 'infinity'] },
        ],
        volumes: namespace === 'hooked' ? [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] : [],
      },
    });
  }

  const velero = (field: string): string => `post.hook.restore.velero.io/${field}`;
  const lifeboat = (field: string): string => `post.hook.restore.lifeboat.dev/${field}`;
  const writes = (marker: string): string => JSON.stringify(['/bin/sh', '-c', `echo "ran in $HOSTNAME" > /data/${marker}`]);
  const byName = (entries: RestoreRecordEntry[]): Map<string, RestoreRecordEntry> => new Map(entries.map((e) => [e.name, e]));

  it('runs each restored pod\'s hook once it runs, honouring on-error, exec-timeout, wait-timeout and Lifeboat\'s annotations over Velero\'s', async () => {
    await pod('before-restore', { [velero('command')]: writes('old-pod-marker') });
    await new Promise((r) => setTimeout(r, 1100));
    const since = new Date();
    await pod('velero', { [velero('command')]: writes('velero-marker'), [velero('container')]: 'app' });
    await pod('both', { [velero('command')]: writes('overridden-marker'), [lifeboat('command')]: writes('lifeboat-marker') });
    await pod('fails', { [lifeboat('command')]: JSON.stringify(['/bin/sh', '-c', 'echo broken state >&2; exit 3']), [lifeboat('on-error')]: 'Fail' });
    await pod('fails-softly', { [velero('command')]: JSON.stringify(['/bin/sh', '-c', 'exit 4']), [velero('on-error')]: 'Continue' });
    await pod('slow', { [lifeboat('command')]: JSON.stringify(['sleep', '20']), [lifeboat('exec-timeout')]: '1s' });
    await pod('never-runs', { [lifeboat('command')]: writes('never-marker'), [lifeboat('wait-timeout')]: '2s' }, { pending: true });
    await pod('plain', { [velero('command')]: '/bin/true' });
    await pod('plain-words', { [velero('command')]: 'echo hi' });
    await pod('misnamed', { [velero('command')]: '["true"]', [velero('container')]: 'nope' });
    await pod('no-hook', {});
    await pod('other-namespace', { [velero('command')]: '["true"]' }, { namespace: 'elsewhere' });

    const logs: LogRecord[] = [];
    const started = Date.now();
    const entries = await runRestoreHooks(kube, { namespaces: ['hooked'], since }, { log: logTo((r) => logs.push(r)) });
    assert.ok(Date.now() - started < 20_000, 'the exec-timeout stopped the slow hook');
    const got = byName(entries);
    assert.deepEqual([...got.keys()].sort(), ['both', 'fails', 'fails-softly', 'misnamed', 'never-runs', 'plain', 'plain-words', 'slow', 'velero'], 'hooks of pods made since the restore began, in its namespaces');
    for (const e of entries) assert.deepEqual({ group: e.group, kind: e.kind, namespace: e.namespace }, { group: '', kind: 'Pod', namespace: 'hooked' });

    assert.equal(got.get('velero')?.outcome, 'hook-ran');
    assert.match(got.get('velero')!.message!, /^post\.hook\.restore\.velero\.io\/command ran in container app \(\d+ ms\)$/);
    assert.equal(await readFile(path.join(dataDir, 'velero-marker'), 'utf8'), 'ran in velero\n');
    assert.equal(got.get('both')?.outcome, 'hook-ran');
    assert.match(got.get('both')!.message!, /^post\.hook\.restore\.lifeboat\.dev\/command ran/);
    assert.ok(existsSync(path.join(dataDir, 'lifeboat-marker')) && !existsSync(path.join(dataDir, 'overridden-marker')), 'Lifeboat\'s annotation won');
    assert.ok(!existsSync(path.join(dataDir, 'old-pod-marker')), 'a pod older than the restore is left alone');

    assert.equal(got.get('fails')?.outcome, 'failed');
    assert.match(got.get('fails')!.message!, /^pod hooked\/fails: restore-hook post\.hook\.restore\.lifeboat\.dev\/command \(container app\) failed: exit status 3; output ends with: broken state$/);
    assert.equal(got.get('fails-softly')?.outcome, 'hook-ran');
    assert.match(got.get('fails-softly')!.message!, /failed: exit status 4 \(on-error Continue: the restore went on\)$/);
    assert.ok(logs.some((l) => l.level === 'warn' && /hooked\/fails-softly.*on-error Continue/.test(l.message)), 'a Continue failure is a warning');
    assert.equal(got.get('slow')?.outcome, 'failed');
    assert.match(got.get('slow')!.message!, /failed: timed out after 1s/);
    assert.equal(got.get('never-runs')?.outcome, 'failed');
    assert.match(got.get('never-runs')!.message!, /failed: the pod was not Running within the wait-timeout of 2s \(phase Pending\)/);
    assert.equal(got.get('plain')?.outcome, 'hook-ran', 'a plain string is the program to run');
    assert.equal(got.get('plain-words')?.outcome, 'failed', 'a plain string is one argv element, never a shell line');
    assert.equal(got.get('misnamed')?.outcome, 'failed');
    assert.match(got.get('misnamed')!.message!, /annotation post\.hook\.restore\.velero\.io\/container names container "nope", which the pod does not have \(it has app, sidecar\)/);
  });

  it('refuses a duration it cannot read, naming the annotation', async () => {
    const since = new Date(Date.now() - 1000);
    await ensureNamespace(kube, kinds, 'badtime');
    await kube.create(kinds.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'badtime', annotations: { [velero('command')]: '["true"]', [velero('wait-timeout')]: 'soon' } },
      spec: { containers: [{ name: 'app', image: 'docker.io/library/busybox:1.37', command: ['sleep', 'infinity'] }] },
    });
    const [entry] = await runRestoreHooks(kube, { namespaces: ['badtime'], since });
    assert.equal(entry.outcome, 'failed');
    assert.match(entry.message!, /annotation post\.hook\.restore\.velero\.io\/wait-timeout is "soon": use a duration such as 30s/);
  });
});
