import type { KObject, ObjectApi } from '../contract';
import { templateHash } from './hash';
import { recordEvent } from './events';
import type { ControllerSpec } from './loop';
import { ownerKeys } from './loop';
import { deletePod, isPodActive, isPodReady, ownedPods, podFromTemplate } from './pods';
import { R, isTerminating, jsonEqual } from './resources';
import { nodeFits } from './scheduler';

/** The node a DaemonSet pod is pinned to through its required node affinity. */
export function pinnedNode(pod: KObject): string | undefined {
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** DaemonSet → exactly one pod on every node the template fits. */
export function daemonSetController(api: ObjectApi): ControllerSpec {
  return {
    name: 'daemonset',
    primary: R.daemonsets,
    related: [
      { key: R.pods, map: ownerKeys('DaemonSet') },
      { key: R.nodes, map: async () => (await api.list(R.daemonsets)).map((d) => `${d.metadata.namespace}/${d.metadata.name}`) },
    ],
    async reconcile(ns, name) {
      const ds = await api.get(R.daemonsets, ns, name);
      if (!ds || isTerminating(ds)) return;
      const hash = templateHash(ds.spec?.template);
      const nodes = (await api.list(R.nodes)).filter((n) => nodeFits(n, ds.spec?.template?.spec ?? {}, true));
      const pods = (await ownedPods(api, ds)).filter(isPodActive);
      const byNode = new Map<string, KObject[]>();
      for (const p of pods) {
        const node = p.spec?.nodeName ?? pinnedNode(p) ?? '';
        byNode.set(node, [...(byNode.get(node) ?? []), p]);
      }
      const wanted = new Set(nodes.map((n) => n.metadata.name));
      const keep: KObject[] = [];
      for (const [node, list] of byNode) {
        if (!wanted.has(node)) {
          for (const p of list) await deletePod(api, p);
          continue;
        }
        const [first, ...rest] = list;
        for (const p of rest) await deletePod(api, p);
        // Rolling update: a pod from an older template is replaced.
        if (first.metadata.labels?.['controller-revision-hash'] !== hash && ds.spec?.updateStrategy?.type !== 'OnDelete') {
          await deletePod(api, first);
          byNode.delete(node);
        } else keep.push(first);
      }
      for (const node of wanted) {
        if (keep.some((p) => (p.spec?.nodeName ?? pinnedNode(p)) === node)) continue;
        const pod = podFromTemplate(ds, ds.spec?.template, { generateName: `${name}-` }, {
          'controller-revision-hash': hash,
          'pod-template-generation': String(ds.metadata.generation ?? 1),
        });
        pod.spec.affinity = {
          ...(pod.spec.affinity ?? {}),
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
            },
          },
        };
        pod.spec.tolerations = [
          ...(pod.spec.tolerations ?? []),
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
          { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
        ];
        const created = await api.create(R.pods, pod);
        keep.push(created);
        await recordEvent(api, ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, { component: 'daemonset-controller' });
      }
      const ready = keep.filter(isPodReady).length;
      const status = JSON.parse(
        JSON.stringify({
          currentNumberScheduled: keep.length,
          desiredNumberScheduled: wanted.size,
          numberMisscheduled: 0,
          numberReady: ready,
          numberAvailable: ready || undefined,
          numberUnavailable: wanted.size - ready || undefined,
          updatedNumberScheduled: keep.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash).length || undefined,
          observedGeneration: ds.metadata.generation ?? 1,
        }),
      );
      if (jsonEqual(status, ds.status ?? {})) return;
      await api.updateStatus(R.daemonsets, { ...ds, status });
    },
  };
}
