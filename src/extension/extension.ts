import * as vscode from 'vscode';
import { captureCommand } from './commands/capture';
import { tagCommand } from './commands/tag';
import { editorHost } from './host';
import { Repositories } from './repositories';
import { ClustersProvider, type ClusterNode } from './views/clusters';
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
}

export function activate(context: vscode.ExtensionContext): LifeboatExtension {
  const output = vscode.window.createOutputChannel('Lifeboat', { log: true });
  context.subscriptions.push(output);
  output.info(`Lifeboat ${context.extension.packageJSON.version} activated`);

  const worker = new WorkerClient(vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath, editorHost, output);
  const clusters = new ClustersProvider(worker);
  const tree = vscode.window.createTreeView('lifeboat.clusters', { treeDataProvider: clusters, canSelectMany: true, showCollapseAll: true });
  const repositories = new Repositories(context.secrets, context.globalStorageUri, editorHost, worker);
  context.subscriptions.push(worker, clusters, tree);

  const register = (id: string, run: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  };
  // Menus call (item, selectedItems); the Kubernetes extension's explorer calls (node).
  register('lifeboat.tag', (item, selected) => tagCommand(worker, editorHost, clusters, 'true', item, selected));
  register('lifeboat.exclude', (item, selected) => tagCommand(worker, editorHost, clusters, 'false', item, selected));
  register('lifeboat.untag', (item, selected) => tagCommand(worker, editorHost, clusters, null, item, selected));
  register('lifeboat.refresh', (item) => (item ? clusters.refreshNode(item as ClusterNode) : clusters.refresh()));
  register('lifeboat.capture', (item) =>
    captureCommand(worker, editorHost, repositories, item as ClusterNode | undefined, { line: (text) => output.warn(text), show: () => output.show(true) }),
  );
  return { worker, clusters };
}

export function deactivate(): void {
  // The worker and views are released through context.subscriptions.
}
