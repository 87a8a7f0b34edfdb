import type { ApiResource, KObject, KubeClient } from '../kube/types';
import { silentLogger, type Logger } from '../log';
import { CancelledError } from '../progress';
import type { VolumeTarget } from './types';
import { captureMetadata, isStatus, objectName, resourceOf, sleep, type Heartbeat } from './mover';

/**
 * The crash-consistent path for CSI volumes: a VolumeSnapshot of the claim,
 * then a clone claim restored from it, which the mover reads while the
 * application goes on writing to the original.
 */

const SNAPSHOT_API = 'snapshot.storage.k8s.io/v1';
const DEFAULT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';

/** The CSI driver behind a claim: its volume's, or its StorageClass's provisioner. */
async function csiDriverOf(kube: KubeClient, target: VolumeTarget): Promise<string | undefined> {
  const fromVolume = target.volume?.spec?.csi?.driver;
  if (typeof fromVolume === 'string') return fromVolume;
  const className = target.claim.spec?.storageClassName ?? target.claim.metadata.annotations?.['volume.beta.kubernetes.io/storage-class'];
  if (!className) return undefined;
  const classes = await kube.resourceFor('storage.k8s.io/v1', 'StorageClass');
  if (!classes) return undefined;
  const sc = await kube.get(classes, className).catch(() => undefined);
  return typeof sc?.provisioner === 'string' ? sc.provisioner : undefined;
}

/**
 * The VolumeSnapshotClass to use for a claim: one whose driver is the
 * claim's CSI driver, the default-class one first. Undefined when the
 * cluster does not serve snapshots or has no class for the driver.
 */
export async function snapshotClassFor(kube: KubeClient, target: VolumeTarget): Promise<{ className: string; driver: string } | undefined> {
  const classes = await kube.resourceFor(SNAPSHOT_API, 'VolumeSnapshotClass');
  if (!classes || !(await kube.resourceFor(SNAPSHOT_API, 'VolumeSnapshot'))) return undefined;
  const driver = await csiDriverOf(kube, target);
  if (!driver) return undefined;
  const matching = (await kube.listAll(classes)).filter((c) => c.driver === driver);
  matching.sort((a, b) => {
    const da = a.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true' ? 0 : 1;
    const db = b.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true' ? 0 : 1;
    return da - db || a.metadata.name.localeCompare(b.metadata.name);
  });
  return matching[0] ? { className: matching[0].metadata.name, driver } : undefined;
}

/** A ready snapshot of a claim and the clone claim made from it. */
export interface VolumeClone {
  namespace: string;
  /** The VolumeSnapshot. */
  snapshot: string;
  /** The clone claim the mover reads. */
  claim: string;
  /** Deletes the clone claim and the VolumeSnapshot; never throws (the next sweep gets what is left). */
  remove(options?: { timeoutMs?: number }): Promise<void>;
}

export interface CloneOptions {
  className: string;
  heartbeat: Heartbeat;
  signal?: AbortSignal;
  log?: Logger;
  /** How long the snapshot may take to become ready; default 10 minutes. */
  readyTimeoutMs?: number;
}

function bytesOf(quantity: unknown): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(quantity ?? '').trim());
  if (!m) return 0;
  const unit: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
  return Number(m[1]) * (unit[m[2]] ?? 1);
}

/**
 * Snapshots the claim, waits until the snapshot is ready to use, and
 * creates a clone claim from it (same class, mode and size). Throws when
 * any step fails, after removing what it created.
 */
