import { rm } from 'node:fs/promises';
import type { ObjectApi } from '../contract';
import { cronJobController } from './cronjob';
import { daemonSetController } from './daemonset';
import { deploymentController } from './deployment';
import { endpointsController } from './endpoints';
import { HostDirs } from './hostdirs';
import { jobController } from './job';
import { kubeletController, type KubeletTiming } from './kubelet';
import type { ControllerSpec, RunningController } from './loop';
import { startController } from './loop';
import { namespaceContentController } from './namespace';
import { PodCache } from './podcache';
import { R, sameKey } from './resources';
import { replicaSetController, replicationControllerController } from './replicaset';
import { schedulerController } from './scheduler';
import { volumeSnapshotContentController, volumeSnapshotController } from './snapshots';
import { statefulSetController } from './statefulset';
import { persistentVolumeClaimController, persistentVolumeController } from './storage';

export { HostDirs, HOSTPATH_DRIVER } from './hostdirs';
export { SNAPSHOT_CLASS, snapshotClass } from './snapshots';

export interface ControllerOptions {
  /** The cluster CA, published in every namespace as kube-root-ca.crt. */
  caCert: string;
  /** Where volume, snapshot and pod directories live. */
  dataDir: string;
  timing?: Partial<KubeletTiming>;
  log?: (message: string) => void;
}

export interface Controllers {
  stop(): void;
}

/** Starts the simulated control plane and kubelets of one sandbox cluster. */
export function startControllers(api: ObjectApi, options: ControllerOptions): Controllers {
  const dirs = new HostDirs(options.dataDir);
  const log = options.log ?? ((m: string) => process.stderr.write(`[sandbox] ${m}\n`));
  const timing: KubeletTiming = { startMs: options.timing?.startMs ?? 400, jobRunMs: options.timing?.jobRunMs ?? 1500 };
  const pods = new PodCache(api);
  const specs: ControllerSpec[] = [
    namespaceContentController(api, options.caCert),
    deploymentController(api),
    replicaSetController(api),
    replicationControllerController(api),
    statefulSetController(api),
    daemonSetController(api),
    jobController(api),
    cronJobController(api),
    endpointsController(api),
    schedulerController(api, pods),
    persistentVolumeClaimController(api, dirs),
    persistentVolumeController(api, dirs),
    volumeSnapshotController(api, dirs),
    volumeSnapshotContentController(api, dirs),
  ];
  const running = specs.map((s) => startController(api, s, log));
  // A deleted pod's emptyDir volumes go with it, as the kubelet removes them.
  const unwatchPods = api.watch((event) => {
    if (event.type === 'DELETED' && sameKey(event.key, R.pods) && event.object.metadata.uid) {
      void rm(dirs.podRoot(event.object.metadata.uid), { recursive: true, force: true }).catch(() => undefined);
    }
  });
  const kubelet: RunningController = startController(api, kubeletController(api, timing, pods, () => kubelet), log);
  running.push(kubelet);
  return {
    stop() {
      unwatchPods();
      for (const c of running) c.stop();
      pods.stop();
    },
  };
}
