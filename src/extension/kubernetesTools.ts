import * as vscode from 'vscode';

/**
 * The Kubernetes extension's Cluster Explorer, when it is installed: its
 * versioned API (`clusterexplorer` v1_1) turns the node a menu command was
 * invoked on into kind, namespace and name. Lifeboat works without it.
 */

export const KUBERNETES_EXTENSION_ID = 'ms-kubernetes-tools.vscode-kubernetes-tools';

/** The part of ClusterExplorerV1_1 Lifeboat uses. */
interface ClusterExplorerV1_1 {
  resolveCommandTarget(target?: unknown): { nodeType: string; namespace?: string | null; name?: string; resourceKind?: { manifestKind: string } } | undefined;
}

/** The Kubernetes extension's API broker: `get` in current releases, `api` in early ones. */
interface ApiBroker {
  get?(component: string, version: string): { available: boolean; api?: unknown };
  api?(request: { component: string; version: string }): { succeeded: boolean; api?: unknown };
}

export interface ExplorerResource {
  kind: string;
  namespace?: string;
  name: string;
}

async function clusterExplorer(): Promise<ClusterExplorerV1_1 | undefined> {
  const ext = vscode.extensions.getExtension<ApiBroker>(KUBERNETES_EXTENSION_ID);
  if (!ext) return undefined;
  const broker = ext.isActive ? ext.exports : await ext.activate();
  const got = broker?.get?.('clusterexplorer', 'v1_1');
  if (got?.available) return got.api as ClusterExplorerV1_1;
  const old = broker?.api?.({ component: 'clusterexplorer', version: 'v1_1' });
  return old?.succeeded ? (old.api as ClusterExplorerV1_1) : undefined;
}

/** The resource a Cluster Explorer node shows, or undefined when `target` is not one of its resource nodes. */
export async function resolveExplorerResource(target: unknown): Promise<ExplorerResource | undefined> {
  if (!target || typeof target !== 'object') return undefined;
  const explorer = await clusterExplorer();
  const node = explorer?.resolveCommandTarget(target);
  if (!node || node.nodeType !== 'resource' || !node.resourceKind || !node.name) return undefined;
  return { kind: node.resourceKind.manifestKind, name: node.name, ...(node.namespace ? { namespace: node.namespace } : {}) };
}
