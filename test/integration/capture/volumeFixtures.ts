import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { ApiResource, KObject, KubeClient } from '../../../src/engine/kube/types';
import { listVolumeFiles, openFile, Repository } from '../../../src/engine/repo/api';
import { openKubeClient } from '../../../src/engine/kube/client';
import { LocalBackend } from '../../../src/engine/storage/local';
import { startSandbox, type Cluster, type Sandbox } from '../../sandbox';
import type { VolumeTarget } from '../../../src/engine/capture/types';

/** One entry of a volume as compared: type, permission bits, whole-second mtime, and content hash or link target. */
export interface FileFacts {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtime: number;
  sha256?: string;
  target?: string;
}

async function sha256(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return h.digest('hex');
}

/** Every entry below a host directory, keyed by "/relative/path". */
export async function hostTree(root: string): Promise<Map<string, FileFacts>> {
  const out = new Map<string, FileFacts>();
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const p = `${rel}/${name}`;
      const st = await lstat(full);
      const base = { mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isSymbolicLink()) out.set(p, { type: 'symlink', ...base, mode: 0, target: await readlink(full) });
      else if (st.isDirectory()) {
        out.set(p, { type: 'dir', ...base });
        await walk(full, p);
      } else out.set(p, { type: 'file', ...base, sha256: await sha256(createReadStream(full)) });
    }
  };
  await walk(root, '');
  return out;
}

/** The same facts read back from a snapshot's copy of a volume. */
export async function snapshotTree(repo: Repository, snapshot: string, volume: { namespace: string; pvc: string }): Promise<Map<string, FileFacts>> {
  const out = new Map<string, FileFacts>();
  const walk = async (dir: string): Promise<void> => {
    for (const f of await listVolumeFiles(repo, snapshot, volume, dir)) {
      const base = { mode: f.mode & 0o7777, mtime: Math.floor(Date.parse(f.mtime) / 1000) };
      if (f.type === 'symlink') out.set(f.path, { type: 'symlink', ...base, mode: 0, target: f.target });
      else if (f.type === 'dir') {
        out.set(f.path, { type: 'dir', ...base });
        await walk(f.path);
      } else out.set(f.path, { type: 'file', ...base, sha256: await sha256(await openFile(repo, snapshot, volume, f.path)) });
    }
  };
  await walk('/');
  return out;
}

export function assertSameTree(actual: Map<string, FileFacts>, expected: Map<string, FileFacts>): void {
  const missing = [...expected.keys()].filter((k) => !actual.has(k));
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'the snapshot holds exactly the files of the volume');
  for (const [p, want] of expected) assert.deepEqual(actual.get(p), want, `entry ${p}`);
}

export async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Kinds {
  pods: ApiResource;
  pvcs: ApiResource;
  pvs: ApiResource;
  namespaces: ApiResource;
  snapshots: ApiResource;
  snapshotClasses: ApiResource;
}

export async function kindsOf(kube: KubeClient): Promise<Kinds> {
  const get = async (v: string, k: string): Promise<ApiResource> => {
    const r = await kube.resourceFor(v, k);
    assert.ok(r, `${k} is served`);
    return r;
  };
  return {
    pods: await get('v1', 'Pod'),
    pvcs: await get('v1', 'PersistentVolumeClaim'),
    pvs: await get('v1', 'PersistentVolume'),
    namespaces: await get('v1', 'Namespace'),
    snapshots: await get('snapshot.storage.k8s.io/v1', 'VolumeSnapshot'),
    snapshotClasses: await get('snapshot.storage.k8s.io/v1', 'VolumeSnapshotClass'),
  };
}

/** A VolumeTarget as select() would make it: the claim, its volume, and the running pods mounting it. */
export async function volumeTarget(kube: KubeClient, kinds: Kinds, namespace: string, pvc: string): Promise<VolumeTarget> {
  const claim = await kube.get(kinds.pvcs, pvc, namespace);
  assert.ok(claim, `claim ${namespace}/${pvc} exists`);
  const volume = claim.spec?.volumeName ? await kube.get(kinds.pvs, claim.spec.volumeName) : undefined;
  const pods = (await kube.listAll(kinds.pods, { namespace })).filter(
    (p) => p.status?.phase === 'Running' && (p.spec?.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === pvc),
  );
  return { namespace, pvc, claim, volume, pods, reason: 'in-scope' };
}

