import type { ObjectApi, ResourceKey } from '../contract';
import { recordEvent } from './events';
import type { ControllerSpec } from './loop';
import { ownerKeys } from './loop';
import { deletePod, isPodActive, isPodReady, ownedPods, podFromTemplate, scaleDownOrder } from './pods';
import { R, isNotFound, isTerminating, jsonEqual } from './resources';

/**
 * Keeps a ReplicaSet's (or a ReplicationController's: same loop, older
 * API) pod count at spec.replicas and reports what it sees in status.
 */
function replicaController(api: ObjectApi, key: ResourceKey, kind: string, name: string): ControllerSpec {
  return {
    name,
    primary: key,
    related: [{ key: R.pods, map: ownerKeys(kind) }],
    async reconcile(ns, objName) {
      const rs = await api.get(key, ns, objName);
      if (!rs || isTerminating(rs)) return;
      const desired = rs.spec?.replicas ?? 1;
      let pods = (await ownedPods(api, rs)).filter(isPodActive);
      if (pods.length < desired) {
        for (let i = pods.length; i < desired; i++) {
          const pod = podFromTemplate(rs, rs.spec?.template, { generateName: `${objName}-` });
          const created = await api.create(R.pods, pod);
          pods.push(created);
          await recordEvent(api, rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, { component: `${name}-controller` });
        }
      } else if (pods.length > desired) {
        const victims = scaleDownOrder(pods).slice(0, pods.length - desired);
        for (const v of victims) {
          await deletePod(api, v);
          await recordEvent(api, rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${v.metadata.name}`, { component: `${name}-controller` });
        }
        const gone = new Set(victims.map((v) => v.metadata.uid));
        pods = pods.filter((p) => !gone.has(p.metadata.uid));
      }
      const ready = pods.filter(isPodReady).length;
      const status: Record<string, unknown> = {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation ?? 1,
      };
      if (!ready) {
        delete status.readyReplicas;
        delete status.availableReplicas;
      }
      if (!pods.length) delete status.fullyLabeledReplicas;
      if (rs.status?.conditions) status.conditions = rs.status.conditions;
      if (jsonEqual(status, rs.status ?? {})) return;
      try {
        await api.updateStatus(key, { ...rs, status });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };
}

export function replicaSetController(api: ObjectApi): ControllerSpec {
  return replicaController(api, R.replicasets, 'ReplicaSet', 'replicaset');
}

export function replicationControllerController(api: ObjectApi): ControllerSpec {
  return replicaController(api, R.replicationcontrollers, 'ReplicationController', 'replicationcontroller');
}

