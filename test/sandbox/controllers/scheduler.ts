import type { KObject, ObjectApi } from '../contract';
import { recordEvent } from './events';
import type { ControllerSpec } from './loop';
import type { PodCache } from './podcache';
import { parseQuantity } from './storage';
import { R, clone, isTerminating, jsonEqual, now, setCondition } from './resources';

function nodeReady(node: KObject): boolean {
  return (node.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

function tolerates(podSpec: any, taint: { key: string; value?: string; effect: string }): boolean {
  return (podSpec.tolerations ?? []).some((t: any) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function exprMatches(e: { key: string; operator: string; values?: string[] }, value: string | undefined): boolean {
  const vals = e.values ?? [];
  switch (e.operator) {
    case 'In':
      return value !== undefined && vals.includes(value);
    case 'NotIn':
      return value === undefined || !vals.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(vals[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(vals[0]);
    default:
      return false;
  }
}

/** Whether a pod (its spec) may run on a node: readiness, taints, nodeSelector, required node affinity. */
export function nodeFits(node: KObject, podSpec: any, ignoreUnschedulable = false): boolean {
  if (!nodeReady(node)) return false;
  if (node.spec?.unschedulable && !ignoreUnschedulable) return false;
  for (const taint of node.spec?.taints ?? []) {
    if ((taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(podSpec, taint)) return false;
  }
  const labels: Record<string, string> = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries((podSpec.nodeSelector ?? {}) as Record<string, string>)) if (labels[k] !== v) return false;
  const terms = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms?.length) {
    const ok = terms.some(
      (t: any) =>
        (t.matchExpressions ?? []).every((e: any) => exprMatches(e, labels[e.key])) &&
        (t.matchFields ?? []).every((e: any) => exprMatches(e, e.key === 'metadata.name' ? node.metadata.name : undefined)),
    );
    if (!ok) return false;
  }
  return true;
}

/**
 * The scheduler: binds each pending pod to the least loaded node that
 * fits, once every PersistentVolumeClaim it mounts is bound. Pods that
 * cannot be placed stay Pending with PodScheduled=False and the message
 * the real scheduler gives.
 */
export function schedulerController(api: ObjectApi, cache: PodCache): ControllerSpec {
  return {
    name: 'scheduler',
    primary: R.pods,
    related: [
      {
        key: R.pvcs,
        map: async (pvc) => {
          const pods = await api.list(R.pods, pvc.metadata.namespace);
          return pods
            .filter((p) => !p.spec?.nodeName && (p.spec?.volumes ?? []).some((v: any) => v.persistentVolumeClaim?.claimName === pvc.metadata.name))
            .map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
        },
      },
      {
        key: R.nodes,
        map: () => cache.all().filter((p) => !p.spec?.nodeName).map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
      },
    ],
    async reconcile(ns, name) {
      const pod = await api.get(R.pods, ns, name);
      if (!pod || pod.spec?.nodeName || isTerminating(pod)) return;
      if (pod.spec?.schedulerName && pod.spec.schedulerName !== 'default-scheduler') return;
      const nodes = await api.list(R.nodes);
      const total = nodes.length;
      const preemption = `preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
      for (const v of pod.spec?.volumes ?? []) {
        const claim = v.persistentVolumeClaim?.claimName;
        if (!claim) continue;
        const pvc = await api.get(R.pvcs, ns, claim);
        if (!pvc) return unschedulable(api, pod, `0/${total} nodes are available: persistentvolumeclaim "${claim}" not found. ${preemption}`);
        if (pvc.status?.phase !== 'Bound') {
          const cls = await storageClassOf(api, pvc);
          if (cls?.volumeBindingMode === 'WaitForFirstConsumer' && !pvc.metadata.annotations?.['volume.kubernetes.io/selected-node']) {
            const target = pickNode(nodes.filter((n) => nodeFits(n, pod.spec)), cache.all());
            if (target) {
              await api.update(R.pvcs, {
                ...pvc,
                metadata: { ...pvc.metadata, annotations: { ...(pvc.metadata.annotations ?? {}), 'volume.kubernetes.io/selected-node': target.metadata.name } },
              });
            }
            return unschedulable(api, pod, `running PreBind plugin "VolumeBinding": binding volumes: pod has unbound immediate PersistentVolumeClaims`, false);
          }
          return unschedulable(api, pod, `0/${total} nodes are available: pod has unbound immediate PersistentVolumeClaims. ${preemption}`);
        }
      }
      const allPods = cache.all();
      const placeable = nodes.filter((n) => nodeFits(n, pod.spec));
      const fitting = placeable.filter((n) => insufficient(pod, n, allPods).length === 0);
      const node = pickNode(fitting, allPods);
      if (!node && placeable.length > 0) {
        const counts = new Map<string, number>();
        for (const n of placeable) for (const r of insufficient(pod, n, allPods)) counts.set(r, (counts.get(r) ?? 0) + 1);
        const parts = [...counts.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([r, c]) => (r === 'pods' ? `${c} Too many pods` : `${c} Insufficient ${r}`));
        const other = total - placeable.length;
        if (other > 0) parts.push(`${other} node(s) didn't match Pod's node affinity/selector`);
        return unschedulable(api, pod, `0/${total} nodes are available: ${parts.join(', ')}. preemption: 0/${total} nodes are available: ${placeable.length} No preemption victims found for incoming pod${other > 0 ? `, ${other} Preemption is not helpful for scheduling` : ''}.`);
      }
      if (!node) {
        const reason = total === 0 ? 'no nodes available to schedule pods' : `0/${total} nodes are available: ${total} node(s) didn't match Pod's node affinity/selector. ${preemption}`;
        return unschedulable(api, pod, reason);
      }
      const bound = await api.update(R.pods, { ...pod, spec: { ...pod.spec, nodeName: node.metadata.name } });
      const status = clone(bound.status ?? {});
      status.phase = status.phase ?? 'Pending';
      status.conditions = setCondition(status.conditions, { type: 'PodScheduled', status: 'True', lastProbeTime: null });
      await api.updateStatus(R.pods, { ...bound, status });
      await recordEvent(api, bound, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node.metadata.name}`, { component: 'default-scheduler' });
    },
  };
}

async function storageClassOf(api: ObjectApi, pvc: KObject): Promise<any> {
  const name = pvc.spec?.storageClassName ?? pvc.metadata.annotations?.['volume.beta.kubernetes.io/storage-class'];
  return name ? api.get(R.storageclasses, undefined, name) : undefined;
}

/** What a pod's containers request, per resource (limits stand in for missing requests). */
function podRequests(pod: KObject): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of pod.spec?.containers ?? []) {
    const req = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
    for (const [r, q] of Object.entries(req)) out.set(r, (out.get(r) ?? 0) + parseQuantity(q));
  }
  return out;
}

/** Resources the node lacks for the pod, given the pods already bound to it. */
function insufficient(pod: KObject, node: KObject, pods: KObject[]): string[] {
  const alloc: Record<string, unknown> = node.status?.allocatable ?? {};
  const used = new Map<string, number>();
  for (const p of pods) {
    if (p.spec?.nodeName !== node.metadata.name || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    for (const [r, q] of podRequests(p)) used.set(r, (used.get(r) ?? 0) + q);
  }
  const short: string[] = [];
  for (const [r, q] of podRequests(pod)) {
    if (q <= 0) continue;
    const have = alloc[r] === undefined ? 0 : parseQuantity(alloc[r]);
    if ((used.get(r) ?? 0) + q > have) short.push(r);
  }
  const count = pods.filter((p) => p.spec?.nodeName === node.metadata.name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length;
  if (alloc.pods !== undefined && count + 1 > parseQuantity(alloc.pods)) short.push('pods');
  return short;
}

function pickNode(nodes: KObject[], pods: KObject[]): KObject | undefined {
  const load = new Map<string, number>();
  for (const p of pods) if (p.spec?.nodeName) load.set(p.spec.nodeName, (load.get(p.spec.nodeName) ?? 0) + 1);
  return [...nodes].sort((a, b) => (load.get(a.metadata.name) ?? 0) - (load.get(b.metadata.name) ?? 0) || a.metadata.name.localeCompare(b.metadata.name))[0];
}

async function unschedulable(api: ObjectApi, pod: KObject, message: string, isUnschedulable = true): Promise<void> {
  const status = clone(pod.status ?? {});
  status.phase = 'Pending';
  status.conditions = setCondition(status.conditions, {
    type: 'PodScheduled',
    status: 'False',
    reason: isUnschedulable ? 'Unschedulable' : 'SchedulerError',
    message,
    lastProbeTime: null,
  });
  if (jsonEqual(status, pod.status ?? {})) return;
  status.conditions.find((c: any) => c.type === 'PodScheduled').lastTransitionTime ??= now();
  await api.updateStatus(R.pods, { ...pod, status });
  await recordEvent(api, pod, 'Warning', 'FailedScheduling', message, { component: 'default-scheduler' });
}
