import * as vscode from 'vscode';
import { ResponseError } from 'vscode-jsonrpc';
import {
  ClusterContextsRequest,
  ClusterErrorCodes,
  ClusterNamespacesRequest,
  ClusterObjectsRequest,
  ClusterWatchRequest,
  type ClusterChangedParams,
  type ClusterContext,
  type ClusterObject,
  type ClusterObjectGroup,
  type TagValue,
} from '../../protocol/worker';
import { isProductionContext, kubeconfigSetting } from '../settings';
import { isCancelled, type WorkerClient } from '../workerClient';

/**
 * The Clusters view: kubeconfig contexts (current first) → namespaces →
 * Workloads / Pods / PVCs → objects, each with its tag state. Everything it
 * shows comes from the worker; a context it has listed is watched, and the
 * worker's `cluster/changed` refreshes the part of the tree that changed.
 */

export interface ContextNode {
  type: 'context';
  context: ClusterContext;
}
export interface NamespaceNode {
  type: 'namespace';
  context: string;
  name: string;
  tag?: TagValue;
}
export interface GroupNode {
  type: 'group';
  context: string;
  namespace: string;
  what: ClusterObjectGroup;
}
export interface ObjectNode {
  type: 'object';
  context: string;
  item: ClusterObject;
}
export interface MessageNode {
  type: 'message';
  /** Where it hangs, so it gets a stable id. */
  parent: string;
  message: string;
  error: boolean;
}
export type ClusterNode = ContextNode | NamespaceNode | GroupNode | ObjectNode | MessageNode;

/** A node that can be tagged: what `lifeboat.tag` acts on. */
export type TaggableNode = NamespaceNode | ObjectNode;

const GROUP_LABELS: Record<ClusterObjectGroup, string> = { workloads: 'Workloads', pods: 'Pods', pvcs: 'PVCs' };
const KIND_WORDS: Record<string, string> = { Pod: 'pod', PersistentVolumeClaim: 'pvc', Namespace: 'namespace' };
const KIND_ICONS: Record<string, string> = {
  Pod: 'symbol-method',
  PersistentVolumeClaim: 'database',
  Deployment: 'layers',
  StatefulSet: 'layers',
  DaemonSet: 'layers',
  CronJob: 'clock',
};
/** After a watch fails (the cluster went away, the worker restarted), try again this much later. */
const REWATCH_MS = 30_000;

function tagState(tag: TagValue | undefined): 'tagged' | 'excluded' | 'untagged' {
  return tag === 'true' ? 'tagged' : tag === 'false' ? 'excluded' : 'untagged';
}

/** `lifeboat.pod.tagged`, `lifeboat.workload.untagged`, `lifeboat.namespace.excluded`: matched by menus in package.json. */
export function contextValueOf(kind: string, tag: TagValue | undefined): string {
  return `lifeboat.${KIND_WORDS[kind] ?? 'workload'}.${tagState(tag)}`;
}

function idOf(node: ClusterNode): string {
  switch (node.type) {
    case 'context':
      return `ctx:${node.context.name}`;
    case 'namespace':
      return `ns:${node.context}/${node.name}`;
    case 'group':
      return `grp:${node.context}/${node.namespace}/${node.what}`;
    case 'object':
      return `obj:${node.context}/${node.item.namespace}/${node.item.kind}/${node.item.name}`;
    case 'message':
      return `msg:${node.parent}`;
  }
}

