/**
 * Reading persistent volumes from a sandbox cluster over HTTPS: through a
 * VolumeSnapshot clone or the live claim, into a real repository, compared
 * file by file with the host directory behind the claim.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { captureVolumes } from '../../../src/engine/capture/volumes';
import { HEARTBEAT_ANNOTATION, HOLDER_ANNOTATION, Heartbeat, holderIdentity, sweepMovers } from '../../../src/engine/capture/mover';
import { openKubeClient } from '../../../src/engine/kube/client';
import type { KObject, KubeClient, WatchEventType } from '../../../src/engine/kube/types';
import { CancelledError, type JobProgress } from '../../../src/engine/progress';
import { readManifest, Repository, SnapshotWriter } from '../../../src/engine/repo/api';
import type { Cluster, Sandbox } from '../../sandbox';
import {
  assertSameTree,
  boundClaim,
  captureLeftovers,
  ensureNamespace,
  hostTree,
  snapshotTree,
  until,
  volumeTarget,
  type Kinds,
  startVolumeTestBed,
} from './volumeFixtures';

const CLUSTER = 'sandbox-prod';
const CAPTURE_LABELS = { 'app.kubernetes.io/managed-by': 'lifeboat', 'lifeboat.dev/mover': 'capture' };

/** Records what happens to a capture's objects (pods, claims, VolumeSnapshots) while a test runs. */
function watchCaptureObjects(kube: KubeClient, kinds: Kinds): { events: Array<{ kind: string; type: WatchEventType; obj: KObject }>; stop(): void } {
  const events: Array<{ kind: string; type: WatchEventType; obj: KObject }> = [];
  const ac = new AbortController();
  for (const r of [kinds.pods, kinds.pvcs, kinds.snapshots]) {
    void kube
      .watch(r, { labelSelector: 'app.kubernetes.io/managed-by=lifeboat,lifeboat.dev/mover=capture', signal: ac.signal }, (type, obj) => events.push({ kind: r.kind, type, obj }))
      .catch(() => undefined);
  }
  return { events, stop: () => ac.abort() };
}

function namesOf(events: Array<{ kind: string; type: WatchEventType; obj: KObject }>, kind: string, type: WatchEventType): string[] {
  return [...new Set(events.filter((e) => e.kind === kind && e.type === type).map((e) => e.obj.metadata.name))];
}

