import type { KObject, ObjectApi } from '../contract';
import { R, clone, isControlledBy, isNotFound, isTerminating, ownerRef } from './resources';

/** A pod that still counts toward its workload's replicas. */
export function isPodActive(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return !isTerminating(pod) && phase !== 'Succeeded' && phase !== 'Failed';
}

export function isPodReady(pod: KObject): boolean {
  return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** Pods in a namespace whose controller is `owner`. */
export async function ownedPods(api: ObjectApi, owner: KObject): Promise<KObject[]> {
  const pods = await api.list(R.pods, owner.metadata.namespace);
  return pods.filter((p) => isControlledBy(p, owner));
}

/** A pod object from a workload's template, owned by the workload. */
export function podFromTemplate(
  owner: KObject,
  template: KObject['spec'],
  naming: { name?: string; generateName?: string },
  extraLabels: Record<string, string> = {},
): KObject {
  const t = clone(template ?? {});
  const meta = t.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(naming.name ? { name: naming.name } : { name: '', generateName: naming.generateName }),
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}), ...extraLabels },
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ownerReferences: [ownerRef(owner)],
    },
    spec: t.spec ?? { containers: [] },
  };
}

/** Deletes a pod, treating "already gone" as done. */
export async function deletePod(api: ObjectApi, pod: KObject): Promise<void> {
  try {
    await api.delete(R.pods, pod.metadata.namespace, pod.metadata.name);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Which pods to remove when scaling down, in the order the ReplicaSet
 * controller picks them: unscheduled before scheduled, pending before
 * running, not-ready before ready, newest first.
 */
export function scaleDownOrder(pods: KObject[]): KObject[] {
  const rank = (p: KObject): number[] => [
    p.spec?.nodeName ? 1 : 0,
    p.status?.phase === 'Pending' ? 0 : p.status?.phase === 'Unknown' ? 1 : 2,
    isPodReady(p) ? 1 : 0,
    -Date.parse(p.metadata.creationTimestamp ?? '') || 0,
  ];
  return [...pods].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
    return 0;
  });
}
