/**
 * Writing a captured volume back into a claim on another sandbox cluster
 * over HTTPS, through a write-mode mover, and comparing what landed on the
 * host directory behind the claim with the snapshot, entry by entry.
 */
import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CAPTURE_LABELS, HEARTBEAT_ANNOTATION, HOLDER_ANNOTATION, holderIdentity, RESTORE_LABELS, RESTORE_SELECTOR, sweepMovers } from '../../../src/engine/capture/mover';
import type { KObject, WatchEventType } from '../../../src/engine/kube/types';
import { CancelledError, type JobProgress } from '../../../src/engine/progress';
import { readManifest } from '../../../src/engine/repo/api';
import { writeVolume } from '../../../src/engine/restore/volumeWrite';
import { assertSameTree, ensureNamespace, hostTree, runningPod, snapshotTree, until } from '../capture/volumeFixtures';
import { addFilesOfEveryKind, captureDb, claimDir, DB, newClaim, ownerOf, restoreMovers, startRestoreVolumeBed, stopRestoreVolumeBed, type RestoreVolumeBed } from './volumeBed';

describe('writing volume data back into a claim', function () {
  this.timeout(240_000);
  let bed: RestoreVolumeBed;
  let snapshot: string;

  before(async () => {
    bed = await startRestoreVolumeBed('restore-volumes');
    await addFilesOfEveryKind(await claimDir(bed.prod, DB.namespace, DB.pvc));
    snapshot = await captureDb(bed);
  });

  after(async () => stopRestoreVolumeBed(bed));

  /** Restore movers created on dev while `work` runs. */
  async function watchMovers<T>(work: () => Promise<T>): Promise<{ result?: T; error?: unknown; pods: KObject[]; events: Array<{ type: WatchEventType; obj: KObject }> }> {
    const events: Array<{ type: WatchEventType; obj: KObject }> = [];
    const ac = new AbortController();
    void bed.devKube.watch(bed.devKinds.pods, { labelSelector: RESTORE_SELECTOR, signal: ac.signal }, (type, obj) => events.push({ type, obj })).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    try {
      const result = await work();
      return { result, pods: events.filter((e) => e.type === 'ADDED').map((e) => e.obj), events };
    } catch (error) {
      return { error, pods: events.filter((e) => e.type === 'ADDED').map((e) => e.obj), events };
    } finally {
      await until('the mover deletion to be seen', async () => events.every((e) => e.type !== 'ADDED') || events.some((e) => e.type === 'DELETED'), 15_000);
      ac.abort();
    }
  }

  it('writes shop/data-db-0 into a WaitForFirstConsumer claim on dev: every file, mode, mtime, owner, symlink and hard link as captured', async () => {
    await bed.devKube.create((await bed.devKube.resourceFor('storage.k8s.io/v1', 'StorageClass'))!, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'wait-for-consumer' },
      provisioner: 'hostpath.sandbox.lifeboat.dev',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    await newClaim(bed.devKube, bed.devKinds, 'shop', 'data-db-0', 'wait-for-consumer');
    await until('the claim to be Pending', async () => (await bed.devKube.get(bed.devKinds.pvcs, 'data-db-0', 'shop'))?.status?.phase === 'Pending');
    const progress: JobProgress[] = [];
    const run = await watchMovers(() => writeVolume(bed.devKube, bed.repo, { snapshot, source: DB, target: { namespace: 'shop', pvc: 'data-db-0' }, onProgress: (p) => progress.push(p) }));
    assert.ifError(run.error);
    const written = run.result!;

    const root = (await readManifest(bed.repo, snapshot)).volumes[0];
    assert.equal(written.bytes, root.bytes, 'every byte of the volume was written');
    assert.equal(written.files, root.files, 'every file was written');
    assert.ok(written.dirs > 10);

    const dir = await claimDir(bed.dev, 'shop', 'data-db-0');
    assertSameTree(await hostTree(dir), await snapshotTree(bed.repo, snapshot, DB));
    const prodDir = await claimDir(bed.prod, DB.namespace, DB.pvc);
    const owner = async (rel: string) => ({ ...(await ownerOf(path.join(dir, rel))), ino: 0 });
    const prodOwner = async (rel: string) => ({ ...(await ownerOf(path.join(prodDir, rel))), ino: 0 });
    for (const rel of ['pgdata', 'pgdata/PG_VERSION', 'extra/private', 'extra/private/key', 'extra/tool']) {
      assert.deepEqual(await owner(rel), await prodOwner(rel), `${rel} has its owner and mode back`);
    }
    assert.equal((await ownerOf(path.join(dir, 'extra/tool'))).mode, 0o4755, 'the setuid bit survived');
    const [a, b] = [await ownerOf(path.join(dir, 'extra/original.bin')), await ownerOf(path.join(dir, 'extra/linked.bin'))];
    assert.equal(a.ino, b.ino, 'the hard link pair is one file again');

    const pod = run.pods[0];
    assert.equal(run.pods.length, 1, 'one mover pod ran');
    assert.deepEqual({ ...pod.metadata.labels }, { 'app.kubernetes.io/managed-by': 'lifeboat', 'lifeboat.dev/mover': 'restore' });
    assert.equal(pod.spec.volumes[0].persistentVolumeClaim.claimName, 'data-db-0');
    assert.equal(pod.spec.volumes[0].persistentVolumeClaim.readOnly, false);
    assert.equal(pod.spec.containers[0].volumeMounts[0].readOnly, false);
    const sc = pod.spec.containers[0].securityContext;
    assert.deepEqual({ privileged: sc.privileged, escalation: sc.allowPrivilegeEscalation, rootFs: sc.readOnlyRootFilesystem, caps: sc.capabilities }, {
      privileged: false,
      escalation: false,
      rootFs: true,
      caps: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] },
    });
    assert.ok(pod.metadata.annotations?.[HOLDER_ANNOTATION] && pod.metadata.annotations?.[HEARTBEAT_ANNOTATION]);
    assert.equal(pod.spec.affinity, undefined, 'no pod used the claim: the mover was not pinned');
    assert.deepEqual(await restoreMovers(bed.devKube, bed.devKinds), [], 'the mover is gone');

    const last = progress[progress.length - 1];
    assert.deepEqual({ phase: last.phase, bytesDone: last.bytesDone, bytesTotal: last.bytesTotal }, { phase: 'volumes', bytesDone: root.bytes, bytesTotal: root.bytes });
    assert.ok(progress.every((p) => (p.bytesDone ?? 0) <= root.bytes));
  });

  it('pins the mover to the node of a running pod that mounts the claim, and writes over the files there', async () => {
    const pod = await runningPod(bed.devKube, bed.devKinds, 'shop', 'db-user', { claim: 'data-db-0' });
    const dir = await claimDir(bed.dev, 'shop', 'data-db-0');
    await writeFile(path.join(dir, 'pgdata', 'PG_VERSION'), 'changed\n');
    await writeFile(path.join(dir, 'kept-by-restore.txt'), 'not in the snapshot\n');
    const run = await watchMovers(() => writeVolume(bed.devKube, bed.repo, { snapshot, source: DB, target: { namespace: 'shop', pvc: 'data-db-0' } }));
    assert.ifError(run.error);
    const terms = run.pods[0].spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.deepEqual(terms[0].matchExpressions[0].values, [pod.spec.nodeName]);
    const tree = await hostTree(dir);
    assert.ok(tree.has('/kept-by-restore.txt'), 'files not in the snapshot are left alone');
    tree.delete('/kept-by-restore.txt');
    assertSameTree(tree, await snapshotTree(bed.repo, snapshot, DB));
    await bed.devKube.delete(bed.devKinds.pods, 'db-user', 'shop', { gracePeriodSeconds: 0 });
  });

  it('writes a directory of the volume under another path of the claim, creating it', async () => {
    await newClaim(bed.devKube, bed.devKinds, 'copies', 'one');
    const result = await writeVolume(bed.devKube, bed.repo, { snapshot, source: DB, target: { namespace: 'copies', pvc: 'one' }, subPath: '/extra', targetPath: '/restored/here' });
    const dir = await claimDir(bed.dev, 'copies', 'one');
    const want = new Map([...(await snapshotTree(bed.repo, snapshot, DB))].filter(([p]) => p.startsWith('/extra/')).map(([p, f]) => [p.slice('/extra'.length), f]));
    assertSameTree(await hostTree(path.join(dir, 'restored', 'here')), want);
    assert.equal(result.files, [...want.values()].filter((f) => f.type === 'file').length - 1, 'regular files, the hard link not counted twice');
  });

  it('fails naming the volume and tar\'s message when the target path cannot be made, and leaves no mover', async () => {
    await newClaim(bed.devKube, bed.devKinds, 'copies', 'blocked');
    const dir = await claimDir(bed.dev, 'copies', 'blocked');
    await writeFile(path.join(dir, 'file'), 'a file where a directory is wanted\n');
    await assert.rejects(
      writeVolume(bed.devKube, bed.repo, { snapshot, source: DB, target: { namespace: 'copies', pvc: 'blocked' }, targetPath: '/file/sub' }),
      /^Error: writing volume shop\/data-db-0 into copies\/blocked: tar in mover pod copies\/lifeboat-restore-blocked-\w+ exited with 1: .*(Not a directory|File exists)/,
    );
    assert.deepEqual(await until('the mover to be gone', async () => ((await restoreMovers(bed.devKube, bed.devKinds)).length === 0 ? [] : undefined)), []);
  });

  it('names what is missing before making a pod: the volume, the path, the snapshot', async () => {
    const target = { namespace: 'copies', pvc: 'one' };
    await assert.rejects(writeVolume(bed.devKube, bed.repo, { snapshot, source: { namespace: 'shop', pvc: 'nope' }, target }), /has no volume shop\/nope \(it has shop\/data-db-0\)/);
    await assert.rejects(writeVolume(bed.devKube, bed.repo, { snapshot, source: DB, target, subPath: '/no/such' }), /volume shop\/data-db-0 in snapshot \w{12} has no \/no\/such/);
    await assert.rejects(writeVolume(bed.devKube, bed.repo, { snapshot: 'ffffffff', source: DB, target }), /no snapshot "ffffffff"/);
  });

  it('sweeps restore movers left by a process that stopped beating, with the capture leftovers, and leaves live ones', async () => {
    await ensureNamespace(bed.devKube, bed.devKinds, 'sweep');
    const stale = new Date(Date.now() - 10 * 60_000).toISOString();
    const fresh = new Date().toISOString();
    const pod = (name: string, labels: Record<string, string>, heartbeat: string, holder = 'elsewhere.example/1/1'): KObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'sweep', labels, annotations: { [HOLDER_ANNOTATION]: holder, [HEARTBEAT_ANNOTATION]: heartbeat } },
      spec: { containers: [{ name: 'mover', image: 'docker.io/library/busybox:1.37', command: ['sleep', '3600'] }] },
    });
    await bed.devKube.create(bed.devKinds.pods, pod('restore-left', { ...RESTORE_LABELS }, stale));
    await bed.devKube.create(bed.devKinds.pods, pod('capture-left', { ...CAPTURE_LABELS }, stale));
    await bed.devKube.create(bed.devKinds.pods, pod('restore-live', { ...RESTORE_LABELS }, fresh, holderIdentity()));
    await bed.devKube.create(bed.devKinds.pods, pod('other-mover', { 'app.kubernetes.io/managed-by': 'lifeboat', 'lifeboat.dev/mover': 'something-else' }, stale));
    const { removed } = await sweepMovers(bed.devKube);
    assert.deepEqual(removed.sort(), ['Pod sweep/capture-left', 'Pod sweep/restore-left']);
    const left = (await bed.devKube.listAll(bed.devKinds.pods, { namespace: 'sweep' })).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
    assert.deepEqual(left.sort(), ['other-mover', 'restore-live']);
    for (const name of left) await bed.devKube.delete(bed.devKinds.pods, name, 'sweep', { gracePeriodSeconds: 0 });
    await until('the pods of the sweep test to be gone', async () => (await restoreMovers(bed.devKube, bed.devKinds)).length === 0);
  });

  it('is cancelled while the data flows: CancelledError, and the mover is removed', async () => {
    await newClaim(bed.devKube, bed.devKinds, 'copies', 'cancelled-later');
    const ac = new AbortController();
    const run = await watchMovers(() =>
      writeVolume(bed.devKube, bed.repo, {
        snapshot,
        source: DB,
        target: { namespace: 'copies', pvc: 'cancelled-later' },
        signal: ac.signal,
        onProgress: (p) => {
          if ((p.bytesDone ?? 0) > 0) ac.abort();
        },
      }),
    );
    assert.ok(run.error instanceof CancelledError, `cancelled, not ${String(run.error)}`);
    assert.equal(run.pods.length, 1);
    assert.deepEqual(await until('the mover to be gone', async () => ((await restoreMovers(bed.devKube, bed.devKinds)).length === 0 ? [] : undefined)), []);
  });

  it('is cancelled while the mover starts: CancelledError, and the mover is removed', async () => {
    await newClaim(bed.devKube, bed.devKinds, 'copies', 'cancelled');
    const ac = new AbortController();
    const run = await watchMovers(async () => {
      const started = until('the mover to be created', async () => (await restoreMovers(bed.devKube, bed.devKinds)).some((m) => m.startsWith('copies/'))).then(() => ac.abort());
      try {
        return await writeVolume(bed.devKube, bed.repo, { snapshot, source: DB, target: { namespace: 'copies', pvc: 'cancelled' }, signal: ac.signal });
      } finally {
        await started.catch(() => undefined);
      }
    });
    assert.ok(run.error instanceof CancelledError, `cancelled, not ${String(run.error)}`);
    assert.equal(run.pods.length, 1);
    assert.deepEqual(await until('the mover to be gone', async () => ((await restoreMovers(bed.devKube, bed.devKinds)).length === 0 ? [] : undefined)), []);
  });
});