describe('reading volumes during a capture', function () {
  this.timeout(180_000);
  let sandbox: Sandbox;
  let cluster: Cluster;
  let kube: KubeClient;
  let kinds: Kinds;
  let work: string;
  let repo: Repository;

  before(async () => {
    ({ sandbox, cluster, kube, kinds, work, repo } = await startVolumeTestBed('volumes'));
  });

  after(async () => {
    kube?.close();
    await sandbox?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** shop/data-db-0 as select() would name it, minus the seeded CHECKPOINT hook, which needs a running PostgreSQL. */
  async function dbTarget(client = kube) {
    const target = await volumeTarget(client, kinds, 'shop', 'data-db-0');
    target.pods = target.pods.map((p) => ({ ...p, metadata: { ...p.metadata, annotations: {} } }));
    return target;
  }

  it('reads shop/data-db-0 through a VolumeSnapshot clone, every file byte-identical with its mode, mtime and symlink target', async () => {
    const watch = watchCaptureObjects(kube, kinds);
    const target = await dbTarget();
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    const progress: JobProgress[] = [];
    const result = await captureVolumes(kube, { volumes: [target], hookPods: [] }, writer, { repo, cluster: CLUSTER, onProgress: (p) => progress.push(p) });
    const snapshot = await writer.commit();
    assert.deepEqual(result.warnings, []);

    const expected = await hostTree((await cluster.claimDir('shop', 'data-db-0'))!);
    assert.ok(expected.get('/pgdata/pg_tblspc/16390')?.type === 'symlink', 'the seeded volume has a symlink to compare');
    assertSameTree(await snapshotTree(repo, snapshot.id, target), expected);

    await until('the VolumeSnapshot, clone and mover deletions to be seen', async () => namesOf(watch.events, 'VolumeSnapshot', 'DELETED').length === 1 && namesOf(watch.events, 'Pod', 'DELETED').length === 1);
    watch.stop();
    const snapshots = namesOf(watch.events, 'VolumeSnapshot', 'ADDED');
    const clones = namesOf(watch.events, 'PersistentVolumeClaim', 'ADDED');
    const movers = namesOf(watch.events, 'Pod', 'ADDED');
    assert.equal(snapshots.length, 1, 'one VolumeSnapshot was taken');
    assert.equal(clones.length, 1, 'one clone claim was made');
    assert.equal(movers.length, 1, 'one mover pod ran');
    const vs = watch.events.find((e) => e.kind === 'VolumeSnapshot')!.obj;
    assert.equal(vs.spec.source.persistentVolumeClaimName, 'data-db-0');
    assert.equal(vs.spec.volumeSnapshotClassName, 'sandbox-snapclass');
    const clone = watch.events.find((e) => e.kind === 'PersistentVolumeClaim')!.obj;
    assert.deepEqual(clone.spec.dataSource, { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshots[0] });
    const mover = watch.events.find((e) => e.kind === 'Pod')!.obj;
    assert.equal(mover.spec.volumes[0].persistentVolumeClaim.claimName, clones[0], 'the mover read the clone, not the live claim');
    assert.equal(mover.spec.volumes[0].persistentVolumeClaim.readOnly, true);
    assert.equal(mover.spec.containers[0].image, 'docker.io/library/busybox:1.37');
    assert.equal(mover.spec.containers[0].securityContext.privileged, false);
    assert.ok(mover.spec.activeDeadlineSeconds > 0);
    assert.match(mover.metadata.annotations?.[HOLDER_ANNOTATION] ?? '', new RegExp(`^${os.hostname()}/${process.pid}/\\d+$`));
    assert.ok(Date.parse(mover.metadata.annotations?.[HEARTBEAT_ANNOTATION] ?? '') > Date.now() - 120_000);
    for (const obj of [vs, clone, mover]) assert.deepEqual({ ...obj.metadata.labels }, CAPTURE_LABELS);

    const last = progress[progress.length - 1];
    assert.deepEqual({ phase: last.phase, itemsDone: last.itemsDone, itemsTotal: last.itemsTotal }, { phase: 'volumes', itemsDone: 1, itemsTotal: 1 });
    assert.ok(progress.some((p) => p.current === 'shop/data-db-0' && (p.bytesDone ?? 0) > 0), 'bytes read were reported');

    // A second capture takes every unchanged file from the first instead of reading it again.
    const again = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    await captureVolumes(kube, { volumes: [await dbTarget()], hookPods: [] }, again, { repo, cluster: CLUSTER });
    const second = await again.commit();
    const root = (await readManifest(repo, second.id)).volumes[0];
    assert.equal(root.parent?.snapshot, snapshot.id);
    assert.equal(root.parent?.files, root.files, 'no file was read again');
  });

  it('leaves no mover pod, clone claim or VolumeSnapshot behind', async () => {
    assert.deepEqual(await until('the capture objects to be gone', async () => ((await captureLeftovers(kube, kinds)).length === 0 ? [] : undefined), 10_000), []);
  });

  it('reads the live claim, pinned to the node of the pod using it, when no VolumeSnapshotClass serves its driver', async () => {
    const cls = (await kube.get(kinds.snapshotClasses, 'sandbox-snapclass'))!;
    await kube.delete(kinds.snapshotClasses, 'sandbox-snapclass');
    const watch = watchCaptureObjects(kube, kinds);
    try {
      const target = await dbTarget();
      const writer = await SnapshotWriter.begin(repo, { cluster: 'sandbox-prod-live', scope: {} });
      const result = await captureVolumes(kube, { volumes: [target], hookPods: [] }, writer, { repo, cluster: 'sandbox-prod-live' });
      const snapshot = await writer.commit();
      assert.deepEqual(result.warnings, [], 'a cluster without a matching class is no reason for a warning');
      assertSameTree(await snapshotTree(repo, snapshot.id, target), await hostTree((await cluster.claimDir('shop', 'data-db-0'))!));
      await until('the mover deletion to be seen', async () => namesOf(watch.events, 'Pod', 'DELETED').length === 1);
      assert.deepEqual(namesOf(watch.events, 'VolumeSnapshot', 'ADDED'), []);
      assert.deepEqual(namesOf(watch.events, 'PersistentVolumeClaim', 'ADDED'), []);
      const mover = watch.events.find((e) => e.kind === 'Pod')!.obj;
      assert.equal(mover.spec.volumes[0].persistentVolumeClaim.claimName, 'data-db-0');
      const terms = mover.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
      assert.deepEqual(terms[0].matchExpressions, [{ key: 'kubernetes.io/hostname', operator: 'In', values: [target.pods[0].spec.nodeName] }]);
      const placed = watch.events.filter((e) => e.kind === 'Pod' && e.obj.spec?.nodeName).map((e) => e.obj.spec.nodeName);
      assert.equal(placed[0], target.pods[0].spec.nodeName, 'the mover ran where the database runs');
    } finally {
      watch.stop();
      await kube.create(kinds.snapshotClasses, { apiVersion: cls.apiVersion, kind: cls.kind, metadata: { name: cls.metadata.name, annotations: cls.metadata.annotations }, driver: cls.driver, deletionPolicy: cls.deletionPolicy });
    }
  });

  it('falls back to the live claim with a warning when the snapshot fails', async () => {
    // A statically provisioned hostPath volume in the CSI driver's class: the class matches, the snapshot controller refuses it.
    await ensureNamespace(kube, kinds, 'legacy');
    await kube.create(kinds.pvs, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'legacy-files' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'standard', hostPath: { path: '/srv/legacy-files' }, persistentVolumeReclaimPolicy: 'Retain' },
    });
    await kube.create(kinds.pvcs, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'files', namespace: 'legacy' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', volumeName: 'legacy-files', resources: { requests: { storage: '1Gi' } } },
    });
    const dir = await until('legacy/files bound', () => cluster.claimDir('legacy', 'files'));
    await mkdir(path.join(dir, 'reports'), { recursive: true });
    await writeFile(path.join(dir, 'reports', 'q3.txt'), 'revenue up\n');
    const target = await volumeTarget(kube, kinds, 'legacy', 'files');
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    const result = await captureVolumes(kube, { volumes: [target], hookPods: [] }, writer, { repo, cluster: CLUSTER });
    const snapshot = await writer.commit();
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0], /^volume legacy\/files: snapshot not taken \(VolumeSnapshot legacy\/lifeboat-snap-files-\w+ failed: .*not provisioned by CSI driver hostpath\.sandbox\.lifeboat\.dev\); the live volume was read instead$/);
    assertSameTree(await snapshotTree(repo, snapshot.id, target), await hostTree(dir));
    await until('the failed VolumeSnapshot to be gone', async () => (await captureLeftovers(kube, kinds)).length === 0, 10_000);
  });

  it('skips a claim that is not bound, or is a raw block device, with a warning', async () => {
    await ensureNamespace(kube, kinds, 'pending');
    await kube.create(kinds.pvcs, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'nowhere', namespace: 'pending' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'no-such-class', resources: { requests: { storage: '1Gi' } } },
    });
    await kube.create(kinds.pvcs, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'raw', namespace: 'pending' },
      spec: { accessModes: ['ReadWriteOnce'], volumeMode: 'Block', resources: { requests: { storage: '1Gi' } } },
    });
    await until('the claim to be Pending', async () => (await kube.get(kinds.pvcs, 'nowhere', 'pending'))?.status?.phase === 'Pending');
    await until('the block claim to be Bound', async () => (await kube.get(kinds.pvcs, 'raw', 'pending'))?.status?.phase === 'Bound');
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    const volumes = [await volumeTarget(kube, kinds, 'pending', 'nowhere'), await volumeTarget(kube, kinds, 'pending', 'raw')];
    const result = await captureVolumes(kube, { volumes, hookPods: [] }, writer, { repo, cluster: CLUSTER });
    await writer.abort();
    assert.deepEqual(result.warnings.sort(), [
      'volume pending/nowhere skipped: the claim is not bound (Pending)',
      'volume pending/raw skipped: it is a raw block volume (volumeMode Block); only filesystem volumes are read',
    ]);
  });

  it('skips a volume the user may not start a mover for, with a warning, for the restricted user', async () => {
    const restricted = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod-restricted' });
    try {
      const target = await dbTarget(restricted);
      const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
      const result = await captureVolumes(restricted, { volumes: [target], hookPods: [] }, writer, { repo, cluster: CLUSTER });
      const snapshot = await writer.commit();
      assert.deepEqual(result.warnings, ['volume shop/data-db-0 skipped: cannot create pods in namespace "shop" (Forbidden)']);
      assert.deepEqual((await readManifest(repo, snapshot.id)).volumes, []);
    } finally {
      restricted.close();
    }
  });

  it('stops within 2 seconds when cancelled in the middle of a volume, and removes the mover', async () => {
    await ensureNamespace(kube, kinds, 'bulk');
    await boundClaim(kube, kinds, 'bulk', 'big');
    const dir = (await cluster.claimDir('bulk', 'big'))!;
    // 300 files of 1 MiB: progress is reported per file, so the cancel lands mid-volume.
    for (let i = 0; i < 300; i++) await writeFile(path.join(dir, `part-${String(i).padStart(3, '0')}.bin`), randomBytes(1 << 20));
    const target = await volumeTarget(kube, kinds, 'bulk', 'big');
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    const ac = new AbortController();
    let cancelledAt = 0;
    let bytesAtCancel = 0;
    const started = captureVolumes(kube, { volumes: [target], hookPods: [] }, writer, {
      repo,
      cluster: CLUSTER,
      signal: ac.signal,
      onProgress: (p) => {
        if (!cancelledAt && (p.bytesDone ?? 0) > 4 << 20) {
          cancelledAt = Date.now();
          bytesAtCancel = p.bytesDone!;
          ac.abort();
        }
      },
    });
    await assert.rejects(started, CancelledError);
    const took = Date.now() - cancelledAt;
    await writer.abort();
    assert.ok(cancelledAt > 0, 'the read had started');
    assert.ok(bytesAtCancel < 300 << 20, 'the cancel came before the end of the volume');
    assert.ok(took < 2000, `stopped ${took} ms after the cancel`);
    const movers = (await kube.listAll(kinds.pods, { namespace: 'bulk', labelSelector: 'lifeboat.dev/mover=capture' })).map((p) => p.metadata.name);
    assert.deepEqual(movers, [], 'the mover is gone once the capture has stopped');
    await until('the clone and VolumeSnapshot to be gone', async () => (await captureLeftovers(kube, kinds)).length === 0, 10_000);
  });

  it('sweeps leftover capture objects whose holder is dead or silent, and nothing else', async () => {
    await ensureNamespace(kube, kinds, 'sweep');
    const dead = await new Promise<number>((resolve) => {
      const child = spawn('true');
      child.on('exit', () => resolve(child.pid!));
    });
    const fresh = new Date().toISOString();
    const stale = new Date(Date.now() - 3 * 60_000).toISOString();
    const pod = (name: string, labels: Record<string, string> | undefined, holder: string, heartbeat: string): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'sweep', labels, annotations: { [HOLDER_ANNOTATION]: holder, [HEARTBEAT_ANNOTATION]: heartbeat } },
      spec: { containers: [{ name: 'mover', image: 'docker.io/library/busybox:1.37', command: ['sleep', '3600'] }] },
    });
    const deadHolder = `${os.hostname()}/${dead}/${Math.floor(Date.now() / 1000)}`;
    await kube.create(kinds.pods, pod('mover-of-dead-process', CAPTURE_LABELS, deadHolder, fresh));
    await kube.create(kinds.pods, pod('mover-in-use', CAPTURE_LABELS, holderIdentity(), fresh));
    await kube.create(kinds.pods, pod('mover-on-other-host', CAPTURE_LABELS, `elsewhere.example/${dead}/1`, fresh));
    await kube.create(kinds.pods, pod('not-lifeboats', { app: 'mover' }, deadHolder, stale));
    await kube.create(kinds.pvcs, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'silent-clone', namespace: 'sweep', labels: CAPTURE_LABELS, annotations: { [HOLDER_ANNOTATION]: `elsewhere.example/1/1`, [HEARTBEAT_ANNOTATION]: stale } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    const { removed } = await sweepMovers(kube);
    assert.deepEqual(removed.sort(), ['PersistentVolumeClaim sweep/silent-clone', 'Pod sweep/mover-of-dead-process']);
    const left = (await kube.listAll(kinds.pods, { namespace: 'sweep' })).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
    assert.deepEqual(left.sort(), ['mover-in-use', 'mover-on-other-host', 'not-lifeboats']);
  });

  it('keeps the heartbeat of the objects in use fresh', async () => {
    await ensureNamespace(kube, kinds, 'sweep');
    const before = new Date(Date.now() - 60_000).toISOString();
    await kube.create(kinds.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'mover-beating', namespace: 'sweep', labels: CAPTURE_LABELS, annotations: { [HOLDER_ANNOTATION]: holderIdentity(), [HEARTBEAT_ANNOTATION]: before } },
      spec: { containers: [{ name: 'mover', image: 'docker.io/library/busybox:1.37', command: ['sleep', '3600'] }] },
    });
    const heartbeat = new Heartbeat(kube, undefined, 200);
    heartbeat.hold(kinds.pods, 'sweep', 'mover-beating');
    try {
      const beat = await until('a new heartbeat', async () => {
        const value = (await kube.get(kinds.pods, 'mover-beating', 'sweep'))?.metadata.annotations?.[HEARTBEAT_ANNOTATION];
        return value !== before ? value : undefined;
      }, 5000);
      assert.ok(Date.parse(beat!) > Date.now() - 5000);
    } finally {
      heartbeat.stop();
    }
  });

  it('fails with the scheduler\'s reason when the mover does not start in time, and removes it', async () => {
    const target = await dbTarget();
    target.pods = target.pods.map((p) => ({ ...p, spec: { ...p.spec, nodeName: 'sandbox-prod-node-9' } }));
    const writer = await SnapshotWriter.begin(repo, { cluster: CLUSTER, scope: {} });
    await assert.rejects(
      captureVolumes(kube, { volumes: [target], hookPods: [] }, writer, { repo, cluster: CLUSTER, useSnapshots: false, moverStartTimeoutMs: 1500 }),
      /^Error: mover pod shop\/lifeboat-mover-data-db-0-\w+ \(volume shop\/data-db-0\) did not start within 1.5s: PodScheduled: Unschedulable: 0\/2 nodes are available/,
    );
    await writer.abort();
    assert.deepEqual((await captureLeftovers(kube, kinds)).filter((o) => o.includes(' shop/')), []);
  });
});
