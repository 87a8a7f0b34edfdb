import { ClusterContextsRequest, ClusterTagRequest, type ClusterObjectRef, type TagValue } from '../../protocol/worker';
import type { Host } from '../host';
import { resolveExplorerResource } from '../kubernetesTools';
import { kubeconfigSetting } from '../settings';
import type { ClusterNode, ClustersProvider } from '../views/clusters';
import type { WorkerClient } from '../workerClient';

/**
 * `lifeboat.tag` / `lifeboat.untag`: set or remove the backup annotation on
 * the selected nodes of the Clusters view (several at once), or on a pod or
 * PVC of the Kubernetes extension's Cluster Explorer.
 */

interface Target {
  context: string;
  ref: ClusterObjectRef;
}

function targetOf(node: ClusterNode): Target | undefined {
  if (node.type === 'namespace') return { context: node.context, ref: { kind: 'Namespace', name: node.name } };
  if (node.type === 'object') return { context: node.context, ref: { kind: node.item.kind, namespace: node.item.namespace, name: node.item.name } };
  return undefined;
}

function isClusterNode(value: unknown): value is ClusterNode {
  return !!value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string' && 'context' in value;
}

/** The Kubernetes extension works on the kubeconfig's current context: so does a tag from its explorer. */
async function currentContext(worker: WorkerClient): Promise<string | undefined> {
  const kubeconfig = kubeconfigSetting();
  const { contexts } = await worker.request(ClusterContextsRequest, kubeconfig ? { kubeconfig } : {});
  return contexts.find((c) => c.current)?.name;
}

async function targetsOf(worker: WorkerClient, item: unknown, selected: unknown): Promise<Target[]> {
  const nodes = Array.isArray(selected) && selected.length > 0 ? selected : item === undefined ? [] : [item];
  const targets: Target[] = [];
  for (const n of nodes) {
    if (isClusterNode(n)) {
      const t = targetOf(n);
      if (t) targets.push(t);
      continue;
    }
    const resource = await resolveExplorerResource(n);
    if (!resource) continue;
    const context = await currentContext(worker);
    if (context) targets.push({ context, ref: resource });
  }
  return targets;
}

function describe(ref: ClusterObjectRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

/** Tags (value "true"), excludes ("false") or untags (null) what the command was invoked on; one request per context. */
export async function tagCommand(worker: WorkerClient, host: Host, view: ClustersProvider, value: TagValue | null, item: unknown, selected: unknown): Promise<void> {
  const targets = await targetsOf(worker, item, selected);
  if (targets.length === 0) {
    await host.showInformationMessage('Select a namespace, workload, pod or PVC in the Clusters view to tag it for backup.');
    return;
  }
  const byContext = new Map<string, ClusterObjectRef[]>();
  for (const t of targets) byContext.set(t.context, [...(byContext.get(t.context) ?? []), t.ref]);
  const kubeconfig = kubeconfigSetting();
  const failures: string[] = [];
  for (const [context, refs] of byContext) {
    try {
      const { results } = await worker.request(ClusterTagRequest, { ...(kubeconfig ? { kubeconfig } : {}), context, refs, value });
      for (const r of results) if (!r.ok) failures.push(r.message ?? `${describe(r.ref)}: failed`);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  // The watch refreshes too; refreshing now shows the result without waiting for it.
  for (const n of Array.isArray(selected) && selected.length > 0 ? selected : [item]) if (isClusterNode(n)) view.refreshNode(view.getParent(n));
  if (failures.length > 0) await host.showErrorMessage(failures.join('\n'));
}
