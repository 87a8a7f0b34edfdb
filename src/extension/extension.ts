import * as vscode from 'vscode';

/**
 * Entry point of the extension host side. The extension stays thin: views
 * and commands turn gestures into jobs for the worker process, which does
 * all cluster, repository and etcd work.
 */
export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Lifeboat', { log: true });
  context.subscriptions.push(output);
  output.info(`Lifeboat ${context.extension.packageJSON.version} activated`);
}

export function deactivate(): void {
  // Nothing to release beyond context.subscriptions.
}
