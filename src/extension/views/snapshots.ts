import * as vscode from 'vscode';
import type { SnapshotSummary } from '../../engine/repo/snapshot';
import type { SnapshotFileEntry, SnapshotVolumeRef } from '../../protocol/worker';
import type { SnapshotBrowser } from '../snapshotBrowser';
import { onSnapshotsChanged } from '../snapshotEvents';
import { objectUri, volumeUri } from '../snapshotFs';
import { formatBytes } from '../jobs';

/**
 * The Snapshots view: configured repositories → clusters → days →
 * snapshots (newest first) → namespaces → kinds → objects, Volumes →
 * directories → files, and Data (etcd). Objects and files open as
 * read-only `lifeboat-snap:` documents.
 */

export interface RepositoryNode {
  type: 'repository';
  key: string;
  name: string;
  location: string;
}
export interface ClusterGroupNode {
  type: 'cluster';
  key: string;
  cluster: string;
  snapshots: SnapshotSummary[];
}
export interface DayNode {
  type: 'day';
  key: string;
  cluster: string;
  day: string;
  snapshots: SnapshotSummary[];
}
export interface SnapshotNode {
  type: 'snapshot';
  key: string;
  snapshot: SnapshotSummary;
}
export interface NamespaceNode {
  type: 'namespace';
  key: string;
  snapshot: string;
  /** "" for cluster-scoped objects. */
  namespace: string;
}
export interface KindNode {
  type: 'kind';
  key: string;
  snapshot: string;
  namespace: string;
  group: string;
  kind: string;
  names: string[];
}
export interface SnapshotObjectNode {
  type: 'object';
  key: string;
  snapshot: string;
  namespace: string;
  group: string;
  kind: string;
  name: string;
}
export interface VolumesNode {
  type: 'volumes';
  key: string;
  snapshot: string;
}
export interface VolumeNode {
  type: 'volume';
  key: string;
  snapshot: string;
  volume: SnapshotVolumeRef;
  files: number;
  bytes: number;
}
export interface FileNode {
  type: 'file';
  key: string;
  snapshot: string;
  volume: SnapshotVolumeRef;
  entry: SnapshotFileEntry;
}
export interface DataGroupNode {
  type: 'data';
  key: string;
  snapshot: string;
}
export interface DataNode {
  type: 'dataStream';
  key: string;
  snapshot: string;
  name: string;
  bytes: number;
}
export interface SnapshotsMessageNode {
  type: 'message';
  parent: string;
  message: string;
  error: boolean;
}
export type SnapshotTreeNode =
  | RepositoryNode
  | ClusterGroupNode
  | DayNode
  | SnapshotNode
  | NamespaceNode
  | KindNode
  | SnapshotObjectNode
  | VolumesNode
  | VolumeNode
  | FileNode
  | DataGroupNode
  | DataNode
  | SnapshotsMessageNode;

/** One phrase for a snapshot's scope: "shop", "tagged", "whole cluster". */
export function describeScope(scope: Record<string, unknown>): string {
  const parts: string[] = [];
  if (Array.isArray(scope.namespaces) && scope.namespaces.length) parts.push(scope.namespaces.join(', '));
  if (scope.tagged) parts.push('tagged');
  if (typeof scope.selector === 'string') parts.push(scope.selector);
  if (parts.length === 0) parts.push('whole cluster');
  if (scope.volumes === false) parts.push('no volumes');
  return parts.join(' · ');
}

