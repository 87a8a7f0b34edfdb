import { mkdir, rm } from 'node:fs/promises';
import type { KObject, ObjectApi } from '../contract';
import { recordEvent } from './events';
import type { ControllerSpec } from './loop';
import { HOSTPATH_DRIVER, HostDirs, copyTree } from './hostdirs';
import { R, clone, errorCode, isNotFound, isTerminating, jsonEqual } from './resources';

const BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';
const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
const PV_PROTECTION = 'kubernetes.io/pv-protection';

/** Quantity → bytes, enough for storage sizes (Ki/Mi/Gi/Ti, k/M/G/T, plain). */
export function parseQuantity(q: unknown): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(q ?? '').trim());
  if (!m) return 0;
  const mult: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, m: 1e-3 };
  return Number(m[1]) * (mult[m[2]] ?? 1);
}

export function claimClassName(pvc: KObject): string | undefined {
  return pvc.metadata.annotations?.[BETA_CLASS] ?? pvc.spec?.storageClassName;
}

/**
 * The persistent-volume controller and the host-directory provisioner:
 * a claim naming a volume,
 * or matching an available one, is bound to it; a claim of the sandbox's
 * class gets a new volume backed by a real directory (filled from a
 * VolumeSnapshot or another claim when it names a dataSource). Claims of
 * a class nobody provisions, or of a class that does not exist, stay
 * Pending, as on a real cluster.
 */
