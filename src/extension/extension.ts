import * as vscode from 'vscode';
import { captureCommand } from './commands/capture';
import { pruneCommand } from './commands/prune';
import { addRepositoryCommand } from './commands/repository';
import { RestoreFeature } from './commands/restore';
import { restoreFileCommand } from './commands/restoreFile';
import { registerSnapshots, type SnapshotsFeature } from './commands/snapshots';
import { tagCommand } from './commands/tag';
import { editorHost, type Host } from './host';
import { SnapshotOverviewPanel } from './panels/overview';
import { Repositories } from './repositories';
import { ClustersProvider, type ClusterNode } from './views/clusters';
import { registerJobs, type JobsFeature } from './views/jobs';
import type { SnapshotTreeNode } from './views/snapshots';
import { WorkerClient } from './workerClient';

/**
 * Entry point of the extension host side. The extension stays thin: views
 * and commands turn gestures into jobs for the worker process, which does
 * all cluster, repository and etcd work.
 */

/** What activate hands back: for the extension's own tests, not a public API. */
export interface LifeboatExtension {
  worker: WorkerClient;
  clusters: ClustersProvider;
  snapshots: SnapshotsFeature;
  jobs: JobsFeature;
  /** The restore plan panels and commands. */
  restore: RestoreFeature;
  /** Overview panels opened this session (the newest last). */
  overviews: SnapshotOverviewPanel[];
  /** Answers prompts and receives messages instead of the editor's window (undefined: the editor again). */
  useHost(host: Host | undefined): void;
}

export function activate(context: vscode.ExtensionContext): LifeboatExtension {
  const output = vscode.window.createOutputChannel('Lifeboat', { log: true });
  context.subscriptions.push(output);
  output.info(`Lifeboat ${context.extension.packageJSON.version} activated`);

  let current: Host = editorHost;
  // Commands hold this forwarder, so a test can script the answers to their prompts.
  const host: Host = {
    showInformationMessage: (m, ...a) => current.showInformationMessage(m, ...a),
    showWarningMessage: (m, ...a) => current.showWarningMessage(m, ...a),
    showErrorMessage: (m, ...a) => current.showErrorMessage(m, ...a),
    showQuickPick: (items, options) => current.showQuickPick(items, options),
    showInputBox: (options) => current.showInputBox(options),
    withProgress: (options, task) => current.withProgress(options, task),
    confirm: (message, detail, action) => current.confirm(message, detail, action),
    showOpenDialog: (options) => current.showOpenDialog(options),
  };
  const worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath, host, output);
  const clusters = new ClustersProvider(worker);
  const tree = vscode.window.createTreeView('lifeboat.clusters', { treeDataProvider: clusters, canSelectMany: true, showCollapseAll: true });
  const repositories = new Repositories(context.secrets, context.globalStorageUri, host, worker);
  context.subscriptions.push(worker, clusters, tree);

  const register = (id: string, run: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  };
  // Menus call (item, selectedItems); the Kubernetes extension's explorer calls (node).
  register('lifeboat.tag', (item, selected) => tagCommand(worker, host, clusters, 'true', item, selected));
  register('lifeboat.exclude', (item, selected) => tagCommand(worker, host, clusters, 'false', item, selected));
  register('lifeboat.untag', (item, selected) => tagCommand(worker, host, clusters, null, item, selected));
  register('lifeboat.refresh', (item) => (item ? clusters.refreshNode(item as ClusterNode) : clusters.refresh()));
  register('lifeboat.capture', (item) =>
    captureCommand(worker, host, repositories, item as ClusterNode | undefined, { line: (text) => output.warn(text), show: () => output.show(true) }),
  );
  const snapshots = registerSnapshots(context, worker, host, repositories);
  const jobs = registerJobs(context, worker, host);
  const { browser } = snapshots;
  const restore = new RestoreFeature({ extensionUri: context.extensionUri, worker, host, browser, output });
  const overviews: SnapshotOverviewPanel[] = [];
  context.subscriptions.push(restore);
  const node = (item: unknown): SnapshotTreeNode | undefined => item as SnapshotTreeNode | undefined;
  register('lifeboat.showRestorePlan', (item) => restore.showPlan(node(item)));
  register('lifeboat.restore', (item) => restore.restore(node(item)));
  register('lifeboat.restoreFile', (item) => restoreFileCommand(worker, host, browser, node(item)));
  register('lifeboat.prune', (item) => pruneCommand(worker, host, browser, node(item)));
  register('lifeboat.addRepository', () => addRepositoryCommand(worker, host, repositories, context.globalStorageUri));
  register('lifeboat.showSnapshotOverview', async (item) => {
    const n = node(item);
    if (n?.type !== 'snapshot') {
      void host.showInformationMessage('Show Snapshot Overview works on a snapshot in the Snapshots view.');
      return undefined;
    }
    const panel = SnapshotOverviewPanel.open(context.extensionUri, browser, output, n.key, n.snapshot.id);
    overviews.push(panel);
    context.subscriptions.push(panel);
    return panel;
  });
  return {
    worker,
    clusters,
    snapshots,
    jobs,
    restore,
    overviews,
    useHost: (h) => {
      current = h ?? editorHost;
    },
  };
}

export function deactivate(): void {
  // The worker and views are released through context.subscriptions.
}