function localDay(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

function idOf(n: SnapshotTreeNode): string {
  switch (n.type) {
    case 'repository':
      return `repo:${n.key}`;
    case 'cluster':
      return `cluster:${n.key}/${n.cluster}`;
    case 'day':
      return `day:${n.key}/${n.cluster}/${n.day}`;
    case 'snapshot':
      return `snap:${n.key}/${n.snapshot.id}`;
    case 'namespace':
      return `ns:${n.key}/${n.snapshot}/${n.namespace}`;
    case 'kind':
      return `kind:${n.key}/${n.snapshot}/${n.namespace}/${n.group}/${n.kind}`;
    case 'object':
      return `obj:${n.key}/${n.snapshot}/${n.namespace}/${n.group}/${n.kind}/${n.name}`;
    case 'volumes':
      return `vols:${n.key}/${n.snapshot}`;
    case 'volume':
      return `vol:${n.key}/${n.snapshot}/${n.volume.namespace}/${n.volume.pvc}`;
    case 'file':
      return `file:${n.key}/${n.snapshot}/${n.volume.namespace}/${n.volume.pvc}:${n.entry.path}`;
    case 'data':
      return `data:${n.key}/${n.snapshot}`;
    case 'dataStream':
      return `stream:${n.key}/${n.snapshot}/${n.name}`;
    case 'message':
      return `msg:${n.parent}`;
  }
}

/** The URI a node opens, when it opens one. */
export function uriOf(n: SnapshotTreeNode): vscode.Uri | undefined {
  if (n.type === 'object') {
    return objectUri(n.key, n.snapshot, { group: n.group, kind: n.kind, name: n.name, ...(n.namespace ? { namespace: n.namespace } : {}) });
  }
  if (n.type === 'file') return volumeUri(n.key, n.snapshot, n.volume, n.entry.path);
  return undefined;
}

export class SnapshotsProvider implements vscode.TreeDataProvider<SnapshotTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SnapshotTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];
  private readonly parents = new Map<string, SnapshotTreeNode | undefined>();
  private readonly nodes = new Map<string, SnapshotTreeNode>();

  constructor(private readonly browser: SnapshotBrowser) {
    this.subscriptions = [
      onSnapshotsChanged((e) => this.refreshRepository(e.location)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('lifeboat.repositories')) this.refresh();
      }),
    ];
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  /** Re-reads one repository's snapshots (a capture added one, one was deleted). */
  refreshRepository(location: string): void {
    const node = [...this.nodes.values()].find((n) => n.type === 'repository' && n.location === location);
    this.changed.fire(node);
  }

  getTreeItem(n: SnapshotTreeNode): vscode.TreeItem {
    const C = vscode.TreeItemCollapsibleState;
    const item = new vscode.TreeItem('', C.Collapsed);
    item.id = idOf(n);
    switch (n.type) {
      case 'repository':
        item.label = n.name;
        item.description = n.location;
        item.iconPath = new vscode.ThemeIcon('repo');
        item.contextValue = 'lifeboat.repository';
        item.tooltip = `Lifeboat repository at ${n.location}`;
        break;
      case 'cluster':
        item.label = n.cluster;
        item.description = `${n.snapshots.length} snapshot${n.snapshots.length === 1 ? '' : 's'}`;
        item.iconPath = new vscode.ThemeIcon('server-environment');
        item.collapsibleState = C.Expanded;
        break;
      case 'day':
        item.label = n.day;
        item.description = `${n.snapshots.length}`;
        item.iconPath = new vscode.ThemeIcon('calendar');
        break;
      case 'snapshot': {
        const s = n.snapshot;
        item.label = new Date(s.time).toLocaleTimeString();
        item.description = `${describeScope(s.scope)} · ${formatBytes(s.sizes.bytes)}`;
        item.contextValue = 'lifeboat.snapshot';
        const lines = [
          `Snapshot ${s.id}`,
          `${s.cluster}, ${new Date(s.time).toLocaleString()}`,
          `${s.counts.resources} objects, ${s.counts.volumes} volumes, ${s.counts.files} files, ${formatBytes(s.sizes.bytes)} (${formatBytes(s.sizes.added)} new)`,
        ];
        if (s.tags.length) lines.push(`Tags: ${s.tags.join(', ')}`);
        if (s.warnings.length) {
          item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
          lines.push('', `${s.warnings.length} warning(s):`, ...s.warnings.map((w) => `• ${w}`));
        } else {
          item.iconPath = new vscode.ThemeIcon('archive');
        }
        item.tooltip = lines.join('\n');
        break;
      }
      case 'namespace':
        item.label = n.namespace || 'Cluster-scoped';
        item.iconPath = new vscode.ThemeIcon(n.namespace ? 'symbol-namespace' : 'globe');
        break;
      case 'kind':
        item.label = n.kind;
        item.description = `${n.group ? n.group + ' · ' : ''}${n.names.length}`;
        item.iconPath = new vscode.ThemeIcon('symbol-class');
        break;
      case 'object':
        item.label = n.name;
        item.collapsibleState = C.None;
        item.resourceUri = uriOf(n);
        item.iconPath = new vscode.ThemeIcon(n.kind === 'Secret' ? 'lock' : 'file-code');
        item.contextValue = 'lifeboat.snapshotObject';
        item.command = { command: 'lifeboat.openSnapshotItem', title: 'Open', arguments: [n] };
        break;
      case 'volumes':
        item.label = 'Volumes';
        item.iconPath = new vscode.ThemeIcon('database');
        break;
      case 'volume':
        item.label = `${n.volume.namespace}/${n.volume.pvc}`;
        item.description = `${n.files} files · ${formatBytes(n.bytes)}`;
        item.iconPath = new vscode.ThemeIcon('database');
        item.contextValue = 'lifeboat.snapshotVolume';
        break;
      case 'file': {
        const e = n.entry;
        item.label = e.path.slice(e.path.lastIndexOf('/') + 1);
        item.resourceUri = uriOf(n);
        if (e.type === 'dir') {
          item.iconPath = vscode.ThemeIcon.Folder;
          item.contextValue = 'lifeboat.snapshotDirectory';
        } else {
          item.collapsibleState = C.None;
          item.iconPath = e.type === 'symlink' ? new vscode.ThemeIcon('file-symlink-file') : vscode.ThemeIcon.File;
          item.description = e.type === 'symlink' ? `→ ${e.target ?? ''}` : formatBytes(e.size);
          if (e.type !== 'symlink') {
            item.contextValue = 'lifeboat.snapshotFile';
            item.command = { command: 'lifeboat.openSnapshotItem', title: 'Open', arguments: [n] };
          }
        }
        item.tooltip = `${e.path}\n${e.type}, mode ${(e.mode & 0o7777).toString(8)}, ${formatBytes(e.size)}, modified ${new Date(e.mtime).toLocaleString()}`;
        break;
      }
      case 'data':
        item.label = 'Data';
        item.iconPath = new vscode.ThemeIcon('file-binary');
        break;
      case 'dataStream':
        item.label = n.name;
        item.description = formatBytes(n.bytes);
        item.collapsibleState = C.None;
        item.iconPath = new vscode.ThemeIcon('file-binary');
        item.tooltip = `Write it to a file with: lifeboat repo cat ${n.snapshot.slice(0, 12)} --data ${n.name} --repo …`;
        break;
      case 'message':
        item.label = n.message;
        item.collapsibleState = C.None;
        item.iconPath = new vscode.ThemeIcon(n.error ? 'error' : 'info');
        item.tooltip = n.message;
        break;
    }
    return item;
  }

  async getChildren(parent?: SnapshotTreeNode): Promise<SnapshotTreeNode[]> {
    let children: SnapshotTreeNode[];
    try {
      children = await this.childrenOf(parent);
    } catch (err) {
      children = [{ type: 'message', parent: parent ? idOf(parent) : 'root', message: err instanceof Error ? err.message : String(err), error: true }];
    }
    for (const c of children) {
      this.parents.set(idOf(c), parent);
      this.nodes.set(idOf(c), c);
    }
    return children;
  }

  getParent(n: SnapshotTreeNode): SnapshotTreeNode | undefined {
    return this.parents.get(idOf(n));
  }

  private async childrenOf(n?: SnapshotTreeNode): Promise<SnapshotTreeNode[]> {
    if (!n) return this.browser.list().map((r): RepositoryNode => ({ type: 'repository', key: r.key, name: r.name, location: r.location }));
    const empty = (message: string): SnapshotTreeNode[] => [{ type: 'message', parent: idOf(n), message, error: false }];
    switch (n.type) {
      case 'repository': {
        if (!(await this.browser.ref(n.key))) return empty('Give the passphrase to list the snapshots (refresh to be asked again)');
        const { snapshots, unreadable } = await this.browser.snapshots(n.key);
        const nodes: SnapshotTreeNode[] = [...groupBy(snapshots, (s) => s.cluster).entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([cluster, list]): ClusterGroupNode => ({ type: 'cluster', key: n.key, cluster, snapshots: list }));
        for (const u of unreadable) nodes.push({ type: 'message', parent: `${idOf(n)}/${u.id}`, message: `Snapshot ${u.id.slice(0, 12)} cannot be read: ${u.message}`, error: true });
        return nodes.length ? nodes : empty('No snapshots yet: capture one from the Clusters view');
      }
      case 'cluster':
        return [...groupBy(n.snapshots, (s) => localDay(s.time)).entries()]
          .sort(([a], [b]) => b.localeCompare(a))
          .map(([day, list]): DayNode => ({ type: 'day', key: n.key, cluster: n.cluster, day, snapshots: list }));
      case 'day':
        return [...n.snapshots].reverse().map((snapshot): SnapshotNode => ({ type: 'snapshot', key: n.key, snapshot }));
      case 'snapshot': {
        const c = await this.browser.snapshotContents(n.key, n.snapshot.id);
        const snapshot = n.snapshot.id;
        const nodes: SnapshotTreeNode[] = c.namespaces.map((ns): NamespaceNode => ({ type: 'namespace', key: n.key, snapshot, namespace: ns.namespace }));
        if (c.volumes.length) nodes.push({ type: 'volumes', key: n.key, snapshot });
        if (c.data.length) nodes.push({ type: 'data', key: n.key, snapshot });
        return nodes;
      }
      case 'namespace': {
        const c = await this.browser.snapshotContents(n.key, n.snapshot);
        const ns = c.namespaces.find((x) => x.namespace === n.namespace);
        return (ns?.kinds ?? []).map((k): KindNode => ({ type: 'kind', key: n.key, snapshot: n.snapshot, namespace: n.namespace, ...k }));
      }
      case 'kind':
        return n.names.map((name): SnapshotObjectNode => ({
          type: 'object',
          key: n.key,
          snapshot: n.snapshot,
          namespace: n.namespace,
          group: n.group,
          kind: n.kind,
          name,
        }));
      case 'volumes': {
        const c = await this.browser.snapshotContents(n.key, n.snapshot);
        return c.volumes.map((v): VolumeNode => ({
          type: 'volume',
          key: n.key,
          snapshot: n.snapshot,
          volume: { namespace: v.namespace, pvc: v.pvc },
          files: v.files,
          bytes: v.bytes,
        }));
      }
      case 'volume':
      case 'file': {
        const dir = n.type === 'volume' ? '/' : n.entry.path;
        const entries = await this.browser.files(n.key, n.snapshot, n.volume, dir);
        // Directories first, as a file explorer lists them.
        const sorted = [...entries].sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || a.path.localeCompare(b.path));
        return sorted.map((entry): FileNode => ({ type: 'file', key: n.key, snapshot: n.snapshot, volume: n.volume, entry }));
      }
      case 'data': {
        const c = await this.browser.snapshotContents(n.key, n.snapshot);
        return c.data.map((d): DataNode => ({ type: 'dataStream', key: n.key, snapshot: n.snapshot, name: d.name, bytes: d.bytes }));
      }
      default:
        return [];
    }
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
