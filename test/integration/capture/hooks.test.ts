/**
 * Backup hooks around volume reads, run for real in sandbox pods through
 * the exec API: order, container choice, on-error, timeouts.
 */
import { strict as assert } from 'node:assert';
import { readFile, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { captureVolumes } from '../../../src/engine/capture/volumes';
import { HookFailedError } from '../../../src/engine/capture/hooks';
import type { KubeClient } from '../../../src/engine/kube/types';
import { openFile, Repository, SnapshotWriter } from '../../../src/engine/repo/api';
import type { Cluster, Sandbox } from '../../sandbox';
import { boundClaim, captureLeftovers, ensureNamespace, runningPod, until, volumeTarget, type Kinds, startVolumeTestBed } from './volumeFixtures';

const CLUSTER = 'sandbox-prod';
const NS = 'hooks';

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of stream) out += String(c);
  return out;
}

describe('backup hooks around volume reads', function () {
  this.timeout(180_000);
  let sandbox: Sandbox;
  let cluster: Cluster;
  let kube: KubeClient;
  let kinds: Kinds;
  let work: string;
  let repo: Repository;

  before(async () => {
    ({ sandbox, cluster, kube, kinds, work, repo } = await startVolumeTestBed('hooks'));
    await ensureNamespace(kube, kinds, NS);
  });

  after(async () => {
    kube?.close();
    await sandbox?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function podWithVolume(name: string, annotations: Record<string, string>) {
    await boundClaim(kube, kinds, NS, `${name}-data`);
    const pod = await runningPod(kube, kinds, NS, name, { claim: `${name}-data`, annotations });
    return { pod, target: await volumeTarget(kube, kinds, NS, `${name}-data`) };
  }

  it('runs the pre-hook before the volume is snapshotted and the post-hook after, in the container each names; a pod without volumes gets both in order', async () => {
    const { pod, target } = await podWithVolume('ordered', {
      'pre.hook.backup.velero.io/container': 'helper',
      'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo pre-$WHO >> /data/hook-order.log"]',
      'post.hook.backup.lifeboat.dev/command': '["/bin/sh","-c","echo post-$WHO >> /data/hook-order.log"]',
    });
    const bare = await runningPod(kube, kinds, NS, 'no-volume', {
      scratch: true,
      annotations: {
        'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo pre >> /scratch/order"]',
        'post.hook.backup.velero.io/command': '["/bin/sh","-c","echo post >> /scratch/order"]',
      },
    });
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    const result = await captureVolumes(kube, { volumes: [target], hookPods: [pod, bare] }, writer, { repo, cluster: CLUSTER });
    const snapshot = await writer.commit();
    assert.deepEqual(result.warnings, []);
    const live = await readFile(path.join((await cluster.claimDir(NS, 'ordered-data'))!, 'hook-order.log'), 'utf8');
    assert.equal(live, 'pre-helper\npost-app\n', 'pre ran in the named container, post in the first one, in that order');
    const stored = await text(await openFile(repo, snapshot.id, { namespace: NS, pvc: 'ordered-data' }, '/hook-order.log'));
    assert.equal(stored, 'pre-helper\n', 'the volume was captured after the pre-hook and before the post-hook');
    let order = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        order += String(chunk);
        done();
      },
    });
    await kube.exec(NS, 'no-volume', ['cat', '/scratch/order'], { container: 'app', stdout: sink });
    assert.equal(order, 'pre\npost\n');
  });

  it('on-error Continue turns a failed hook into a warning and the volume is read', async () => {
    const { pod, target } = await podWithVolume('lenient', {
      'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo cannot reach the database >&2; exit 3"]',
      'pre.hook.backup.velero.io/on-error': 'Continue',
      'post.hook.backup.velero.io/command': '["/bin/sh","-c","sleep 5"]',
      'post.hook.backup.velero.io/timeout': '500ms',
      'post.hook.backup.velero.io/on-error': 'Continue',
    });
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    const result = await captureVolumes(kube, { volumes: [target], hookPods: [pod] }, writer, { repo, cluster: CLUSTER });
    const snapshot = await writer.commit();
    assert.deepEqual(result.warnings, [
      'pod hooks/lenient: pre-hook pre.hook.backup.velero.io/command (container app) failed: exit status 3; output ends with: cannot reach the database (on-error Continue: the capture went on)',
      'pod hooks/lenient: post-hook post.hook.backup.velero.io/command (container app) failed: timed out after 500ms (on-error Continue: the capture went on)',
    ]);
    assert.equal(snapshot.counts.volumes, 1);
  });

  it('on-error Fail fails the capture, naming the pod and the hook, and leaves nothing behind', async () => {
    const { pod, target } = await podWithVolume('strict', {
      'pre.hook.backup.velero.io/command': '["/bin/sh","-c","exit 4"]',
      'post.hook.backup.velero.io/command': '["/bin/sh","-c","touch /data/post-ran"]',
    });
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    await assert.rejects(
      captureVolumes(kube, { volumes: [target], hookPods: [pod] }, writer, { repo, cluster: CLUSTER }),
      (err: Error) => err instanceof HookFailedError && err.message === 'pod hooks/strict: pre-hook pre.hook.backup.velero.io/command (container app) failed: exit status 4',
    );
    await writer.abort();
    await assert.rejects(stat(path.join((await cluster.claimDir(NS, 'strict-data'))!, 'post-ran')), { code: 'ENOENT' }, 'a pod whose pre-hook failed gets no post-hook');
    assert.deepEqual(await until('capture objects gone', async () => ((await captureLeftovers(kube, kinds)).length === 0 ? [] : undefined), 10_000), []);
  });

  it("the seeded database's CHECKPOINT pre-hook runs (falling back to sync where no PostgreSQL runs) and its volume is read", async () => {
    const target = await volumeTarget(kube, kinds, 'shop', 'data-db-0');
    assert.match(target.pods[0]?.metadata.annotations?.['pre.hook.backup.velero.io/command'] ?? '', /CHECKPOINT/);
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    const result = await captureVolumes(kube, { volumes: [target], hookPods: target.pods }, writer, { repo, cluster: CLUSTER });
    assert.deepEqual(result.warnings, []);
    const snapshot = await writer.commit();
    assert.equal(snapshot.counts.volumes, 1);
  });

  it('a failing post-hook with on-error Fail fails the capture, after the other pods sharing the volume got their post-hooks', async () => {
    await boundClaim(kube, kinds, NS, 'shared-data');
    const first = await runningPod(kube, kinds, NS, 'first', {
      claim: 'shared-data',
      annotations: { 'post.hook.backup.velero.io/command': '["/bin/sh","-c","exit 5"]' },
    });
    const second = await runningPod(kube, kinds, NS, 'second', {
      claim: 'shared-data',
      annotations: { 'post.hook.backup.velero.io/command': '["/bin/sh","-c","echo $WHO > /data/second-post-ran"]' },
    });
    const target = await volumeTarget(kube, kinds, NS, 'shared-data');
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    await assert.rejects(
      captureVolumes(kube, { volumes: [target], hookPods: [first, second] }, writer, { repo, cluster: CLUSTER }),
      (err: Error) => err instanceof HookFailedError && err.message === 'pod hooks/first: post-hook post.hook.backup.velero.io/command (container app) failed: exit status 5',
    );
    await writer.abort();
    assert.equal(await readFile(path.join((await cluster.claimDir(NS, 'shared-data'))!, 'second-post-ran'), 'utf8'), 'app\n');
    assert.deepEqual(await until('capture objects gone', async () => ((await captureLeftovers(kube, kinds)).length === 0 ? [] : undefined), 10_000), []);
  });
});
