import * as vscode from 'vscode';

/**
 * The parts of `vscode.window` the commands use, behind an interface so
 * their logic can run in a test with scripted answers instead of an editor.
 */
export interface Host {
  showInformationMessage(message: string, ...actions: string[]): Thenable<string | undefined>;
  showWarningMessage(message: string, ...actions: string[]): Thenable<string | undefined>;
  showErrorMessage(message: string, ...actions: string[]): Thenable<string | undefined>;
  showQuickPick<T extends vscode.QuickPickItem>(items: readonly T[] | Thenable<readonly T[]>, options: vscode.QuickPickOptions): Thenable<T | undefined>;
  showInputBox(options: vscode.InputBoxOptions): Thenable<string | undefined>;
  withProgress<R>(options: vscode.ProgressOptions, task: (progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken) => Thenable<R>): Thenable<R>;
  /** A modal warning with one action besides Cancel: true when the user chose the action. */
  confirm(message: string, detail: string, action: string): Thenable<boolean>;
  showOpenDialog(options: vscode.OpenDialogOptions): Thenable<vscode.Uri[] | undefined>;
}

export const editorHost: Host = {
  showInformationMessage: (m, ...a) => vscode.window.showInformationMessage(m, ...a),
  showWarningMessage: (m, ...a) => vscode.window.showWarningMessage(m, ...a),
  showErrorMessage: (m, ...a) => vscode.window.showErrorMessage(m, ...a),
  showQuickPick: (items, options) => vscode.window.showQuickPick(items, options),
  showInputBox: (options) => vscode.window.showInputBox(options),
  withProgress: (options, task) => vscode.window.withProgress(options, task),
  confirm: async (message, detail, action) => (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action,
  showOpenDialog: (options) => vscode.window.showOpenDialog(options),
};