function tagIcon(base: string, tag: TagValue | undefined): vscode.ThemeIcon {
  if (tag === 'true') return new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed'));
  if (tag === 'false') return new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
  return new vscode.ThemeIcon(base);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ClustersProvider implements vscode.TreeDataProvider<ClusterNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ClusterNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  /** Nodes by id, so a refresh of one part fires for the very object the tree holds. */
  private readonly nodes = new Map<string, ClusterNode>();
  private readonly watches = new Map<string, vscode.CancellationTokenSource>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly worker: WorkerClient) {
    this.subscriptions.push(
      worker.onClusterChanged((p) => this.changed(p)),
      // The watches died with the old worker: list and watch again through the new one.
      worker.onRestarted(() => this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('lifeboat.kubeconfig') || e.affectsConfiguration('lifeboat.productionContextPattern')) this.refresh();
      }),
    );
  }

  /** Reloads the whole tree and watches again what gets listed. */
  refresh(): void {
    this.stopWatches();
    this.nodes.clear();
    this.emitter.fire(undefined);
  }

  /** Reloads the part of the tree that shows `node` (its parent's children for an object). */
  refreshNode(node: ClusterNode | undefined): void {
    if (!node) return this.refresh();
    this.emitter.fire(this.nodes.get(idOf(node)) ?? undefined);
  }

  private keep<T extends ClusterNode>(node: T): T {
    const id = idOf(node);
    const known = this.nodes.get(id);
    if (known && known.type === node.type) {
      Object.assign(known, node);
      return known as T;
    }
    this.nodes.set(id, node);
    return node;
  }

  private changed(p: ClusterChangedParams): void {
    const target = p.what === 'namespaces' ? this.nodes.get(`ctx:${p.context}`) : this.nodes.get(`grp:${p.context}/${p.namespace}/${p.what}`);
    if (target) this.emitter.fire(target);
  }

  getTreeItem(node: ClusterNode): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    let item: vscode.TreeItem;
    switch (node.type) {
      case 'context': {
        const c = node.context;
        item = new vscode.TreeItem(c.name, c.current ? C.Expanded : C.Collapsed);
        const marks = [c.current ? 'current' : undefined, isProductionContext(c.name) ? 'production' : undefined].filter(Boolean);
        item.description = marks.join(', ');
        item.tooltip = new vscode.MarkdownString(`**${c.name}**\n\ncluster \`${c.cluster}\` at \`${c.server || 'no server'}\`${c.namespace ? `\n\ndefault namespace \`${c.namespace}\`` : ''}`);
        item.iconPath = new vscode.ThemeIcon(isProductionContext(c.name) ? 'server-environment' : 'server');
        item.contextValue = 'lifeboat.context';
        break;
      }
      case 'namespace':
        item = new vscode.TreeItem(node.name, C.Collapsed);
        item.description = node.tag ? tagState(node.tag) : undefined;
        item.iconPath = tagIcon('symbol-namespace', node.tag);
        item.contextValue = contextValueOf('Namespace', node.tag);
        break;
      case 'group':
        item = new vscode.TreeItem(GROUP_LABELS[node.what], C.Collapsed);
        item.iconPath = new vscode.ThemeIcon('folder');
        item.contextValue = `lifeboat.group.${node.what}`;
        break;
      case 'object': {
        const o = node.item;
        item = new vscode.TreeItem(o.name, C.None);
        item.description = [o.tag ? tagState(o.tag) : undefined, o.kind === 'Pod' || o.kind === 'PersistentVolumeClaim' ? undefined : o.kind, o.status]
          .filter(Boolean)
          .join(' · ');
        item.tooltip = `${o.kind} ${o.namespace}/${o.name}\n${o.status}\nlifeboat.dev/backup: ${o.tag ?? '(not set)'}`;
        item.iconPath = tagIcon(KIND_ICONS[o.kind] ?? 'symbol-object', o.tag);
        item.contextValue = contextValueOf(o.kind, o.tag);
        break;
      }
      case 'message':
        item = new vscode.TreeItem(node.message, C.None);
        item.iconPath = new vscode.ThemeIcon(node.error ? 'error' : 'info', node.error ? new vscode.ThemeColor('errorForeground') : undefined);
        item.tooltip = node.message;
        item.contextValue = node.error ? 'lifeboat.error' : 'lifeboat.message';
        break;
    }
    item.id = idOf(node);
    return item;
  }

  async getChildren(node?: ClusterNode): Promise<ClusterNode[]> {
    const kubeconfig = kubeconfigSetting();
    if (!node) {
      try {
        const { contexts } = await this.worker.request(ClusterContextsRequest, kubeconfig ? { kubeconfig } : {});
        await vscode.commands.executeCommand('setContext', 'lifeboat.noKubeconfig', false);
        return contexts.map((context) => this.keep<ContextNode>({ type: 'context', context }));
      } catch (err) {
        if (err instanceof ResponseError && err.code === ClusterErrorCodes.noKubeconfig) {
          // The welcome content (viewsWelcome) explains what to do.
          await vscode.commands.executeCommand('setContext', 'lifeboat.noKubeconfig', true);
          return [];
        }
        return [this.keep<MessageNode>({ type: 'message', parent: 'root', message: messageOf(err), error: true })];
      }
    }
    const base = { ...(kubeconfig ? { kubeconfig } : {}) };
    switch (node.type) {
      case 'context':
        return this.listed(`ctx:${node.context.name}`, async () => {
          const { namespaces } = await this.worker.request(ClusterNamespacesRequest, { ...base, context: node.context.name });
          this.watch(node.context.name);
          return namespaces.map((ns) => this.keep<NamespaceNode>({ type: 'namespace', context: node.context.name, name: ns.name, tag: ns.tag }));
        });
      case 'namespace':
        return (['workloads', 'pods', 'pvcs'] as const).map((what) => this.keep<GroupNode>({ type: 'group', context: node.context, namespace: node.name, what }));
      case 'group':
        return this.listed(idOf(node), async () => {
          const { items } = await this.worker.request(ClusterObjectsRequest, { ...base, context: node.context, namespace: node.namespace, what: node.what });
          if (items.length === 0) return [this.keep<MessageNode>({ type: 'message', parent: idOf(node), message: `No ${GROUP_LABELS[node.what].toLowerCase()}`, error: false })];
          return items.map((item) => this.keep<ObjectNode>({ type: 'object', context: node.context, item }));
        });
      default:
        return [];
    }
  }

  /** Children from the worker, or one error node saying why there are none (an unreachable cluster, say). */
  private async listed(parent: string, list: () => Promise<ClusterNode[]>): Promise<ClusterNode[]> {
    try {
      return await list();
    } catch (err) {
      return [this.keep<MessageNode>({ type: 'message', parent, message: messageOf(err), error: true })];
    }
  }

  getParent(node: ClusterNode): ClusterNode | undefined {
    switch (node.type) {
      case 'namespace':
        return this.nodes.get(`ctx:${node.context}`);
      case 'group':
        return this.nodes.get(`ns:${node.context}/${node.namespace}`);
      case 'object': {
        const what = node.item.kind === 'Pod' ? 'pods' : node.item.kind === 'PersistentVolumeClaim' ? 'pvcs' : 'workloads';
        return this.nodes.get(`grp:${node.context}/${node.item.namespace}/${what}`);
      }
      default:
        return undefined;
    }
  }

  /** Keeps a watch on a listed context, subscribing again a while after it fails. */
  private watch(context: string): void {
    if (this.watches.has(context)) return;
    const cts = new vscode.CancellationTokenSource();
    this.watches.set(context, cts);
    const kubeconfig = kubeconfigSetting();
    this.worker.request(ClusterWatchRequest, { ...(kubeconfig ? { kubeconfig } : {}), context }, cts.token).then(
      () => undefined,
      (err: unknown) => {
        if (this.watches.get(context) !== cts) return;
        this.watches.delete(context);
        cts.dispose();
        if (isCancelled(err)) return;
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (this.nodes.has(`ctx:${context}`)) this.watch(context);
        }, REWATCH_MS);
        this.timers.add(timer);
      },
    );
  }

  private stopWatches(): void {
    for (const cts of this.watches.values()) {
      cts.cancel();
      cts.dispose();
    }
    this.watches.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  dispose(): void {
    this.stopWatches();
    this.emitter.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
