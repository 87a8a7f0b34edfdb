/**
 * Set-up shared by the volume restore tests: sandbox clusters prod and dev,
 * admin clients on both, an encrypted repository, a capture of
 * shop/data-db-0 from prod (with extra files of every kind), and helpers to
 * make target claims and read them back.
 */
import { strict as assert } from 'node:assert';
import { chmod, chown, link, lstat, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { captureVolumes } from '../../../src/engine/capture/volumes';
import { RESTORE_SELECTOR } from '../../../src/engine/capture/mover';
import { openKubeClient } from '../../../src/engine/kube/client';
import type { KObject, KubeClient } from '../../../src/engine/kube/types';
import { Repository, SnapshotWriter } from '../../../src/engine/repo/api';
import { LocalBackend } from '../../../src/engine/storage/local';
import { startSandbox, type Cluster, type Sandbox } from '../../sandbox';
import { ensureNamespace, kindsOf, until, volumeTarget, type Kinds } from '../capture/volumeFixtures';

export interface RestoreVolumeBed {
  sandbox: Sandbox;
  prod: Cluster;
  dev: Cluster;
  kube: KubeClient;
  kinds: Kinds;
  devKube: KubeClient;
  devKinds: Kinds;
  work: string;
  repo: Repository;
}

export const DB = { namespace: 'shop', pvc: 'data-db-0' };

export async function startRestoreVolumeBed(name: string): Promise<RestoreVolumeBed> {
  const sandbox = await startSandbox({ clusters: ['prod', 'dev'] });
  const kube = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod' });
  const devKube = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-dev' });
  const work = await mkdtemp(path.join(os.tmpdir(), `lifeboat-${name}-test-`));
  const repo = await Repository.init(new LocalBackend(path.join(work, 'repo')), { passphrase: `${name} test passphrase` });
  return {
    sandbox,
    prod: sandbox.clusters.get('prod')!,
    dev: sandbox.clusters.get('dev')!,
    kube,
    kinds: await kindsOf(kube),
    devKube,
    devKinds: await kindsOf(devKube),
    work,
    repo,
  };
}

export async function stopRestoreVolumeBed(bed: RestoreVolumeBed | undefined): Promise<void> {
  if (!bed) return;
  bed.kube.close();
  bed.devKube.close();
  await bed.sandbox.stop();
  await rm(bed.work, { recursive: true, force: true });
}

/**
 * Adds entries the seeded database volume lacks: a hard link pair, a
 * setuid file, files of other owners, an empty file, a long and a non-ASCII
 * name, an absolute and a dangling symlink, a private directory.
 */
export async function addFilesOfEveryKind(dir: string): Promise<void> {
  const extra = path.join(dir, 'extra');
  await mkdir(path.join(extra, 'private'), { recursive: true });
  await writeFile(path.join(extra, 'original.bin'), Buffer.alloc(70_000, 7));
  await link(path.join(extra, 'original.bin'), path.join(extra, 'linked.bin'));
  await writeFile(path.join(extra, 'tool'), '#!/bin/sh\necho tool\n');
  await chmod(path.join(extra, 'tool'), 0o4755);
  await writeFile(path.join(extra, 'empty'), '');
  await writeFile(path.join(extra, `${'long-name-'.repeat(14)}end.txt`), 'long name\n');
  await writeFile(path.join(extra, 'grüße-日本.txt'), 'unicode\n');
  await writeFile(path.join(extra, 'private', 'key'), 'not a real key\n');
  await chmod(path.join(extra, 'private', 'key'), 0o600);
  await chmod(path.join(extra, 'private'), 0o700);
  await chown(path.join(extra, 'private', 'key'), 1234, 5678);
  await chown(path.join(extra, 'private'), 1234, 5678);
  await symlink('/etc/passwd', path.join(extra, 'absolute-link'));
  await symlink('no-such-file', path.join(extra, 'dangling-link'));
  const old = new Date('2020-02-02T02:02:02Z');
  await utimes(path.join(extra, 'empty'), old, old);
}

/** Captures prod's shop/data-db-0 (its CHECKPOINT hook left out: no PostgreSQL runs) into a new snapshot. */
export async function captureDb(bed: RestoreVolumeBed): Promise<string> {
  const target = await volumeTarget(bed.kube, bed.kinds, DB.namespace, DB.pvc);
  target.pods = target.pods.map((p) => ({ ...p, metadata: { ...p.metadata, annotations: {} } }));
  const writer = await SnapshotWriter.begin(bed.repo, { cluster: 'sandbox-prod', scope: {} });
  const result = await captureVolumes(bed.kube, { volumes: [target], hookPods: [] }, writer, { repo: bed.repo, cluster: 'sandbox-prod' });
  assert.deepEqual(result.warnings, []);
  return (await writer.commit()).id;
}

/** A new claim on the cluster (namespace made when missing), not waited for. */
export async function newClaim(kube: KubeClient, kinds: Kinds, namespace: string, name: string, storageClassName?: string): Promise<KObject> {
  await ensureNamespace(kube, kinds, namespace);
  return kube.create(kinds.pvcs, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...(storageClassName ? { storageClassName } : {}) },
  });
}

/** The host directory behind a claim, once it is bound. */
export function claimDir(cluster: Cluster, namespace: string, claim: string): Promise<string> {
  return until(`claim ${namespace}/${claim} bound`, () => cluster.claimDir(namespace, claim));
}

/** Restore movers still in the cluster. */
export async function restoreMovers(kube: KubeClient, kinds: Kinds): Promise<string[]> {
  return (await kube.listAll(kinds.pods, { labelSelector: RESTORE_SELECTOR })).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
}

/** Owner and inode of a host path, for hard link and ownership checks. */
export async function ownerOf(p: string): Promise<{ uid: number; gid: number; ino: number; mode: number }> {
  const st = await lstat(p);
  return { uid: st.uid, gid: st.gid, ino: st.ino, mode: st.mode & 0o7777 };
}
