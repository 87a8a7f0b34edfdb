import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

/** Lifeboat's settings (package.json contributes.configuration), read fresh on each use so changes apply at once. */

export interface RepositorySetting {
  name: string;
  /** A directory path, file:///path or s3://BUCKET/PREFIX. */
  location: string;
  /** An S3 repository's endpoint, region and access key id; its secret key is in SecretStorage, never here. */
  s3?: { endpoint?: string; region?: string; accessKeyId?: string };
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
      const { name, location, s3 } = r as RepositorySetting;
      return [{ name: name || location, location, ...(s3 && typeof s3 === 'object' ? { s3: s3ofSetting(s3) } : {}) }];
    }
    return [];
  });
  return given.length > 0 ? given : [{ name: 'Local (default)', location: defaultRepositoryLocation(globalStorage) }];
}

/** The string fields of a setting's `s3` object, nothing else. */
function s3ofSetting(s3: Record<string, unknown>): NonNullable<RepositorySetting['s3']> {
  const out: NonNullable<RepositorySetting['s3']> = {};
  for (const key of ['endpoint', 'region', 'accessKeyId'] as const) {
    const v = s3[key];
    if (typeof v === 'string' && v.trim()) out[key] = v.trim();
  }
  return out;
}

/** The repositories as the user configured them (an empty list when the default one is in use). */
export function configuredRepositories(): unknown[] {
  return config().get<unknown[]>('repositories') ?? [];
}

/** Adds a repository to the user's setting; the default one is kept in the list when it was the one in use. */
export async function addRepositorySetting(globalStorage: vscode.Uri, repository: RepositorySetting): Promise<void> {
  const current = configuredRepositories();
  const list = current.length ? [...current] : repositoriesSetting(globalStorage).map((r) => ({ name: r.name, location: r.location }));
  list.push(repository);
  await config().update('repositories', list, vscode.ConfigurationTarget.Global);
}

/**
 * The folder of named restore profiles: the `lifeboat.profilesFolder`
 * setting, a relative path resolved against the first workspace folder;
 * undefined without a workspace and an absolute setting.
 */
export function profilesFolderSetting(): string | undefined {
  const value = config().get<string>('profilesFolder')?.trim() || '.lifeboat/profiles';
  const expanded = value.startsWith('~') ? path.join(os.homedir(), value.slice(1)) : value;
  if (path.isAbsolute(expanded)) return expanded;
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, expanded) : undefined;
}

/** The production context pattern as the user wrote it (a regular expression), or undefined. */
export function productionPatternSetting(): string | undefined {
  return config().get<string>('productionContextPattern')?.trim() || undefined;
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