export async function cloneFromSnapshot(kube: KubeClient, target: VolumeTarget, options: CloneOptions): Promise<VolumeClone> {
  const log = options.log ?? silentLogger;
  const ns = target.namespace;
  const snapshots = await resourceOf(kube, SNAPSHOT_API, 'VolumeSnapshot');
  const claims = await resourceOf(kube, 'v1', 'PersistentVolumeClaim');
  const meta = captureMetadata(target);
  const snapshotName = objectName('lifeboat-snap', target.pvc);
  const cloneName = objectName('lifeboat-clone', target.pvc);
  let snapshotCreated = false;
  let cloneCreated = false;
  let removed = false;
  const remove = async ({ timeoutMs = 10_000 } = {}): Promise<void> => {
    if (removed) return;
    removed = true;
    const signal = AbortSignal.timeout(timeoutMs);
    const del = async (resource: ApiResource, name: string): Promise<void> => {
      options.heartbeat.release(resource, ns, name);
      try {
        await kube.delete(resource, name, ns, { signal });
      } catch (err) {
        log.log('warn', `${resource.kind} ${ns}/${name} could not be deleted (${(err as Error).message}); the next capture removes it`);
      }
    };
    if (cloneCreated) await del(claims, cloneName);
    if (snapshotCreated) await del(snapshots, snapshotName);
  };
  try {
    await kube.create(
      snapshots,
      {
        apiVersion: SNAPSHOT_API,
        kind: 'VolumeSnapshot',
        metadata: { name: snapshotName, namespace: ns, ...meta },
        spec: { volumeSnapshotClassName: options.className, source: { persistentVolumeClaimName: target.pvc } },
      },
      { signal: options.signal },
    );
    snapshotCreated = true;
    options.heartbeat.hold(snapshots, ns, snapshotName);
    log.log('info', `VolumeSnapshot ${ns}/${snapshotName} of ${target.pvc} created (class ${options.className})`);
    const ready = await waitReady(kube, snapshots, ns, snapshotName, options);
    // The clone must hold the snapshot: the largest of the claim's size and the snapshot's restore size.
    const sizes = [target.claim.status?.capacity?.storage, target.claim.spec?.resources?.requests?.storage, ready.status?.restoreSize].filter((q) => bytesOf(q) > 0);
    const request = sizes.length ? String(sizes.reduce((a, b) => (bytesOf(b) > bytesOf(a) ? b : a))) : '1Gi';
    await kube.create(
      claims,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: cloneName, namespace: ns, ...meta },
        spec: {
          accessModes: target.claim.spec?.accessModes ?? ['ReadWriteOnce'],
          ...(target.claim.spec?.storageClassName ? { storageClassName: target.claim.spec.storageClassName } : {}),
          volumeMode: target.claim.spec?.volumeMode ?? 'Filesystem',
          resources: { requests: { storage: request } },
          dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshotName },
        },
      },
      { signal: options.signal },
    );
    cloneCreated = true;
    options.heartbeat.hold(claims, ns, cloneName);
    return { namespace: ns, snapshot: snapshotName, claim: cloneName, remove };
  } catch (err) {
    await remove({ timeoutMs: 2000 });
    if (options.signal?.aborted) throw new CancelledError();
    if (isStatus(err, 403)) throw new Error(`not allowed to create ${snapshotCreated ? 'a PersistentVolumeClaim' : 'a VolumeSnapshot'} in namespace "${ns}" (Forbidden)`);
    throw err;
  }
}

async function waitReady(kube: KubeClient, snapshots: ApiResource, ns: string, name: string, options: CloneOptions): Promise<KObject> {
  const timeoutMs = options.readyTimeoutMs ?? 600_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const vs = await kube.get(snapshots, name, ns, { signal: options.signal });
    if (!vs) throw new Error(`VolumeSnapshot ${ns}/${name} disappeared before it was ready`);
    if (vs.status?.readyToUse === true) return vs;
    // As Velero does, an error the snapshot controller reports is taken as final.
    if (vs.status?.error?.message) throw new Error(`VolumeSnapshot ${ns}/${name} failed: ${vs.status.error.message}`);
    if (Date.now() > deadline) throw new Error(`VolumeSnapshot ${ns}/${name} was not ready to use within ${Math.round(timeoutMs / 1000)}s`);
    await sleep(250, options.signal);
  }
}