export function persistentVolumeClaimController(api: ObjectApi, dirs: HostDirs): ControllerSpec {
  return {
    name: 'pvc-binder',
    primary: R.pvcs,
    related: [
      {
        key: R.pvs,
        map: (pv) => (pv.spec?.claimRef?.name ? [`${pv.spec.claimRef.namespace}/${pv.spec.claimRef.name}`] : []),
      },
      {
        key: R.volumesnapshots,
        map: async (vs) =>
          (await api.list(R.pvcs, vs.metadata.namespace))
            .filter((c) => (c.spec?.dataSourceRef ?? c.spec?.dataSource)?.name === vs.metadata.name)
            .map((c) => `${c.metadata.namespace}/${c.metadata.name}`),
      },
      {
        key: R.storageclasses,
        map: async () => (await api.list(R.pvcs)).filter((c) => c.status?.phase !== 'Bound').map((c) => `${c.metadata.namespace}/${c.metadata.name}`),
      },
      {
        key: R.pods,
        map: (pod) => (pod.spec?.volumes ?? []).filter((v: any) => v.persistentVolumeClaim?.claimName).map((v: any) => `${pod.metadata.namespace}/${v.persistentVolumeClaim.claimName}`),
      },
    ],
    async reconcile(ns, name) {
      const pvc = await api.get(R.pvcs, ns, name);
      if (!pvc) return;
      if (isTerminating(pvc)) {
        // Storage-object-in-use protection: a claim goes only once no pod uses it.
        if (!pvc.metadata.finalizers?.includes(PVC_PROTECTION)) return;
        const pods = await api.list(R.pods, ns);
        const inUse = pods.some(
          (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && (p.spec?.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === name),
        );
        if (!inUse) await api.update(R.pvcs, { ...pvc, metadata: { ...pvc.metadata, finalizers: pvc.metadata.finalizers.filter((f) => f !== PVC_PROTECTION) } });
        return;
      }
      if (!pvc.metadata.finalizers?.includes(PVC_PROTECTION)) {
        await api.update(R.pvcs, { ...pvc, metadata: { ...pvc.metadata, finalizers: [...(pvc.metadata.finalizers ?? []), PVC_PROTECTION] } });
        return;
      }
      if (pvc.spec?.volumeName && pvc.status?.phase === 'Bound') {
        const pv = await api.get(R.pvs, undefined, pvc.spec.volumeName);
        if (pv && pv.spec?.claimRef?.uid === pvc.metadata.uid) {
          if (pv.status?.phase !== 'Bound') await api.updateStatus(R.pvs, { ...pv, status: { ...(pv.status ?? {}), phase: 'Bound' } });
          return;
        }
        if (!pv) return setPhase(api, pvc, 'Lost');
      }
      // The beta annotation wins over the field, as in the real controller.
      const className = claimClassName(pvc) ?? '';
      if (pvc.spec?.volumeName) {
        const pv = await api.get(R.pvs, undefined, pvc.spec.volumeName);
        const ref = pv?.spec?.claimRef;
        const free = pv && (!ref || (ref.name === name && ref.namespace === ns && (!ref.uid || ref.uid === pvc.metadata.uid)));
        if (!pv || !free || (pv.spec?.storageClassName ?? '') !== className) return setPhase(api, pvc, 'Pending');
        return bind(api, pvc, pv, false);
      }
      const request = parseQuantity(pvc.spec?.resources?.requests?.storage);
      const modes: string[] = pvc.spec?.accessModes ?? [];
      const candidates = (await api.list(R.pvs)).filter(
        (pv) =>
          !pv.spec?.claimRef &&
          (pv.status?.phase ?? 'Available') === 'Available' &&
          (pv.spec?.storageClassName ?? '') === className &&
          parseQuantity(pv.spec?.capacity?.storage) >= request &&
          modes.every((m) => (pv.spec?.accessModes ?? []).includes(m)),
      );
      candidates.sort((a, b) => parseQuantity(a.spec?.capacity?.storage) - parseQuantity(b.spec?.capacity?.storage));
      if (candidates[0]) return bind(api, pvc, candidates[0], true);
      const cls = className ? await api.get(R.storageclasses, undefined, className) : undefined;
      if (!cls) {
        if (className) await recordEvent(api, pvc, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`, { component: 'persistentvolume-controller' });
        return setPhase(api, pvc, 'Pending');
      }
      if (pvc.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'] !== cls.provisioner) {
        await api.update(R.pvcs, {
          ...pvc,
          metadata: {
            ...pvc.metadata,
            annotations: { ...(pvc.metadata.annotations ?? {}), 'volume.beta.kubernetes.io/storage-provisioner': cls.provisioner, 'volume.kubernetes.io/storage-provisioner': cls.provisioner },
          },
        });
        if (cls.provisioner !== HOSTPATH_DRIVER) {
          await recordEvent(api, pvc, 'Normal', 'ExternalProvisioning', `Waiting for a volume to be created either by the external provisioner '${cls.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`, { component: 'persistentvolume-controller' });
        } else {
          await recordEvent(api, pvc, 'Normal', 'Provisioning', `External provisioner is provisioning volume for claim "${ns}/${name}"`, { component: `${HOSTPATH_DRIVER}_sandbox` });
        }
        return;
      }
      if (cls.provisioner !== HOSTPATH_DRIVER) return setPhase(api, pvc, 'Pending');
      if (cls.volumeBindingMode === 'WaitForFirstConsumer' && !pvc.metadata.annotations?.['volume.kubernetes.io/selected-node']) return setPhase(api, pvc, 'Pending');
      const source = await dataSourceDir(api, dirs, pvc);
      if (source === 'wait') return setPhase(api, pvc, 'Pending');
      const pvName = `pvc-${pvc.metadata.uid}`;
      const dir = dirs.volume(pvName);
      await mkdir(dir, { recursive: true });
      if (source) await copyTree(source, dir);
      const pv: KObject = {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: {
          name: pvName,
          annotations: {
            'pv.kubernetes.io/provisioned-by': HOSTPATH_DRIVER,
            'volume.kubernetes.io/provisioner-deletion-secret-name': '',
            'volume.kubernetes.io/provisioner-deletion-secret-namespace': '',
          },
        },
        spec: {
          accessModes: modes.length ? modes : ['ReadWriteOnce'],
          capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name, uid: pvc.metadata.uid, resourceVersion: pvc.metadata.resourceVersion },
          csi: { driver: HOSTPATH_DRIVER, volumeHandle: pvName, fsType: 'ext4', volumeAttributes: { 'storage.kubernetes.io/csiProvisionerIdentity': `sandbox-${HOSTPATH_DRIVER}` } },
          persistentVolumeReclaimPolicy: cls.reclaimPolicy ?? 'Delete',
          storageClassName: className,
          volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
          ...(cls.mountOptions ? { mountOptions: cls.mountOptions } : {}),
        },
      };
      let created: KObject;
      try {
        created = await api.create(R.pvs, pv);
        await recordEvent(api, pvc, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`, { component: `${HOSTPATH_DRIVER}_sandbox` });
      } catch (err) {
        if (errorCode(err) !== 409) throw err;
        created = (await api.get(R.pvs, undefined, pvName))!;
      }
      return bind(api, pvc, created, true);
    },
  };
}

/** The directory a new volume is filled from, 'wait' while the source is not ready, undefined for none. */
async function dataSourceDir(api: ObjectApi, dirs: HostDirs, pvc: KObject): Promise<string | 'wait' | undefined> {
  const ds = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
  if (!ds?.name) return undefined;
  const ns = ds.namespace ?? pvc.metadata.namespace;
  if (ds.kind === 'VolumeSnapshot') {
    const vs = await api.get(R.volumesnapshots, ns, ds.name).catch(() => undefined);
    if (!vs?.status?.readyToUse || !vs.status.boundVolumeSnapshotContentName) return 'wait';
    const content = await api.get(R.volumesnapshotcontents, undefined, vs.status.boundVolumeSnapshotContentName);
    if (!content?.status?.snapshotHandle) return 'wait';
    return dirs.snapshot(content.status.snapshotHandle);
  }
  if (ds.kind === 'PersistentVolumeClaim' && !ds.apiGroup) {
    const src = await api.get(R.pvcs, ns, ds.name);
    if (!src?.spec?.volumeName || src.status?.phase !== 'Bound') return 'wait';
    const pv = await api.get(R.pvs, undefined, src.spec.volumeName);
    return (pv && dirs.ofPersistentVolume(pv)) || 'wait';
  }
  return undefined;
}

async function setPhase(api: ObjectApi, pvc: KObject, phase: string): Promise<void> {
  if (pvc.status?.phase === phase) return;
  await api.updateStatus(R.pvcs, { ...pvc, status: { ...(pvc.status ?? {}), phase } });
}

async function bind(api: ObjectApi, pvc: KObject, pv: KObject, byController: boolean): Promise<void> {
  const ns = pvc.metadata.namespace;
  if (pv.spec?.claimRef?.uid !== pvc.metadata.uid) {
    pv = await api.update(R.pvs, {
      ...pv,
      metadata: { ...pv.metadata, annotations: { ...(pv.metadata.annotations ?? {}), 'pv.kubernetes.io/bound-by-controller': 'yes' } },
      spec: {
        ...pv.spec,
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: pvc.metadata.name, uid: pvc.metadata.uid, resourceVersion: pvc.metadata.resourceVersion },
      },
    });
  }
  if (pv.status?.phase !== 'Bound') pv = await api.updateStatus(R.pvs, { ...pv, status: { ...(pv.status ?? {}), phase: 'Bound' } });
  const annotations = { ...(pvc.metadata.annotations ?? {}), 'pv.kubernetes.io/bind-completed': 'yes' } as Record<string, string>;
  if (byController) annotations['pv.kubernetes.io/bound-by-controller'] = 'yes';
  let claim = pvc;
  if (claim.spec?.volumeName !== pv.metadata.name || !jsonEqual(annotations, claim.metadata.annotations ?? {})) {
    claim = await api.update(R.pvcs, { ...claim, metadata: { ...claim.metadata, annotations }, spec: { ...claim.spec, volumeName: pv.metadata.name } });
  }
  const status = { ...(claim.status ?? {}), phase: 'Bound', accessModes: pv.spec?.accessModes, capacity: pv.spec?.capacity };
  if (!jsonEqual(status, claim.status ?? {})) await api.updateStatus(R.pvcs, { ...claim, status });
}

/**
 * PersistentVolumes after their claim is gone: Delete-policy volumes are
 * removed with their directory, Retain ones become Released; unclaimed
 * ones are Available.
 */
export function persistentVolumeController(api: ObjectApi, dirs: HostDirs): ControllerSpec {
  return {
    name: 'pv-reclaimer',
    primary: R.pvs,
    related: [
      {
        key: R.pvcs,
        map: (pvc, event) => (event.type === 'DELETED' && pvc.spec?.volumeName ? [pvc.spec.volumeName] : []),
      },
    ],
    async reconcile(_ns, name) {
      const pv = await api.get(R.pvs, undefined, name);
      if (!pv) return;
      const ref = pv.spec?.claimRef;
      if (isTerminating(pv)) {
        // A bound volume goes only once its claim is gone.
        if (!pv.metadata.finalizers?.includes(PV_PROTECTION)) return;
        const claim = ref?.name ? await api.get(R.pvcs, ref.namespace, ref.name) : undefined;
        if (pv.status?.phase === 'Bound' && claim && (!ref.uid || claim.metadata.uid === ref.uid)) return;
        await api.update(R.pvs, { ...pv, metadata: { ...pv.metadata, finalizers: pv.metadata.finalizers.filter((f) => f !== PV_PROTECTION) } });
        return;
      }
      if (!pv.metadata.finalizers?.includes(PV_PROTECTION)) {
        await api.update(R.pvs, { ...pv, metadata: { ...pv.metadata, finalizers: [...(pv.metadata.finalizers ?? []), PV_PROTECTION] } });
        return;
      }
      if (!ref) {
        if (!pv.status?.phase || pv.status.phase === 'Pending') await api.updateStatus(R.pvs, { ...pv, status: { ...(pv.status ?? {}), phase: 'Available' } });
        return;
      }
      const claim = await api.get(R.pvcs, ref.namespace, ref.name);
      if (claim && (!ref.uid || claim.metadata.uid === ref.uid)) return;
      if (!ref.uid) return;
      if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
        const dir = pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === HOSTPATH_DRIVER ? dirs.ofPersistentVolume(pv) : undefined;
        try {
          await api.delete(R.pvs, undefined, name);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        if (dir) await rm(dir, { recursive: true, force: true });
        return;
      }
      if (pv.status?.phase !== 'Released') {
        const status = clone(pv.status ?? {});
        status.phase = 'Released';
        await api.updateStatus(R.pvs, { ...pv, status });
      }
    },
  };
}