export async function ensureNamespace(kube: KubeClient, kinds: Kinds, name: string): Promise<void> {
  if (await kube.get(kinds.namespaces, name)) return;
  await kube.create(kinds.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** A claim of the sandbox's default class, waited for until bound. */
export async function boundClaim(kube: KubeClient, kinds: Kinds, namespace: string, name: string, storageClassName?: string): Promise<KObject> {
  await kube.create(kinds.pvcs, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...(storageClassName ? { storageClassName } : {}) },
  });
  return until(`claim ${namespace}/${name} bound`, async () => {
    const c = await kube.get(kinds.pvcs, name, namespace);
    return c?.status?.phase === 'Bound' ? c : undefined;
  });
}

/** A running pod with two containers ("app", then "helper", each with $WHO set to its name), optionally mounting a claim at /data and an emptyDir at /scratch. */
export async function runningPod(
  kube: KubeClient,
  kinds: Kinds,
  namespace: string,
  name: string,
  options: { claim?: string; annotations?: Record<string, string>; scratch?: boolean } = {},
): Promise<KObject> {
  const volumes: any[] = [];
  const mounts: any[] = [];
  if (options.claim) {
    volumes.push({ name: 'data', persistentVolumeClaim: { claimName: options.claim } });
    mounts.push({ name: 'data', mountPath: '/data' });
  }
  if (options.scratch) {
    volumes.push({ name: 'scratch', emptyDir: {} });
    mounts.push({ name: 'scratch', mountPath: '/scratch' });
  }
  await kube.create(kinds.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, annotations: options.annotations },
    spec: {
      containers: [
        { name: 'app', image: 'docker.io/library/debian:12', command: ['sleep', 'infinity'], env: [{ name: 'WHO', value: 'app' }], volumeMounts: mounts },
        { name: 'helper', image: 'docker.io/library/busybox:1.37', command: ['sleep', 'infinity'], env: [{ name: 'WHO', value: 'helper' }], volumeMounts: mounts },
      ],
      volumes,
    },
  });
  return until(`pod ${namespace}/${name} running`, async () => {
    const p = await kube.get(kinds.pods, name, namespace);
    return p?.status?.phase === 'Running' ? p : undefined;
  });
}

/** Objects a capture made that are still there (pods, claims, VolumeSnapshots with Lifeboat's capture labels). */
export async function captureLeftovers(kube: KubeClient, kinds: Kinds): Promise<string[]> {
  const selector = 'app.kubernetes.io/managed-by=lifeboat,lifeboat.dev/mover=capture';
  const out: string[] = [];
  for (const r of [kinds.pods, kinds.pvcs, kinds.snapshots]) {
    for (const o of await kube.listAll(r, { labelSelector: selector })) out.push(`${r.kind} ${o.metadata.namespace}/${o.metadata.name}`);
  }
  return out;
}

/** A prod sandbox, an admin client on it, its served kinds, and an encrypted repository in a temp folder. */
export interface VolumeTestBed {
  sandbox: Sandbox;
  cluster: Cluster;
  kube: KubeClient;
  kinds: Kinds;
  work: string;
  repo: Repository;
}

export async function startVolumeTestBed(name: string): Promise<VolumeTestBed> {
  const sandbox = await startSandbox({ clusters: ['prod'] });
  const cluster = sandbox.clusters.get('prod')!;
  const kube = await openKubeClient({ kubeconfig: sandbox.kubeconfigPath, context: 'sandbox-prod' });
  const kinds = await kindsOf(kube);
  const work = await mkdtemp(path.join(os.tmpdir(), `lifeboat-${name}-test-`));
  const repo = await Repository.init(new LocalBackend(path.join(work, 'repo')), { passphrase: `${name} test passphrase` });
  return { sandbox, cluster, kube, kinds, work, repo };
}
