import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

/** Lifeboat's settings (package.json contributes.configuration), read fresh on each use so changes apply at once. */

export interface RepositorySetting {
  name: string;
  /** A directory path, file:///path or s3://BUCKET/PREFIX. */
  location: string;
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('lifeboat');
}

/** The kubeconfig file to use; undefined means $KUBECONFIG or ~/.kube/config, as kubectl. */
export function kubeconfigSetting(): string | undefined {
  const value = config().get<string>('kubeconfig')?.trim();
  if (!value) return undefined;
  return value.startsWith('~') ? path.join(os.homedir(), value.slice(1)) : value;
}

/** The configured repositories; the default one under the extension's storage when none is. */
export function repositoriesSetting(globalStorage: vscode.Uri): RepositorySetting[] {
  const given = (config().get<unknown[]>('repositories') ?? []).flatMap((r): RepositorySetting[] => {
    if (typeof r === 'string' && r.trim()) return [{ name: r, location: r }];
    if (r && typeof r === 'object' && typeof (r as RepositorySetting).location === 'string') {
      const { name, location } = r as RepositorySetting;
      return [{ name: name || location, location }];
    }
    return [];
  });
  return given.length > 0 ? given : [{ name: 'Local (default)', location: defaultRepositoryLocation(globalStorage) }];
}

export function defaultRepositoryLocation(globalStorage: vscode.Uri): string {
  return path.join(globalStorage.fsPath, 'repository');
}

export function moverImageSetting(): string | undefined {
  return config().get<string>('moverImage')?.trim() || undefined;
}

export function parallelismSetting(): number | undefined {
  const n = config().get<number>('parallelism');
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

/** Contexts whose name matches are production: the view marks them. */
export function isProductionContext(context: string): boolean {
  const pattern = config().get<string>('productionContextPattern')?.trim();
  if (!pattern) return false;
  try {
    return new RegExp(pattern).test(context);
  } catch {
    return false;
  }
}
