import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { KObject, ObjectApi } from '../contract';
import type { ControllerSpec } from './loop';
import { HOSTPATH_DRIVER, HostDirs, copyTree, treeSize } from './hostdirs';
import { R, errorCode, isNotFound, isTerminating, jsonEqual, now } from './resources';

export const SNAPSHOT_CLASS = 'sandbox-snapclass';

export function snapshotClass(): KObject {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    metadata: { name: SNAPSHOT_CLASS, annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } },
    driver: HOSTPATH_DRIVER,
    deletionPolicy: 'Delete',
  };
}

/**
 * The CSI snapshot path for sandbox volumes: a VolumeSnapshot of a bound
 * claim gets a VolumeSnapshotContent whose handle names a point-in-time
 * copy of the volume's directory, and becomes readyToUse. Deleting the
 * snapshot removes the content (and the copy) under deletionPolicy Delete.
 */
export function volumeSnapshotController(api: ObjectApi, dirs: HostDirs): ControllerSpec {
  return {
    name: 'snapshot',
    primary: R.volumesnapshots,
    related: [
      {
        key: R.pvcs,
        map: async (pvc) =>
          (await api.list(R.volumesnapshots, pvc.metadata.namespace).catch(() => []))
            .filter((s) => s.spec?.source?.persistentVolumeClaimName === pvc.metadata.name && !s.status?.readyToUse)
            .map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
      },
    ],
    async reconcile(ns, name) {
      const vs = await api.get(R.volumesnapshots, ns, name);
      if (!vs) return;
      if (isTerminating(vs) || vs.status?.readyToUse) return;
      const claimName = vs.spec?.source?.persistentVolumeClaimName;
      if (!claimName) return;
      const className = vs.spec?.volumeSnapshotClassName ?? (await defaultSnapshotClass(api))?.metadata.name;
      const cls = className ? await api.get(R.volumesnapshotclasses, undefined, className) : undefined;
      const pvc = await api.get(R.pvcs, ns, claimName);
      const fail = async (message: string): Promise<void> => {
        const status = { ...(vs.status ?? {}), readyToUse: false, error: { message, time: vs.status?.error?.time ?? now() } };
        if (!jsonEqual(status, vs.status ?? {})) await api.updateStatus(R.volumesnapshots, { ...vs, status });
      };
      if (!cls) return fail(`Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "${className ?? ''}" not found`);
      if (!pvc) return fail(`Failed to get PVC ${claimName}: persistentvolumeclaim "${claimName}" not found`);
      if (pvc.status?.phase !== 'Bound' || !pvc.spec?.volumeName) return fail(`the PVC ${claimName} is not yet bound to a PV, will not attempt to take a snapshot`);
      const pv = await api.get(R.pvs, undefined, pvc.spec.volumeName);
      if (!pv || pv.spec?.csi?.driver !== cls.driver) {
        return fail(`Failed to create snapshot: volume ${pvc.spec.volumeName} is not provisioned by CSI driver ${cls.driver}`);
      }
      const source = dirs.ofPersistentVolume(pv)!;
      const contentName = `snapcontent-${vs.metadata.uid}`;
      let content = await api.get(R.volumesnapshotcontents, undefined, contentName);
      if (!content) {
        const handle = randomUUID();
        await copyTree(source, dirs.snapshot(handle));
        const size = await treeSize(dirs.snapshot(handle));
        const created = Date.now();
        try {
          content = await api.create(R.volumesnapshotcontents, {
            apiVersion: 'snapshot.storage.k8s.io/v1',
            kind: 'VolumeSnapshotContent',
            metadata: { name: contentName },
            spec: {
              deletionPolicy: cls.deletionPolicy ?? 'Delete',
              driver: cls.driver,
              source: { volumeHandle: pv.spec.csi.volumeHandle },
              sourceVolumeMode: pv.spec?.volumeMode ?? 'Filesystem',
              volumeSnapshotClassName: cls.metadata.name,
              volumeSnapshotRef: { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', name, namespace: ns, uid: vs.metadata.uid, resourceVersion: vs.metadata.resourceVersion },
            },
          });
        } catch (err) {
          await rm(dirs.snapshot(handle), { recursive: true, force: true });
          if (errorCode(err) !== 409) throw err;
          return;
        }
        content = await api.updateStatus(R.volumesnapshotcontents, {
          ...content,
          status: { creationTime: created * 1e6, readyToUse: true, restoreSize: Math.max(size, 0), snapshotHandle: handle },
        });
      }
      const status = {
        boundVolumeSnapshotContentName: contentName,
        creationTime: new Date(Number(content!.status?.creationTime ?? Date.now() * 1e6) / 1e6).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        readyToUse: true,
        restoreSize: pv.spec?.capacity?.storage ?? String(content!.status?.restoreSize ?? 0),
      };
      const withClass = vs.spec?.volumeSnapshotClassName ? vs : await api.update(R.volumesnapshots, { ...vs, spec: { ...vs.spec, volumeSnapshotClassName: cls.metadata.name } });
      await api.updateStatus(R.volumesnapshots, { ...withClass, status });
    },
  };
}

async function defaultSnapshotClass(api: ObjectApi): Promise<KObject | undefined> {
  return (await api.list(R.volumesnapshotclasses)).find((c) => c.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true');
}

/** Contents whose snapshot is gone are deleted (policy Delete) with their copy, or kept (Retain). */
export function volumeSnapshotContentController(api: ObjectApi, dirs: HostDirs): ControllerSpec {
  return {
    name: 'snapshot-content',
    primary: R.volumesnapshotcontents,
    related: [
      {
        key: R.volumesnapshots,
        map: (vs, event) => (event.type === 'DELETED' && vs.status?.boundVolumeSnapshotContentName ? [vs.status.boundVolumeSnapshotContentName] : []),
      },
    ],
    async reconcile(_ns, name) {
      const content = await api.get(R.volumesnapshotcontents, undefined, name);
      if (!content) return;
      const ref = content.spec?.volumeSnapshotRef;
      if (!ref?.name) return;
      const vs = await api.get(R.volumesnapshots, ref.namespace, ref.name);
      if (vs && (!ref.uid || vs.metadata.uid === ref.uid)) return;
      if (!ref.uid || content.spec?.deletionPolicy !== 'Delete') return;
      try {
        await api.delete(R.volumesnapshotcontents, undefined, name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (content.status?.snapshotHandle) await rm(dirs.snapshot(content.status.snapshotHandle), { recursive: true, force: true });
    },
  };
}
